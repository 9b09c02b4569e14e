# Thin wrapper over CMake. The real build is CMakeLists.txt.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: deps configure build demo test test-sanitize fuzz clean

deps:
	@tools/setup_deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	OMP_NUM_THREADS=2 $(BUILD)/bin/fcn --out $(BUILD)/fcn_out

test: build
	cd $(BUILD) && OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# Extra checks (CI runs them after `make test`): sanitizers over the whole suite, then the fuzzers.
test-sanitize:
	@tools/setup_deps.sh --checks
	JOBS=$(JOBS) tools/sanitize.sh

fuzz:
	@tools/setup_deps.sh --checks
	JOBS=$(JOBS) tools/fuzz.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
