#!/usr/bin/env bash
# Installs every Debian package stoa needs to build and test. Idempotent; quiet when all is present.
# Usage: scripts/install-deps.sh [build|test|fuzz|bench|all]   (default: all)
set -euo pipefail

build_pkgs=(
  cmake ninja-build g++ pkg-config git ca-certificates
  libboost1.81-dev libboost-url1.81-dev libboost-json1.81-dev
  libcurl4-openssl-dev libssl-dev libzip-dev zlib1g-dev libpugixml-dev libcrypt-dev
  libtomlplusplus-dev libcli11-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev
  libhiredis-dev libpq-dev libsqlite3-dev
  libmongoc-dev
)
# redis-server and postgresql: the cross-replica lock and index tests start their own instances
# on loopback (never the system services). The direct-fetch e2e tests serve real repositories of
# every VCS the go command supports.
# clang-tidy-14: `make tidy` (part of `make test`); the LLVM 14 of clang-format and of the fuzz
# preset's clang, which parses this C++20 with gcc 12's libstdc++ and Boost 1.81 without errors.
# nginx: the caching reverse proxy the shared-cache e2e test puts in front of stoa; openssh-server:
# the sshd the git-over-ssh e2e test starts on loopback (both started by the tests, never the
# system services).
# chromium: the headless browser the web pages' e2e test (tests/e2e/ui_browser_test.go) drives
# through chromedp.
test_pkgs=( clang-format clang-tidy-14 curl python3 systemd redis-server postgresql mercurial subversion fossil brz nginx openssh-server chromium )
# The fuzz preset: Debian's clang, its libFuzzer/sanitizer runtimes, llvm-symbolizer for readable
# stacks (llvm-14 ships /usr/lib/llvm-14/bin/llvm-symbolizer), python3 for fuzz/make_corpus.py.
fuzz_pkgs=( clang-14 libclang-rt-14-dev llvm-14 python3 )
# bench/run: load generators, nginx as the reference server, profilers, the chart (bench/chart.py).
# python3-munkres first: matplotlib's python3-fonttools depends on "python3-scipy | python3-munkres",
# and apt's first choice, scipy, pulls libboost-dev (1.74) through pythran, which conflicts with
# libboost1.81-dev: with munkres installed the alternative is already satisfied.
bench_pkgs=( wrk nginx hyperfine linux-perf strace util-linux python3 python3-munkres python3-matplotlib redis-server )

want=("${build_pkgs[@]}")
case "${1:-all}" in
  build) ;;
  test) want+=("${test_pkgs[@]}") ;;
  fuzz) want+=("${fuzz_pkgs[@]}") ;;
  bench) want+=("${bench_pkgs[@]}") ;;
  all) want+=("${test_pkgs[@]}" "${fuzz_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|fuzz|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v go >/dev/null 2>&1 && [ ! -x /usr/local/go/bin/go ]; then
  echo "install-deps: the go command is required (Go 1.21 or newer) and was not found" >&2
  exit 1
fi

# Go programs the tests and the benchmark run, built from the Go module proxy into
# /usr/local/bin at pinned versions:
#   - versitygw, the S3-compatible server of the store tests, the e2e tests and the S3 benchmark;
#   - goproxy (cmd/goproxy of github.com/goproxy/goproxy), another Go module proxy: stoa's
#     upstream in the resolution differential tests and a reference for the benchmark;
#   - govulncheck (cmd/govulncheck of golang.org/x/vuln), run against stoa's /vulndb/ mirror;
#   - fake-gcs-server (its main package is the module root), the Google Cloud Storage emulator of
#     the GCS store tests (src/stoa/store/testing/gcs_server.cpp) and of the gcs e2e tests.
#   - ferretdb (cmd/ferretdb of github.com/FerretDB/FerretDB, v1: its SQLite backend needs no other
#     server), the MongoDB-wire-compatible server of the MongoDB store tests and e2e tests.
# Each is skipped when that exact version is already there (`go version -m` names the module a
# binary was built from on its "mod" line). Not with `go install m@version`: that reads the
# module's version list for its deprecation notice and fails when the registry does not serve the
# list (it serves the version itself); built instead as a dependency of a throw-away module.
versitygw_version=v1.8.0
goproxy_version=v0.26.1
govulncheck_version=v1.9.0
fake_gcs_server_version=v1.56.1
ferretdb_version=v1.24.0
# The real vulnerability database's OSV files (data/osv of this module), which the e2e tests
# build a database from: downloaded into the module cache, where the tests read it offline.
vulndb_data_version=v0.0.0-20261105234957-e22db6528018
want_go_tools=false
case "${1:-all}" in test|bench|all) want_go_tools=true ;; esac

