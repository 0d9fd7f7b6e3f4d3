# stoa: `make run` starts a proxy on the embedded defaults; `make test` runs every test.
SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
export GOTOOLCHAIN := local
export GOFLAGS := -mod=mod

STOA_ADDR ?= 127.0.0.1:8080
STOA_DATA ?= $(CURDIR)/data

.PHONY: all deps deps-test build build-asan run test unit e2e format clean

all: build

deps:
	@scripts/install-deps.sh build

deps-test:
	@scripts/install-deps.sh test

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release

build-asan: deps-test
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan

## run: install, build and start stoa on 127.0.0.1:8080 with its data under ./data
run: build
	./build/release/stoa serve --listen $(STOA_ADDR) --data-dir $(STOA_DATA)

## test: install, build with sanitizers, run the unit tests, then the end-to-end tests with the real go command
test: build-asan
	ctest --preset asan
	$(MAKE) --no-print-directory e2e

unit: build-asan
	ctest --preset asan

e2e:
	cd tests && STOA_BIN=$(CURDIR)/build/asan/stoa go test -count=1 -timeout 20m ./...

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
