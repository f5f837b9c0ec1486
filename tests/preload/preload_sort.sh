#!/usr/bin/env bash
# sort(1) on a large generated file, compared with sort without preload.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
need_lib "$lib"
use_tmpdir
# ~300k lines of pseudo-random keys of varying length (deterministic).
awk 'BEGIN { s = 12345; for (i = 0; i < 300000; i++) { s = (s * 1103515245 + 12345) % 2147483648;
  n = 1 + s % 40; line = ""; for (j = 0; j < n; j += 8) line = line sprintf("%08x", (s * (j + 7)) % 4294967296);
  print substr(line, 1, n) " " i } }' >"$tmp/in.txt"
[[ $(wc -l <"$tmp/in.txt") -eq 300000 ]] || fail "generator"
export LC_ALL=C
sort -S 64M --parallel=2 "$tmp/in.txt" >"$tmp/ref.txt"
run_preloaded "$lib" sort -S 64M --parallel=2 "$tmp/in.txt" >"$tmp/out.txt"
cmp "$tmp/ref.txt" "$tmp/out.txt" || fail "sort output differs"
sort -k2,2n -k1,1r "$tmp/in.txt" >"$tmp/ref2.txt"
run_preloaded "$lib" sort -k2,2n -k1,1r "$tmp/in.txt" >"$tmp/out2.txt"
cmp "$tmp/ref2.txt" "$tmp/out2.txt" || fail "sort -k output differs"
# Small buffer: forces temporary files and merges.
run_preloaded "$lib" sort -S 1M -T "$tmp" "$tmp/in.txt" >"$tmp/out3.txt"
cmp "$tmp/ref.txt" "$tmp/out3.txt" || fail "sort -S 1M output differs"
# sort closes stderr before exiting: HAKMEM_STATS=<file> still gets the report.
HAKMEM_STATS="$tmp/stats.txt" run_preloaded "$lib" sort "$tmp/in.txt" >/dev/null
grep -q "^hakmem: mode" "$tmp/stats.txt" || fail "no report in HAKMEM_STATS file: $(head -c 300 "$tmp/stats.txt" 2>&1)"
grep -q "^hakmem:   rss " "$tmp/stats.txt" || fail "report without the RSS breakdown"
echo "ok: sort $(wc -l <"$tmp/out.txt") lines"
