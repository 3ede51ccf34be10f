#!/usr/bin/env bash
# Builds everything and runs every test: unit and integration tests (ctest), then each
# libFuzzer target for a bounded time. Assumes deploy/install-deps.sh has run.
#   MOSDAT_BUILD_DIR      build directory (default: build)
#   MOSDAT_FUZZ_SECONDS   seconds per fuzzer (default: 60; 0 skips fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${MOSDAT_BUILD_DIR:-build}
fuzz_seconds=${MOSDAT_FUZZ_SECONDS:-60}
jobs=${MOSDAT_JOBS:-2}

echo "== build ($build_dir)"
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build_dir" -j "$jobs"

echo "== tests"
ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" --timeout 600

if [ "$fuzz_seconds" -gt 0 ]; then
  echo "== fuzz (${fuzz_seconds}s per target)"
  fuzz_dir="$build_dir-fuzz"
  cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DMOSDAT_FUZZ=ON -DMOSDAT_SERVICES=OFF -DMOSDAT_TESTS=OFF >/dev/null
  cmake --build "$fuzz_dir" -j "$jobs"
  # Seeds: the project's real files (scenarios/, examples/), so the fuzzer starts from
  # what users write and no copy drifts, plus tests/fuzz/corpus/ for inputs no real file
  # has (every step kind, error-laden files, parser traps).
  declare -A real_seeds=(
    [scenario]="$(find scenarios -name '*.yaml' -o -name '*.yml')"
    [config]="$(find examples -name '*.toml')"
  )
  for fuzzer in "$fuzz_dir"/tests/*_fuzzer; do
    name=$(basename "$fuzzer")
    kind=${name%_fuzzer}
    work_corpus=$(mktemp -d)
    cp -r "tests/fuzz/corpus/$kind"/. "$work_corpus"/ 2>/dev/null || true
    for seed in ${real_seeds[$kind]:-}; do
      cp "$seed" "$work_corpus/real-$(echo "$seed" | tr / -)"
    done
    [ -n "$(ls -A "$work_corpus")" ] || { echo "no fuzz seeds for $name"; exit 1; }
    echo "-- $name"
    "$fuzzer" -max_total_time="$fuzz_seconds" -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 "$work_corpus" 2>"$fuzz_dir/$name.log" \
      || { tail -50 "$fuzz_dir/$name.log"; exit 1; }
    grep -E "stat::number_of_executed_units|Done" "$fuzz_dir/$name.log" | tail -2
    rm -rf "$work_corpus"
  done
fi
echo "== all tests passed"
