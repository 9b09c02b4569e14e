# Thin wrapper over CMake. The real build is CMakeLists.txt.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=
# ccache, when installed, serves both builds (the default one and the reference-only one) across runs.
CCACHE := $(shell command -v ccache 2>/dev/null)
LAUNCHER := $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))

.PHONY: deps configure build demo test test-reference test-sanitize test-tsan fuzz format format-check clean sr-photos sr-demo

deps:
	@tools/setup_deps.sh

configure: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(LAUNCHER) $(CMAKE_FLAGS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	OMP_NUM_THREADS=2 $(BUILD)/bin/fcn --out $(BUILD)/fcn_out

test: build
	cd $(BUILD) && OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

# Extra checks (CI runs them after `make test`): the reference-only build, sanitizers over the whole suite,
# ThreadSanitizer over the thread tests, then the fuzzers.

# The library without oneDNN (-DCONVGRAD_WITH_ONEDNN=OFF) in its own folder, with the tests only.
BUILD_REF ?= build-ref
test-reference: deps
	cmake -S . -B $(BUILD_REF) -DCMAKE_BUILD_TYPE=Release -DCONVGRAD_WITH_ONEDNN=OFF \
	  -DCONVGRAD_BUILD_EXAMPLES=OFF -DCONVGRAD_BUILD_BENCH=OFF $(LAUNCHER) $(CMAKE_FLAGS)
	cmake --build $(BUILD_REF) -j $(JOBS)
	cd $(BUILD_REF) && OMP_NUM_THREADS=1 ctest --output-on-failure -j $(JOBS)

test-sanitize:
	@tools/setup_deps.sh --checks
	JOBS=$(JOBS) tools/sanitize.sh

# ThreadSanitizer (clang) over the tests that start threads: the library on the reference backend and
# those tests only, in build-tsan/ (docs/reliability.md, "Threads").
test-tsan:
	@tools/setup_deps.sh --checks
	JOBS=$(JOBS) tools/tsan.sh

fuzz:
	@tools/setup_deps.sh --checks
	JOBS=$(JOBS) tools/fuzz.sh

# Every tracked C++ file formatted by .clang-format (Google style, 110 columns, messages never split):
# `format` rewrites them, `format-check` (run by CI) fails on any difference.
CXX_FILES = $(shell git ls-files '*.cpp' '*.h')
format:
	clang-format -i $(CXX_FILES)

format-check:
	@tools/setup_deps.sh --checks
	@clang-format --dry-run --Werror $(CXX_FILES) && echo "format-check: every C++ file is as clang-format writes it"

# The super-resolution example on real photographs (docs/super-resolution.md): the photos, then
# train FSRCNN with its defaults, evaluate on the held-out photos and upscale one of them.
sr-photos:
	@tools/setup_deps.sh --photos
	tools/sr_photos.sh $(BUILD)/sr_photos

sr-demo: build sr-photos
	OMP_NUM_THREADS=2 $(BUILD)/bin/upsample train --images $(BUILD)/sr_photos/train \
	  --val-images $(BUILD)/sr_photos/heldout --save $(BUILD)/sr_out/fsrcnn_x2.npz
	OMP_NUM_THREADS=2 $(BUILD)/bin/upsample eval --load $(BUILD)/sr_out/fsrcnn_x2.npz \
	  --images $(BUILD)/sr_photos/heldout --compare $(BUILD)/sr_out/fsrcnn_x2_compare.png
	OMP_NUM_THREADS=2 $(BUILD)/bin/upsample apply --load $(BUILD)/sr_out/fsrcnn_x2.npz \
	  --out $(BUILD)/sr_out $(BUILD)/sr_photos/heldout/chelsea.png

clean:
	rm -rf $(BUILD) $(BUILD_REF) build-asan build-tsan build-fuzz
