#!/usr/bin/env bash
# Builds twice (release with warnings as errors, then ASan+UBSan) and runs every test in both; between
# the two, fuzzes the decoders for a bounded time (tools/fuzz.sh, its own clang build).
# Usage: tools/test.sh   (from anywhere; uses build/ and build-asan/ beside this script's repo)
# Both builds are unity builds (CMAKE_UNITY_BUILD): the sources of a target compile in batches, so the
# heavy headers (Catch, nlohmann/json, Asio) are compiled once a batch instead of once a file, which
# more than halves the build. Developers' incremental builds may leave it off; this is what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
# Each stage says when it starts, so a slow run shows where its time went.
stage() { echo "== $1 (at $((SECONDS / 60)) min $((SECONDS % 60)) s)"; }
stage "release build (warnings are errors)"
# Optimised as shipped, without debug info: it is a quarter of the compile time and no test reads it.
cmake -S . -B build -G Ninja -DMNR_WERROR=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="-O2 -DNDEBUG" >/dev/null
cmake --build build -j"$jobs"
stage "release tests"
ctest --test-dir build --output-on-failure -j"$jobs"
stage "fuzzing the readers of untrusted input (libFuzzer, 5 s per target)"
tools/fuzz.sh 5
stage "ASan + UBSan build"
cmake -S . -B build-asan -G Ninja -DMNR_WERROR=ON -DMNR_SANITIZE=ON -DCMAKE_UNITY_BUILD=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build build-asan -j"$jobs"
stage "ASan + UBSan tests"
# The leak scan at a process's exit costs about 80 ms, so it is kept for the test programs and for
# the servers they start (long-lived: where a leak matters), and left out for the thousands of short
# commands the end-to-end tests run (tests/support/process.cc); every other check stays on in them.
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  MNR_TEST_SHORT_RUN_ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
  ctest --test-dir build-asan --output-on-failure -j"$jobs"
stage "done"
