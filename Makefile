# stoa: `make run` starts a proxy on the embedded defaults; `make test` runs every test.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
export GOTOOLCHAIN := local
export GOFLAGS := -mod=mod

STOA_ADDR ?= 127.0.0.1:8080
STOA_DATA ?= $(CURDIR)/data

.PHONY: all deps deps-test deps-fuzz build build-asan build-fuzz run test unit e2e fuzz fuzz-smoke fuzz-ci deps-bench bench bench-smoke bench-ci format clean

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
	./build/release/stoa serve --listen $(STOA_ADDR) --data-dir $(STOA_DATA)

## test: install, build with sanitizers, run the unit tests, then the end-to-end tests with the real go command
test: build-asan
	ctest --preset asan
	$(MAKE) --no-print-directory e2e
	$(MAKE) --no-print-directory fuzz-ci
	$(MAKE) --no-print-directory bench-ci

unit: build-asan
	ctest --preset asan

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
