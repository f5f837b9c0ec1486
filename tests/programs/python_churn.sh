#!/usr/bin/env bash
# python_churn.sh LIBHAKMEM PYTHON: py_churn.py (3 producer + 3 consumer
# threads, 240k objects through malloc with PYTHONMALLOC=malloc) under
# LD_PRELOAD. Its checksum must match the one computed in-process without
# threads and the one from a run without hakmem; exit status 0; at exit at
# most 16 MiB may still be allocated (HAKMEM_STATS=1).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1 py=$2
need_lib "$lib"
args=(3 20 4000)
work=$(mktemp -d /tmp/hk_prog_py.XXXXXX)
trap 'rm -rf "$work"' EXIT

ref=$(PYTHONMALLOC=malloc "$py" "$here/py_churn.py" "${args[@]}") || fail "reference run without hakmem failed"
start=$EPOCHREALTIME
PYTHONMALLOC=malloc HAKMEM_STATS=1 LD_PRELOAD="$lib" "$py" "$here/py_churn.py" "${args[@]}" >"$work/out" 2>"$work/err"
rc=$?
echo "python under hakmem: exit $rc in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s: $(cat "$work/out")"
(( rc == 0 )) || { cat "$work/err" >&2; fail "python exited with status $rc"; }
[[ $(cat "$work/out") == "$ref" ]] || fail "result '$(cat "$work/out")' differs from the run without hakmem: '$ref'"
check_exit_stats "$work/err" $((16 << 10)) python || fail "python: allocated memory at exit above the bound"
echo PASS
