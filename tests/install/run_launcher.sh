#!/usr/bin/env bash
# run_launcher.sh HAKMEM: runs the hakmem launcher at that path (an installed
# or unpacked bin/hakmem) and checks that it preloads the library installed
# beside it: the run's maps show libhakmem from the same prefix, the
# HAKMEM_STATS report shows the mode asked for, and `hakmem ab` writes a table.
set -euo pipefail
launcher=$1
fail() { echo "run_launcher: FAIL: $*" >&2; exit 1; }
prefix=$(realpath "$(dirname "$launcher")/..")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$launcher" --help >"$tmp/help" 2>&1 || { cat "$tmp/help" >&2; fail "$launcher --help"; }
grep -q -- '--lean' "$tmp/help" || fail "--help does not mention --lean"

# python3 allocates (true does not, and hakmem reports only once it has started).
out=$("$launcher" --lean --stats -- python3 -c 'print(open("/proc/self/maps").read())' 2>&1) \
  || { echo "$out" >&2; fail "hakmem --lean --stats -- python3 failed"; }
lib=$(grep -o '/[^ ]*libhakmem[^ ]*' <<<"$out" | head -1)
[[ -n $lib ]] || { echo "$out" >&2; fail "libhakmem is not mapped in the program the launcher ran"; }
[[ $(realpath "$lib") == "$prefix"/* ]] || fail "the launcher preloaded $lib, not the library under $prefix"
grep -q '^hakmem: mode LEAN' <<<"$out" || { echo "$out" >&2; fail "no LEAN HAKMEM_STATS report"; }
out=$("$launcher" --fast --stats -- python3 -c pass 2>&1) || fail "hakmem --fast failed"
grep -q '^hakmem: mode FAST' <<<"$out" || { echo "$out" >&2; fail "no FAST HAKMEM_STATS report"; }

# hakmem ab: two rows, one tiny program.
"$launcher" ab --allocators glibc,hakmem-lean --reps 1 --out "$tmp/ab" -- python3 -c pass \
  >"$tmp/ab.log" 2>&1 || { cat "$tmp/ab.log" >&2; fail "hakmem ab failed"; }
table=$(find "$tmp/ab" -name '*.md' | head -1)
[[ -n $table ]] || { cat "$tmp/ab.log" >&2; fail "hakmem ab wrote no Markdown table"; }
for row in glibc hakmem-lean; do
  grep -q "$row" "$table" || { cat "$table" >&2; fail "hakmem ab table has no $row row"; }
done
echo "run_launcher: ok ($launcher preloads $(realpath "$lib"))"
