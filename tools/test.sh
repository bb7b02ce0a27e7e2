#!/usr/bin/env bash
# Builds twice (release with warnings as errors, then ASan+UBSan) and runs every test in both; between
# the two, fuzzes the decoders for a bounded time (tools/fuzz.sh, its own clang build).
# Usage: tools/test.sh   (from anywhere; uses build/ and build-asan/ beside this script's repo)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
echo "== release build (warnings are errors)"
cmake -S . -B build -G Ninja -DMNR_WERROR=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
echo "== fuzzing the readers of untrusted input (libFuzzer, 5 s per target)"
tools/fuzz.sh 5
echo "== ASan + UBSan build"
cmake -S . -B build-asan -G Ninja -DMNR_WERROR=ON -DMNR_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
