# Thin entry points over CMake presets; see README.md and docs/testing.md.
#   make check   set-up, both builds, host tests, Windows tests under Wine, fuzz smoke run
#   make check-long  the long hardening variants (label long)
#   make demo    the end-to-end demo under Wine
#   make build   both builds (Windows binaries in build/mingw/bin)
#   make fuzz    every fuzz target for FUZZ_SECONDS seconds each (default 60)
#   make clean   remove build/ and dist/
FUZZ_SECONDS ?= 60
SHELL := /bin/bash

.PHONY: all setup configure build build-host build-mingw check check-host check-windows fuzz demo clean

all: build

setup:
	@.ci/setup

configure: setup
	@cmake --preset host >/dev/null
	@cmake --preset mingw >/dev/null

build-host: setup
	@cmake --preset host >/dev/null
	@cmake --build --preset host

build-mingw: setup
	@cmake --preset mingw >/dev/null
	@cmake --build --preset mingw

build: build-host build-mingw

check: build
	@rm -f build/check-summary
	@tests/run-suite host host; \
	 tests/run-suite windows mingw -LE long; \
	 tests/summarize build/check-summary

check-host: build-host
	@tests/run-suite host host

check-windows: build-mingw
	@tests/run-suite windows mingw -LE long

fuzz: build-host
	@tests/fuzz/run-all build/host $(FUZZ_SECONDS)

demo: build
	@client/examples/demo build/mingw

.PHONY: dist
dist: build
	@installer/make-dist build/mingw dist

clean:
	rm -rf build dist

# make bench: every figure of docs/performance.md in one run (the installed service under Wine
# against a bare pipe echo: ping, renew, new lease, throughput, memory, reconcile; and callgrind
# instructions per request on the host); writes build/bench/results.json and prints a table.
# About 2.5 minutes.  Not while a test suite runs in build/mingw's Wine prefix.
.PHONY: bench
bench: build
	@tests/bench/run-bench build/mingw build/bench/results.json

# make check-long: the long variants (label `long`: 64 clients x 10,000 requests against the
# installed service under Wine, about ten minutes); `make check` leaves them out.
.PHONY: check-long
check-long: build-mingw
	@EDGE_LOAD_LONG=1 ctest --preset mingw -L long
