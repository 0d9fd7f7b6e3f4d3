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
)
# redis-server and postgresql: the cross-replica lock and index tests start their own instances
# on loopback (never the system services). The direct-fetch e2e tests serve real repositories of
# every VCS the go command supports.
# clang-tidy-14: `make tidy` (part of `make test`); the LLVM 14 of clang-format and of the fuzz
# preset's clang, which parses this C++20 with gcc 12's libstdc++ and Boost 1.81 without errors.
# nginx: the caching reverse proxy the shared-cache e2e test puts in front of stoa; openssh-server:
# the sshd the git-over-ssh e2e test starts on loopback (both started by the tests, never the
# system services).
test_pkgs=( clang-format clang-tidy-14 curl python3 systemd redis-server postgresql mercurial subversion fossil brz nginx openssh-server )
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

# The S3-compatible server the store tests, the e2e tests and the S3 benchmark run on loopback:
# versitygw, built from the Go module proxy into /usr/local/bin. Skipped when that exact version
# is already there (`go version -m` names the module version a binary was built from).
versitygw_version=v1.8.0
goproxy_version=v0.26.1
want_go_tools=false
case "${1:-all}" in test|bench|all) want_go_tools=true ;; esac
if $want_go_tools; then
  go_bin=$(command -v go || echo /usr/local/go/bin/go)
  have=$("$go_bin" version -m /usr/local/bin/versitygw 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/versity/versitygw" { print $3 }' || true)
  if [ "$have" != "$versitygw_version" ]; then
    echo "install-deps: building versitygw $versitygw_version into /usr/local/bin"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    tmp_bin=$(mktemp -d)
    GOTOOLCHAIN=local GOFLAGS=-mod=mod GOBIN="$tmp_bin" \
      "$go_bin" install "github.com/versity/versitygw/cmd/versitygw@$versitygw_version"
    $sudo install -m 0755 "$tmp_bin/versitygw" /usr/local/bin/versitygw
    rm -rf "$tmp_bin"
  fi
fi

# goproxy (cmd/goproxy of github.com/goproxy/goproxy), another Go module proxy: stoa's upstream
# in the resolution differential tests (tests/e2e/resolution_differential_test.go) and a
# reference for the benchmark, built into /usr/local/bin. Not with `go install m@version`: that
# reads the module's version list for its deprecation notice and fails when the registry does
# not serve the list (it serves the version itself); built instead as a dependency of a
# throw-away module at the pinned version (`go version -m` names it on the "mod" line all the
# same: the module of the main package).
if $want_go_tools; then
  have=$("$go_bin" version -m /usr/local/bin/goproxy 2>/dev/null |
    awk '$1 == "mod" && $2 == "github.com/goproxy/goproxy" { print $3 }' || true)
  if [ "$have" != "$goproxy_version" ]; then
    echo "install-deps: building goproxy $goproxy_version into /usr/local/bin"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    tmp_mod=$(mktemp -d)
    (
      cd "$tmp_mod"
      export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
      "$go_bin" mod init stoa-install-goproxy >/dev/null 2>&1
      "$go_bin" get "github.com/goproxy/goproxy@$goproxy_version"
      "$go_bin" build -trimpath -o goproxy github.com/goproxy/goproxy/cmd/goproxy
    )
    $sudo install -m 0755 "$tmp_mod/goproxy" /usr/local/bin/goproxy
    rm -rf "$tmp_mod"
  fi
fi

# govulncheck (cmd/govulncheck of golang.org/x/vuln), the vulnerability scanner the e2e tests run
# against stoa's /vulndb/ mirror (tests/e2e/vulndb_test.go), built into /usr/local/bin the same
# way as goproxy: as a dependency of a throw-away module at the pinned version.
govulncheck_version=v1.9.0
if $want_go_tools; then
  have=$("$go_bin" version -m /usr/local/bin/govulncheck 2>/dev/null |
    awk '$1 == "mod" && $2 == "golang.org/x/vuln" { print $3 }' || true)
  if [ "$have" != "$govulncheck_version" ]; then
    echo "install-deps: building govulncheck $govulncheck_version into /usr/local/bin"
    sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
    tmp_mod=$(mktemp -d)
    (
      cd "$tmp_mod"
      export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOWORK=off
      "$go_bin" mod init stoa-install-govulncheck >/dev/null 2>&1
      "$go_bin" get "golang.org/x/vuln@$govulncheck_version"
      "$go_bin" build -trimpath -o govulncheck golang.org/x/vuln/cmd/govulncheck
    )
    $sudo install -m 0755 "$tmp_mod/govulncheck" /usr/local/bin/govulncheck
    rm -rf "$tmp_mod"
  fi
fi
