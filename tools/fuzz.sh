#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets (tests/fuzz/, clang with ASan + UBSan) and runs each one for
# FUZZ_SECONDS (default 60) on the seed corpus. Any crash, sanitizer report, leak, timeout or allocation
# above the limit fails the run and leaves the input in $BUILD/artifacts/.
#   FUZZ_SECONDS=3600 tools/fuzz.sh            # a longer local run (an hour per target)
#   FUZZ_TARGETS="npz" FUZZ_SECONDS=600 tools/fuzz.sh
#   build-fuzz/fuzz_npz build-fuzz/artifacts/crash-...   # replay one input
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-fuzz}
JOBS=${JOBS:-$(nproc)}
SECS=${FUZZ_SECONDS:-60}
TARGETS=${FUZZ_TARGETS:-"npy npz checkpoint image"}
CXX_FUZZ=${FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}
if [ -z "$CXX_FUZZ" ]; then
  echo "fuzz: clang++ not found; install clang, libclang-rt-14-dev and libomp-14-dev (make deps)" >&2
  exit 1
fi

# Without MPI: the readers never communicate, and Open MPI's allocations would trip LeakSanitizer.
cmake -S tests/fuzz -B "$BUILD" -DCMAKE_CXX_COMPILER="$CXX_FUZZ" -DCONVGRAD_WITH_MPI=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target $(printf 'fuzz_%s ' $TARGETS)

export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# No caching allocator under the fuzzers (its default in sanitizer builds, made explicit): every block
# goes back to ASan at once, so -malloc_limit_mb and leak checks see each input's allocations alone.
export CONVGRAD_ALLOCATOR_CACHE_MB=0
mkdir -p "$BUILD/artifacts"
for t in $TARGETS; do
  # New inputs go to the first (scratch) folder; the committed seeds are only read.
  work="$BUILD/corpus/$t"
  mkdir -p "$work"
  seeds=("tests/fuzz/corpus/$t")
  case "$t" in
    npy | npz) seeds+=(tests/data/npy) ;;  # the reader tests' fixtures: every supported variant
  esac
  echo "== fuzz_$t for ${SECS}s (seeds: ${seeds[*]})"
  # malloc_limit_mb: a 16 KiB input may declare anything, but must not make the reader allocate 128 MiB
  # (the largest honest result: a deflated member expanding ~1000x).
  log="$BUILD/fuzz_$t.log"
  if ! "$BUILD/fuzz_$t" "$work" "${seeds[@]}" -max_total_time="$SECS" -max_len=16384 -timeout=10 \
      -rss_limit_mb=2048 -malloc_limit_mb=128 -print_final_stats=1 -artifact_prefix="$BUILD/artifacts/$t-" \
      >"$log" 2>&1; then
    tail -n 80 "$log"
    echo "fuzz_$t FAILED: the input is in $BUILD/artifacts/, the whole log in $log"
    exit 1
  fi
  grep -E '^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)' "$log" || tail -n 5 "$log"
done
echo "== fuzzing: no crash in $SECS s per target ($TARGETS)"
