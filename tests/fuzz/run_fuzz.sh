#!/usr/bin/env bash
# run_fuzz.sh FUZZER CORPUS_DIR SECONDS
# Runs the fuzzer for a bounded time on a scratch copy of the checked-in
# corpus (the checked-in corpus is never modified). Fails if the fuzzer finds
# a crash, or if it did not run (no "Done N runs" line, or N == 0).
set -u
fuzzer=$1 corpus=$2 secs=$3
[[ -x "$fuzzer" ]] || { echo "FAIL: fuzzer '$fuzzer' not built" >&2; exit 1; }
[[ -d "$corpus" ]] && compgen -G "$corpus/*" >/dev/null || { echo "FAIL: corpus '$corpus' is empty" >&2; exit 1; }
work=$(mktemp -d /tmp/hk_fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/artifacts"
cp "$corpus"/* "$work/corpus/"
echo "fuzz: HAKMEM_MEM_LEAN=${HAKMEM_MEM_LEAN:-unset} HAKMEM_SS_SIZE=${HAKMEM_SS_SIZE:-default} for ${secs}s"
"$fuzzer" -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len=4096 -print_final_stats=1 \
  -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1
rc=$?
tail -n 25 "$work/log"
if (( rc != 0 )); then
  echo "FAIL: fuzzer exited with status $rc" >&2
  for f in "$work"/artifacts/*; do
    [[ -e "$f" ]] || continue
    keep=/tmp/hk_fuzz_crash.$(basename "$f")
    cp "$f" "$keep" && echo "crash input saved as $keep (hexdump below)" >&2
    od -A d -t x1 "$f" | head -20 >&2
  done
  exit 1
fi
runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -1)
if [[ -z "$runs" || "$runs" -eq 0 ]]; then
  echo "FAIL: the fuzzer did not report any runs" >&2
  exit 1
fi
echo "fuzz: PASS ($runs runs)"
