#!/usr/bin/env bash
# Fuzzes Canopy's parsers and the edge's connection pipeline with libFuzzer (Swift's
# -sanitize=fuzzer, with AddressSanitizer), each target for SECONDS (default 60), one after the
# other, and prints executions, coverage and crashes per target. On demand; not part of the tests.
#
#   Scripts/fuzz.sh [SECONDS] [TARGET...]      targets: the folders of Tests/CanopyFuzzingTests/Corpus
#
# Each target starts from its seed corpus (Tests/CanopyFuzzingTests/Corpus/TARGET, plus
# Regressions/TARGET and, for amplify, ../shared/corpus/amplify when present) and keeps what it
# finds in .build-fuzz/runs/TARGET/corpus. An input that crashes a target is copied to
# Tests/CanopyFuzzingTests/Regressions/TARGET/: fix the bug and commit the input, and the ordinary
# test run (FuzzRegressionTests) replays it from then on. Reproduce one with
#   .build/debug/canopy-fuzz TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
[ $# -gt 0 ] && shift
seeds=Tests/CanopyFuzzingTests/Corpus
regressions=Tests/CanopyFuzzingTests/Regressions
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(ls "$seeds"); fi
bash Scripts/setup.sh

echo "==> building canopy-fuzz with -sanitize=fuzzer,address (in .build-fuzz)"
swift build --product canopy-fuzz --scratch-path .build-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -DCANOPY_LIBFUZZER \
  -Xswiftc -use-ld=lld -Xlinker --allow-multiple-definition 2>&1 | grep -E "error|warning: |Compiling canopy|Build complete" || true
bin=.build-fuzz/debug/canopy-fuzz
[ -x "$bin" ] || { echo "the fuzzing build failed" >&2; exit 1; }

rows=()
found=0
for target in "${targets[@]}"; do
  [ -d "$seeds/$target" ] || { echo "no such target: $target (see $seeds)" >&2; exit 2; }
  run=.build-fuzz/runs/$target
  rm -rf "$run/crashes"
  mkdir -p "$run/corpus" "$run/crashes"
  extra=("$seeds/$target")
  [ -d "$regressions/$target" ] && extra+=("$regressions/$target")
  [ "$target" = amplify ] && [ -d ../shared/corpus/amplify ] && extra+=(../shared/corpus/amplify)
  echo "==> $target: ${seconds}s"
  status=0
  leaks=()
  # TOMLKit 0.6.0's TOMLTable(string:) never frees its error buffer (24 bytes a parse, ~150 when the
  # parse fails): a leak in the library, not in Canopy, that would stop every run at its first input.
  [ "$target" = netlify-toml ] && leaks=(-detect_leaks=0)
  CANOPY_FUZZ_TARGET=$target "$bin" "$run/corpus" "${extra[@]}" -max_total_time="$seconds" "${leaks[@]}" \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$run/crashes/" >"$run/log" 2>&1 || status=$?
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$run/log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$run/log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$run/log" | tail -1 | grep -o '[0-9]*')
  units=$(ls "$run/corpus" | wc -l)
  crashes=0
  for crash in "$run"/crashes/*; do
    [ -f "$crash" ] || continue
    crashes=$((crashes + 1))
    mkdir -p "$regressions/$target"
    cp "$crash" "$regressions/$target/"
  done
  [ $crashes -gt 0 ] && { found=$((found + crashes)); echo "   crash kept in $regressions/$target/ (log: $run/log)"; }
  [ $status -ne 0 ] && [ $crashes -eq 0 ] && echo "   libFuzzer exited with $status: see $run/log"
  rows+=("$(printf '%-18s %12s %8s %8s %8s %8s' "$target" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$units" "$crashes")")
done

echo
printf '%-18s %12s %8s %8s %8s %8s\n' target executions cov features corpus crashes
printf '%s\n' "${rows[@]}"
[ $found -eq 0 ] || { echo "$found crashing inputs: fix them, then commit $regressions"; exit 1; }
