#!/usr/bin/env bash
# The benchmark suite of issue 11: builds Release into BUILD_DIR (default build-release-bench) and runs
# bench/mnr_bench_suite, which drives the real mnr-server and mnr-client as child processes and prints
# a table of every figure beside a baseline measured in the same run, with the issue's targets. The
# figures are also written to BUILD_DIR/bench-results.json. Not run by CI.
# Usage: tools/bench.sh [--quick] [--history N] [--history-budget SECONDS] [--only SECTIONS] [BUILD_DIR]
# Full mode takes about 25 to 45 minutes on two cores (22 of them the 5 MiB attachment over the
# emulated 2G link; --only skips sections); --quick takes about two minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-release-bench
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) args+=("$1") ;;
    --history|--history-budget|--only) args+=("$1" "$2"); shift ;;
    -*) echo "bench: unknown option $1" >&2; exit 2 ;;
    *) build=$1 ;;
  esac
  shift
done
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"${JOBS:-2}" --target mnr-server mnr-client mnr_bench_suite
exec "$build/bench/mnr_bench_suite" --json "$build/bench-results.json" "${args[@]}"
