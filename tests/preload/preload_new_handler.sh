#!/usr/bin/env bash
# operator new must follow the new-handler protocol (call the handler until it
# is removed, then throw std::bad_alloc) when hakmem replaces it.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
prog=$2
need_lib "$lib"
"$prog" --new-handler >/dev/null || fail "program fails without preload"
out=$(run_preloaded "$lib" "$prog" --new-handler 2>&1) || fail "preloaded: $out"
[[ $out == "cxx_prog: new_handler ok" ]] || fail "unexpected output: $out"
echo "ok: $out"
# Aligned forms with a size that wraps when rounded up to the alignment
# (under hakmem only: libstdc++ 12's own aligned new has that wrap).
out=$(run_preloaded "$lib" "$prog" --new-handler-aligned 2>&1) || fail "preloaded, aligned: $out"
[[ $out == "cxx_prog: aligned new_handler ok" ]] || fail "unexpected output: $out"
echo "ok: $out"
