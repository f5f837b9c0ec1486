#!/usr/bin/env bash
# gcc_compile.sh LIBHAKMEM CXX SOURCE_DIR: g++ -O2 compiles a real source file
# of this repository (tests/stress/stress.cc, ~700 lines of C++20 with the
# standard library) with LD_PRELOAD=libhakmem.so (the driver, cc1plus, as and
# ld all run under hakmem). The object file must be identical to the one built
# without hakmem, the linked program must run and pass its own checks, and
# every compiler process must exit with at most 32 MiB still allocated.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1 cxx=$2 src=$3
need_lib "$lib"
command -v "$cxx" >/dev/null || fail "compiler '$cxx' not found"
work=$(mktemp -d /tmp/hk_prog_gcc.XXXXXX)
trap 'rm -rf "$work"' EXIT
flags=(-std=c++20 -O2 -frandom-seed=hakmem -DHK_STRESS_HK=0 -I"$src/include" -c "$src/tests/stress/stress.cc")

"$cxx" "${flags[@]}" -o "$work/ref.o" || fail "reference compile without hakmem failed"
start=$EPOCHREALTIME
HAKMEM_STATS=1 LD_PRELOAD="$lib" "$cxx" "${flags[@]}" -o "$work/hk.o" 2>"$work/err"
rc=$?
echo "g++ -O2 under hakmem: exit $rc in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
(( rc == 0 )) || { cat "$work/err" >&2; fail "g++ exited with status $rc"; }
cmp "$work/ref.o" "$work/hk.o" || fail "the object file built under hakmem differs from the reference"
HAKMEM_STATS=1 LD_PRELOAD="$lib" "$cxx" -o "$work/prog" "$work/hk.o" -pthread -ldl 2>>"$work/err" || { cat "$work/err" >&2; fail "link under hakmem failed"; }
check_exit_stats "$work/err" $((32 << 10)) g++ || fail "g++: allocated memory at exit above the bound"
out=$("$work/prog" mixed --threads 2 --lives 2 --ops 20000 --seconds 20 --no-require-hakmem 2>&1)
rc=$?
echo "$out" | grep 'hk_stress mixed:'
(( rc == 0 )) || { echo "$out" >&2; fail "the compiled program failed with status $rc"; }
echo "$out" | grep -q '^hk_stress mixed: 2 threads x 2 lives' || fail "the compiled program did not run its workload"
echo PASS
