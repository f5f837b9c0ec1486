#!/usr/bin/env bash
# A C++ program (not linked with hakmem) using the STL, threads and every
# operator new/delete form, run with the library preloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
prog=$2
need_lib "$lib"
ref=$("$prog")                                  # glibc: the program's own reference
[[ $ref == "cxx_prog: ok "* ]] || fail "program fails without preload: $ref"
out=$(run_preloaded "$lib" "$prog" --expect-hakmem) || fail "preloaded run failed (exit $?): $out"
[[ $out == "$ref" ]] || fail "output differs: '$out' vs '$ref'"
echo "ok: $out"
# Under an address-space limit (RLIMIT_AS) the SuperSlab reservation cannot
# be made: every SuperSlab is then mapped on its own, and the program must run
# the same. The stats line proves which path ran.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
out=$(ulimit -v 4194304; HAKMEM_STATS=1 HAKMEM_ARENA_SIZE=32G run_preloaded "$lib" "$prog" --expect-hakmem 2>"$err") ||
  fail "preloaded run under ulimit -v failed (exit $?): $out $(cat "$err")"
[[ $out == "$ref" ]] || fail "output under ulimit -v differs: '$out' vs '$ref'"
grep -q "reservation_virtual 0 KiB" "$err" || fail "the reservation was made under ulimit -v 4G: $(grep reservation "$err")"
grep -Eq "superslabs_mapped [1-9]" "$err" || fail "no SuperSlabs reported: $(cat "$err")"
echo "ok: under ulimit -v 4G without the reservation"
