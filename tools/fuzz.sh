#!/usr/bin/env bash
# Fuzzes the readers of untrusted input with libFuzzer (tests/fuzz): the frame decoder, the change-set
# opener, the bundle reader, the credential loader, CSV parsing, the audit-export reader and the
# evidence-file sniffer.
#
#   tools/fuzz.sh [SECONDS_PER_TARGET]     (default 10)
#
# Configures its own clang build in build-fuzz (MNR_FUZZ=ON: only the shared library and the targets,
# with -fsanitize=fuzzer,address,undefined), runs each target for SECONDS_PER_TARGET from the seeds in
# tests/fuzz/corpus/<target>/ (new inputs go to build-fuzz/corpus/<target>/, the seeds are not
# touched), and prints per target the number of inputs executed. Exits 1 if any target crashed, leaked,
# hit undefined behaviour or timed out: the input is saved as build-fuzz/artifacts/<target>/crash-*
# (reproduce with `build-fuzz/tests/fuzz/<target> FILE`; then make it a Catch2 regression test in
# tests/shared/fuzz_regression_test.cc). Needs clang-14 and libclang-rt-14-dev.
set -euo pipefail

seconds="${1:-10}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: tools/fuzz.sh [SECONDS_PER_TARGET]" >&2
  exit 2
fi
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$root/build-fuzz"
jobs="${JOBS:-$(nproc)}"
targets=(fuzz_frame fuzz_changeset fuzz_bundle fuzz_credential fuzz_csv fuzz_audit_export fuzz_media_type)

launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
mkdir -p "$build"
cmake -S "$root" -B "$build" -G Ninja -DMNR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_CXX_COMPILER=clang++-14 "${launcher[@]}" >"$build/configure.log" 2>&1 ||
  { cat "$build/configure.log" >&2; exit 1; }
cmake --build "$build" -j"$jobs" --target "${targets[@]}" >"$build/build.log" 2>&1 ||
  { tail -50 "$build/build.log" >&2; exit 1; }

# The targets run side by side, one a core: the fuzzing takes its time once per core, not per target.
fuzz_one() {
  local t="$1" work="$build/corpus/$1" artifacts="$build/artifacts/$1"
  mkdir -p "$work" "$artifacts"
  if "$build/tests/fuzz/$t" -max_total_time="$seconds" -print_final_stats=1 -timeout=25 -rss_limit_mb=2048 \
      -artifact_prefix="$artifacts/" "$work" "$root/tests/fuzz/corpus/$t" >"$build/$t.log" 2>&1; then
    echo ok >"$build/$t.result"
  else
    echo "FAILED (see $build/$t.log)" >"$build/$t.result"
  fi
}
running=0
for t in "${targets[@]}"; do
  rm -f "$build/$t.result"
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-20s %14s  %s\n' TARGET EXECUTIONS RESULT
for t in "${targets[@]}"; do
  log="$build/$t.log"
  result="$(cat "$build/$t.result" 2>/dev/null || echo "FAILED (no result)")"
  [ "$result" = ok ] || status=1
  execs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -1)"
  printf '%-20s %14s  %s\n' "$t" "${execs:-?}" "$result"
  if [ "$result" != ok ]; then
    grep -E '^==[0-9]+==ERROR|SUMMARY|runtime error|Test unit written to' "$log" | head -5 | sed 's/^/    /' >&2 || true
  fi
done
exit "$status"