# build_go_tool NAME MODULE VERSION PACKAGE: builds PACKAGE of MODULE@VERSION into
# /usr/local/bin/NAME unless that version is there already.
build_go_tool() {
  local name=$1 module=$2 version=$3 package=$4 have sudo="" tmp_mod
  have=$("$go_bin" version -m "/usr/local/bin/$name" 2>/dev/null |
    awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }' || true)
  [ "$have" != "$version" ] || return 0
  echo "install-deps: building $name $version into /usr/local/bin"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  tmp_mod=$(mktemp -d)
  (
    cd "$tmp_mod"
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
    "$go_bin" mod init "stoa-install-$name" >/dev/null 2>&1
    "$go_bin" get "$module@$version"
    "$go_bin" build -trimpath -o "$name" "$package"
  )
  $sudo install -m 0755 "$tmp_mod/$name" "/usr/local/bin/$name"
  rm -rf "$tmp_mod"
}

# build_ferretdb VERSION: build_go_tool for FerretDB 1.x, which reads its own version from
# build/version/version.txt, a file its release process generates and its module zip lacks (the
# binary panics at start without it): built from a copy of the module with that file written, put
# in place by a replace directive, so that `go version -m` still names the module at VERSION.
build_ferretdb() {
  local version=$1 module=github.com/FerretDB/FerretDB have sudo="" tmp_mod
  have=$("$go_bin" version -m /usr/local/bin/ferretdb 2>/dev/null |
    awk -v m="$module" '$1 == "mod" && $2 == m { print $3 }' || true)
  # A binary of that version built without the file does not run: rebuilt.
  [ "$have" != "$version" ] || ! /usr/local/bin/ferretdb --version >/dev/null 2>&1 || return 0
  echo "install-deps: building ferretdb $version into /usr/local/bin"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  tmp_mod=$(mktemp -d)
  (
    cd "$tmp_mod"
    export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
    src=$("$go_bin" mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
    cp -r "$src" src && chmod -R u+w src
    echo "$version" >src/build/version/version.txt
    "$go_bin" mod init stoa-install-ferretdb >/dev/null 2>&1
    "$go_bin" mod edit -require="$module@$version" -replace="$module@$version=./src"
    "$go_bin" build -trimpath -o ferretdb "$module/cmd/ferretdb"
  )
  $sudo install -m 0755 "$tmp_mod/ferretdb" /usr/local/bin/ferretdb
  rm -rf "$tmp_mod"
}

if $want_go_tools; then
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  build_go_tool versitygw github.com/versity/versitygw "$versitygw_version" \
    github.com/versity/versitygw/cmd/versitygw
  build_go_tool goproxy github.com/goproxy/goproxy "$goproxy_version" \
    github.com/goproxy/goproxy/cmd/goproxy
  build_go_tool govulncheck golang.org/x/vuln "$govulncheck_version" \
    golang.org/x/vuln/cmd/govulncheck
  build_go_tool fake-gcs-server github.com/fsouza/fake-gcs-server "$fake_gcs_server_version" \
    github.com/fsouza/fake-gcs-server
  build_ferretdb "$ferretdb_version"
  GOTOOLCHAIN=local GOFLAGS=-mod=mod "$go_bin" mod download \
    "golang.org/x/vulndb@$vulndb_data_version" >/dev/null
fi

# Azurite (the npm package azurite): the Azure Blob Storage emulator that the Azure store tests
# (src/stoa/store/testing/azurite.cpp), the Azure e2e test and the S9 benchmark start on
# loopback. Installed with the machine's npm (Node.js comes with this kind of machine) under
# /usr/local/lib/azurite at a pinned version, azurite-blob linked into /usr/local/bin; skipped
# when that version is there already.
azurite_version=3.37.0
install_azurite() {
  local dir=/usr/local/lib/azurite have sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  have=$(node -p "require('$dir/node_modules/azurite/package.json').version" 2>/dev/null || true)
  if [ "$have" != "$azurite_version" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "install-deps: npm (Node.js 18 or newer) is required to install azurite" >&2
      exit 1
    fi
    echo "install-deps: installing azurite $azurite_version into $dir"
    $sudo mkdir -p "$dir"
    $sudo npm install --prefix "$dir" --no-audit --no-fund --omit=dev --loglevel=error \
      "azurite@$azurite_version" >/dev/null
  fi
  if [ "$(readlink /usr/local/bin/azurite-blob || true)" != "$dir/node_modules/.bin/azurite-blob" ]; then
    $sudo ln -sfn "$dir/node_modules/.bin/azurite-blob" /usr/local/bin/azurite-blob
  fi
}
case "${1:-all}" in test|bench|all) install_azurite ;; esac
