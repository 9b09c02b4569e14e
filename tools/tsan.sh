#!/usr/bin/env bash
# `make test-tsan`: builds the library and the thread tests with ThreadSanitizer (clang -fsanitize=thread)
# and runs them; any data race, lock-order inversion or thread leak fails the run.
# The build is the reference backend only (-DCONVGRAD_WITH_ONEDNN=OFF): the Debian oneDNN and libomp
# binaries are not instrumented, and TSan cannot see the synchronisation inside them. For the same reason
# the tests run with OMP_NUM_THREADS=1 (set by the test registration), so no OpenMP parallel region has a
# second thread: the races checked are those between the program's own std::threads. Open MPI is left
# out too (-DCONVGRAD_WITH_MPI=OFF): it is not instrumented either.
#   BUILD=build-tsan JOBS=2 tools/tsan.sh               # the thread tests
#   tools/tsan.sh -R test_concurrency                   # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-tsan}
JOBS=${JOBS:-$(nproc)}
CXX_TSAN=${TSAN_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
if [ -z "$CXX_TSAN" ]; then
  echo "tsan: clang++ not found; install clang, libclang-rt-14-dev and libomp-14-dev (make deps)" >&2
  exit 1
fi
# The tests that start threads of their own; only they (and the library) are built.
TESTS=${TSAN_TESTS:-"test_concurrency test_atomic_save test_data_loader"}

cmake -S . -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX_TSAN" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCONVGRAD_WITH_ONEDNN=OFF -DCONVGRAD_WITH_MPI=OFF -DCONVGRAD_BUILD_EXAMPLES=OFF -DCONVGRAD_BUILD_BENCH=OFF \
  -DCMAKE_CXX_FLAGS="-fsanitize=thread -fno-omit-frame-pointer" \
  -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=thread" -DCMAKE_SHARED_LINKER_FLAGS="-fsanitize=thread" >/dev/null
# shellcheck disable=SC2086
cmake --build "$BUILD" -j "$JOBS" --target $TESTS

# tools/tsan.supp silences libomp's own (uninstrumented) allocator, nothing of convgrad.
export TSAN_OPTIONS="halt_on_error=1:abort_on_error=0:second_deadlock_stack=1:report_thread_leaks=1:suppressions=$PWD/tools/tsan.supp"
# The storage allocator's cache is shared by every thread; keep it on (its default) so its lock is checked.
export CONVGRAD_BACKEND=reference
cd "$BUILD"
regex="^($(echo "$TESTS" | tr ' ' '|'))\$"
ctest --output-on-failure -j "$JOBS" -R "$regex" --timeout 900 "$@"
echo "== tsan: no report"
