#!/usr/bin/env bash
# `make test-sanitize`: builds the library, examples and every test with AddressSanitizer,
# UndefinedBehaviorSanitizer and LeakSanitizer (CONVGRAD_SANITIZE=ON) and runs the suite twice:
# on the default backend (oneDNN when built) and with CONVGRAD_BACKEND=reference.
# Any report fails the run (halt_on_error, no suppressions for convgrad's own code).
#   BUILD=build-asan JOBS=2 tools/sanitize.sh          # the whole thing
#   tools/sanitize.sh -R 'test_npy|test_memory'          # extra arguments go to ctest
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-asan}
JOBS=${JOBS:-$(nproc)}

# Without MPI: Open MPI's own allocations at MPI_Init/MPI_Finalize are reported by LeakSanitizer (the
# dist tests run under mpirun in the plain build).
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCONVGRAD_SANITIZE=ON \
  -DCONVGRAD_BUILD_BENCH=OFF -DCONVGRAD_WITH_MPI=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS"

# detect_leaks is LeakSanitizer (on by default with ASan on x86-64 Linux; made explicit here).
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:strict_init_order=1:check_initialization_order=1:detect_stack_use_after_return=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The storage allocator's cache is off in sanitizer builds (core/memory.h), so every freed tensor goes back
# to ASan and a use after free is reported; made explicit here so an exported value cannot turn it on.
# (test_storage_allocator turns it on for itself, with cached blocks poisoned for ASan.)
export CONVGRAD_ALLOCATOR_CACHE_MB=0

# The install test links a non-sanitized consumer against the sanitized library: not meaningful here.
exclude='^install_consumer$'
cd "$BUILD"
# Both passes always run; the script fails if either found anything.
status=0
echo "== sanitizers: default backend (${CONVGRAD_BACKEND:-onednn when built})"
ctest --output-on-failure -j "$JOBS" -E "$exclude" --timeout 900 "$@" || status=1
echo "== sanitizers: CONVGRAD_BACKEND=reference"
# The reference pass leaves out the 60-step FCN training run: its result is checked by the default pass and
# by `make test-reference`, and on the sanitized reference kernels it alone takes about CI's whole timeout.
CONVGRAD_BACKEND=reference ctest --output-on-failure -j "$JOBS" -E "$exclude|^example_fcn_trains$" --timeout 900 "$@" \
  || status=1
[ "$status" -eq 0 ] && echo "== sanitizers: no report on either backend"
exit "$status"
