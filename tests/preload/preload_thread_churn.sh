#!/usr/bin/env bash
# Thread churn under LD_PRELOAD (thread_churn_prog.c): 100 processes of 200
# rounds of 10 threads, two at a time, each must finish within 20 s. LEAN
# once hung in 1 such process in 100 (decommit/run.h: the background thread
# started from a free() glibc made under its thread-stack lock); the bound
# is for a hang, not for speed (a process takes well under a second).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1 prog=$2
need_lib "$lib"
use_tmpdir
for i in $(seq 1 50); do
  LD_PRELOAD="$lib" timeout -s KILL 20 "$prog" 200 >"$tmp/a" 2>&1 &
  a=$!
  LD_PRELOAD="$lib" timeout -s KILL 20 "$prog" 200 >"$tmp/b" 2>&1 &
  b=$!
  wait $a || fail "process $((2 * i - 1)) of 100 hung or failed (status $?): $(cat "$tmp/a")"
  wait $b || fail "process $((2 * i)) of 100 hung or failed (status $?): $(cat "$tmp/b")"
  grep -qx ok "$tmp/a" && grep -qx ok "$tmp/b" || fail "no ok: $(cat "$tmp/a" "$tmp/b")"
done
echo "PASS: 100 processes of thread churn finished"
