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
