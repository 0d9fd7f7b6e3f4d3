# stoa: `make run` starts a proxy on the embedded defaults; `make test` runs every test.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
export GOTOOLCHAIN := local
export GOFLAGS := -mod=mod

STOA_ADDR ?= 127.0.0.1:8080
STOA_DATA ?= $(CURDIR)/data

# make install: where things go (DESTDIR is prepended to every path, for packaging).
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
SYSCONFDIR ?= /etc
# Separate debug info, where gdb finds it by the binary's .gnu_debuglink: <DEBUGDIR><BINDIR>/stoa.debug
DEBUGDIR ?= /usr/lib/debug
# The binary to ship (the release build unless told otherwise) and where `make dist` puts its
# stripped copy and its debug info.
STOA_INSTALL_BIN ?= build/release/stoa
DIST_DIR ?= build/dist

.PHONY: all deps deps-test deps-fuzz build build-asan build-fuzz run test unit tidy e2e fuzz fuzz-smoke fuzz-ci deps-bench bench bench-smoke bench-ci format clean dist install uninstall

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

deps-fuzz:
	@scripts/install-deps.sh fuzz

deps-bench:
	@scripts/install-deps.sh bench

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

build-asan: deps-test
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan

build-fuzz: deps-fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz

## run: install, build and start stoa on 127.0.0.1:8080 with its data under ./data
run: build
	env -u STOA_ADDR -u STOA_DATA ./build/release/stoa serve --listen $(STOA_ADDR) --data-dir $(STOA_DATA)

## dist: the release binary stripped (build/dist/stoa) and its debug info split off (build/dist/stoa.debug, named by the binary's .gnu_debuglink)
dist:
ifeq ($(STOA_INSTALL_BIN),build/release/stoa)
	@$(MAKE) --no-print-directory build
endif
	@mkdir -p $(DIST_DIR)
	objcopy --only-keep-debug $(STOA_INSTALL_BIN) $(DIST_DIR)/stoa.debug
	chmod 0644 $(DIST_DIR)/stoa.debug
	objcopy --strip-debug --strip-unneeded --add-gnu-debuglink=$(DIST_DIR)/stoa.debug $(STOA_INSTALL_BIN) $(DIST_DIR)/stoa
	sed -e 's|/usr/local/bin/stoa|$(BINDIR)/stoa|g' -e 's|/etc/stoa/|$(SYSCONFDIR)/stoa/|g' packaging/stoa.service > $(DIST_DIR)/stoa.service
	@ls -l $(STOA_INSTALL_BIN) $(DIST_DIR)/stoa $(DIST_DIR)/stoa.debug

## install: the stripped binary, its debug info, the systemd unit and the reference configuration (an existing stoa.toml is kept); DESTDIR and PREFIX are honoured
install: dist
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DEBUGDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/stoa
	install -m 0755 $(DIST_DIR)/stoa $(DESTDIR)$(BINDIR)/stoa
	install -m 0644 $(DIST_DIR)/stoa.debug $(DESTDIR)$(DEBUGDIR)$(BINDIR)/stoa.debug
	install -m 0644 $(DIST_DIR)/stoa.service $(DESTDIR)$(UNITDIR)/stoa.service
	install -m 0644 packaging/stoa.toml $(DESTDIR)$(SYSCONFDIR)/stoa/stoa.toml.reference
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/stoa/stoa.toml ]; then \
	  echo "install: keeping $(DESTDIR)$(SYSCONFDIR)/stoa/stoa.toml (the reference is stoa.toml.reference)"; \
	else \
	  install -m 0644 packaging/stoa.toml $(DESTDIR)$(SYSCONFDIR)/stoa/stoa.toml; \
	fi

## uninstall: removes what install put there, except the configuration
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/stoa $(DESTDIR)$(DEBUGDIR)$(BINDIR)/stoa.debug $(DESTDIR)$(UNITDIR)/stoa.service $(DESTDIR)$(SYSCONFDIR)/stoa/stoa.toml.reference

## test: install, build with sanitizers, run the unit tests, clang-tidy, then the end-to-end tests with the real go command
test: build-asan
	ctest --preset asan
	$(MAKE) --no-print-directory tidy
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory fuzz-ci
	$(MAKE) --no-print-directory bench-ci

unit: build-asan
	ctest --preset asan

## tidy: clang-tidy-14 with .clang-tidy over the product code (not the tests), on TIDY_JOBS cores;
## fails on any finding. A translation unit clean since its last change is skipped (scripts/tidy)
TIDY_JOBS ?= 2
tidy: deps-test
	@cmake --preset asan >/dev/null
	scripts/tidy -j $(TIDY_JOBS)

e2e:
	cd tests && STOA_BIN=$(CURDIR)/build/asan/stoa go test -count=1 -timeout 20m ./...

## fuzz: build the libFuzzer targets (clang) and run each for FUZZ_SECONDS; crashes land in build/fuzz-work/<target>/crashes
FUZZ_SECONDS ?= 60
fuzz: build-fuzz
	fuzz/run.sh $(FUZZ_SECONDS)

## fuzz-smoke: the same, 10 s per target from the seed corpora; fails on any crash
fuzz-smoke: build-fuzz
	fuzz/run.sh 10

## fuzz-ci: every target for a fixed 30,000 runs from a fixed seed and a fresh scratch corpus, so
## the same commit always gives the same verdict (part of make test)
fuzz-ci: build-fuzz
	rm -rf build/fuzz-ci
	FUZZ_WORK=build/fuzz-ci FUZZ_ARGS="-seed=1 -runs=30000" fuzz/run.sh 120

## bench: the benchmark suite, stoa against nginx and an upstream simulator (about 11 min; docs/BENCHMARKS.md)
bench: build deps-bench
	bench/run --stoa build/release/stoa

## bench-smoke: a short run of every benchmark scenario; fails only if the harness breaks or bytes are wrong
bench-smoke: build deps-bench
	bench/run --smoke --stoa build/release/stoa

## bench-ci: the same smoke run against the sanitizer build (part of make test)
bench-ci: build-asan deps-bench
	bench/run --smoke --stoa build/asan/stoa

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
