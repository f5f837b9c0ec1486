#!/usr/bin/env bash
# cgroup_test.sh LIBHAKMEM CG_ALLOC SCENARIO [CG_PRESSURE [CG_UNTIL_NULL]]
#
# Runs cg_alloc with LD_PRELOAD=libhakmem.so HAKMEM_MEM_LEAN=1 inside a memory
# cgroup limited to 64 MiB (swap disabled for the group), then removes the
# cgroup. Needs root and a writable memory controller (cgroup v2 with memory
# in cgroup.controllers, else cgroup v1 at /sys/fs/cgroup/memory); otherwise it
# prints why and exits 77 (CTest skip).
#
# Every scenario first runs a control: 80 MiB live at once must be OOM-killed,
# which proves the limit is enforced (else the test would pass vacuously).
#
# Scenarios:
#   survive   LEAN defaults: 40 MiB of 64-byte objects, free all, then 40 MiB of
#             1 KiB objects: must exit 0 with no OOM kill.
#   lazyfree  HAKMEM_MEM_LEAN_DECOMMIT=FREE with a 1 s delay; the program idles
#             1.2 s between the phases so phase 1's memory is released with
#             MADV_FREE (and not yet escalated to DONTNEED) when phase 2 runs:
#             the cgroup must reclaim the lazily freed pages instead of
#             OOM-killing. Phase 1 keeps one object in 4096 alive so its
#             SuperSlabs stay mapped (not unmapped whole). Checks exit 0, no OOM
#             kill, that hakmem used MADV_FREE (HAKMEM_STATS=1) and that the
#             group reached its limit (so reclaim really happened). The RSS
#             budget (by default 3/4 of the cgroup limit) is turned off so
#             that only the kernel's reclaim of lazily freed pages is tested.
#   pressure-free, pressure-dontneed
#             issue 11's pattern 2 (CG_PRESSURE, cg_pressure.c): 36 MiB of
#             16..1024-byte blocks, all but every 64th freed, then as many
#             512..1023-byte blocks kept: about 54 MiB live at the end, so the
#             program fits the group only if phase 1's free pages are reused or
#             released before new ones are committed. LEAN defaults (the budget
#             is 3/4 of the cgroup limit) with HAKMEM_MEM_LEAN_DECOMMIT=FREE,
#             resp. DONTNEED: must exit 0 with no OOM kill. A reference run
#             without hakmem (glibc) must survive first, or the scenario does
#             not fit this machine and the test fails saying so.
#   limit-free, limit-dontneed
#             the hard limit (CG_UNTIL_NULL, cg_until_null.cpp): a program that
#             allocates until malloc returns NULL (blocks of 16..4096 bytes, a
#             256 KiB one in 50), frees everything and allocates again, with
#             HAKMEM_MEM_LEAN_LIMIT_MB=auto, then the same with operator new
#             until std::bad_alloc; HAKMEM_MEM_LEAN_DECOMMIT=FREE, resp.
#             DONTNEED. Both must exit 0 with no OOM kill and hakmem must have
#             counted the refusals. A control run without the limit must be
#             OOM-killed, or the limit is not what saved the program.
set -u
lib=$1 prog=$2 scenario=$3 pressure=${4:-} until_null=${5:-}
LIMIT=$((64 << 20))
SKIP=77

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit $SKIP; }

[[ -f "$lib" ]] || fail "library '$lib' does not exist"
[[ -x "$prog" ]] || fail "program '$prog' does not exist"
[[ $(id -u) -eq 0 ]] || skip "not root: cannot create a memory cgroup"

name=hakmem_test_$$_${scenario}
cg=
ver=
for root in /sys/fs/cgroup/unified /sys/fs/cgroup; do
  if [[ -r $root/cgroup.controllers ]] && grep -qw memory "$root/cgroup.controllers"; then
    echo +memory >"$root/cgroup.subtree_control" 2>/dev/null
    if mkdir "$root/$name" 2>/dev/null; then
      if [[ -w $root/$name/memory.max ]]; then cg=$root/$name ver=2; break; fi
      rmdir "$root/$name"
    fi
  fi
done
if [[ -z $cg && -d /sys/fs/cgroup/memory && -w /sys/fs/cgroup/memory ]]; then
  if mkdir /sys/fs/cgroup/memory/$name 2>/dev/null; then cg=/sys/fs/cgroup/memory/$name ver=1; fi
fi
[[ -n $cg ]] || skip "no writable memory cgroup controller (tried cgroup v2 at /sys/fs/cgroup/unified and /sys/fs/cgroup, v1 at /sys/fs/cgroup/memory)"

cleanup() {
  # Processes in the group have exited by now (we wait for them); retry in case
  # the kernel is still tearing one down.
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    rmdir "$cg" 2>/dev/null && return
    [[ -d $cg ]] || return
    sleep 0.2
  done
  echo "WARNING: could not remove cgroup $cg" >&2
}
trap cleanup EXIT

if [[ $ver == 2 ]]; then
  echo $LIMIT >"$cg/memory.max" || skip "cannot set memory.max in $cg"
  [[ -w $cg/memory.swap.max ]] && echo 0 >"$cg/memory.swap.max"
  echo "cgroup v2: $cg, memory.max=$(cat "$cg/memory.max")"
else
  echo $LIMIT >"$cg/memory.limit_in_bytes" || skip "cannot set memory.limit_in_bytes in $cg"
  # No swap for the group: a lazily freed page must be reclaimed, not swapped.
  [[ -w $cg/memory.memsw.limit_in_bytes ]] && echo $LIMIT >"$cg/memory.memsw.limit_in_bytes" 2>/dev/null
  echo "cgroup v1: $cg, memory.limit_in_bytes=$(cat "$cg/memory.limit_in_bytes")"
fi

oom_kills() {
  if [[ $ver == 2 ]]; then
    sed -n 's/^oom_kill \([0-9]*\)/\1/p' "$cg/memory.events"
  else
    sed -n 's/^oom_kill \([0-9]*\)/\1/p' "$cg/memory.oom_control"
  fi
}
peak() {
  if [[ $ver == 2 ]]; then cat "$cg/memory.peak" 2>/dev/null || echo unknown
  else cat "$cg/memory.max_usage_in_bytes"; fi
}
reset_peak() {
  if [[ $ver == 1 ]]; then echo 0 >"$cg/memory.max_usage_in_bytes" 2>/dev/null; fi
  if [[ $ver == 2 && -w $cg/memory.peak ]]; then echo reset >"$cg/memory.peak" 2>/dev/null; fi
}
[[ -n $(oom_kills) ]] || skip "this kernel does not report oom_kill for the cgroup; cannot tell an OOM kill apart"

# run_in_cgroup OUTFILE env... -- cmd...: runs in the cgroup; sets $rc.
run_in_cgroup() {
  local out=$1
  shift
  ( echo $BASHPID >"$cg/cgroup.procs" || exit 125; exec env "$@" ) >"$out" 2>&1
  rc=$?
}

work=$(mktemp -d /tmp/hk_cgroup.XXXXXX)
trap 'cleanup; rm -rf "$work"' EXIT

# --- control: the limit is enforced --------------------------------------
before=$(oom_kills)
run_in_cgroup "$work/control" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 "$prog" 4096 80 64 1
[[ $rc -ne 125 ]] || skip "cannot move a process into $cg"
after=$(oom_kills)
echo "control: 80 MiB live in a 64 MiB group -> exit status $rc, oom_kill $before -> $after"
if [[ $rc -eq 0 || $after -le $before ]]; then
  cat "$work/control"
  fail "control: 80 MiB live at once was not OOM-killed in a 64 MiB cgroup; the limit is not enforced"
fi

# --- the scenario ----------------------------------------------------------
reset_peak
before=$(oom_kills)
case $scenario in
  survive)
    run_in_cgroup "$work/out" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_STATS=1 "$prog" 64 40 1024 40 0
    ;;
  lazyfree)
    run_in_cgroup "$work/out" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_STATS=1 \
      HAKMEM_MEM_LEAN_DECOMMIT=FREE HAKMEM_DECOMMIT_DELAY_MS=1000 HAKMEM_MEM_LEAN_TARGET_MB=0 \
      "$prog" 64 40 1024 40 1200 4096
    ;;
  pressure-free | pressure-dontneed)
    [[ -x $pressure ]] || fail "$scenario needs the cg_pressure program as the 4th argument"
    run_in_cgroup "$work/reference" "$pressure"
    echo "reference (glibc): exit status $rc, $(grep '^cg_pressure: done' "$work/reference")"
    if [[ $rc -ne 0 || $(oom_kills) -gt $before ]]; then
      cat "$work/reference"
      fail "$scenario: even glibc does not fit pattern 2 in this 64 MiB group; the scenario tests nothing here"
    fi
    reset_peak
    before=$(oom_kills)
    mode=${scenario#pressure-}
    run_in_cgroup "$work/out" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_STATS=1 \
      HAKMEM_MEM_LEAN_DECOMMIT=${mode^^} "$pressure"
    ;;
  limit-free | limit-dontneed)
    [[ -x $until_null ]] || fail "$scenario needs the cg_until_null program as the 5th argument"
    mode=${scenario#limit-}
    run_in_cgroup "$work/nolimit" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_MEM_LEAN_DECOMMIT=${mode^^} \
      HAKMEM_MEM_LEAN_LIMIT_MB=off "$until_null" malloc 16 4096 50
    echo "without the limit: exit status $rc, oom_kill $before -> $(oom_kills)"
    if [[ $rc -eq 0 || $(oom_kills) -le $before ]]; then
      cat "$work/nolimit"
      fail "$scenario: without HAKMEM_MEM_LEAN_LIMIT_MB the program was not OOM-killed; the test would not show the limit"
    fi
    reset_peak
    before=$(oom_kills)
    run_in_cgroup "$work/new" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_STATS=1 HAKMEM_MEM_LEAN_DECOMMIT=${mode^^} \
      HAKMEM_MEM_LEAN_LIMIT_MB=auto "$until_null" new 16 4096 50
    grep -E '^cg_until_null|limit_failures' "$work/new"
    if [[ $rc -ne 0 || $(oom_kills) -gt $before ]]; then
      cat "$work/new"
      fail "$scenario: operator new until bad_alloc: exit status $rc, oom_kill $before -> $(oom_kills)"
    fi
    grep -q '^cg_until_null: done' "$work/new" || fail "$scenario: operator new: the program did not finish"
    reset_peak
    before=$(oom_kills)
    run_in_cgroup "$work/out" LD_PRELOAD="$lib" HAKMEM_MEM_LEAN=1 HAKMEM_STATS=1 HAKMEM_MEM_LEAN_DECOMMIT=${mode^^} \
      HAKMEM_MEM_LEAN_LIMIT_MB=auto "$until_null" malloc 16 4096 50
    ;;
  *) fail "unknown scenario '$scenario'" ;;
esac
after=$(oom_kills)
grep -E '^cg_alloc|^cg_pressure|^cg_until_null|madvise|lazyfree|limit_failures|rss ' "$work/out"
echo "$scenario: exit status $rc, oom_kill $before -> $after, peak usage $(peak) bytes (limit $LIMIT)"
if [[ $after -gt $before ]]; then
  cat "$work/out"
  fail "$scenario: the process was OOM-killed in a 64 MiB cgroup"
fi
[[ $rc -eq 0 ]] || { cat "$work/out"; fail "$scenario: exit status $rc"; }
grep -q '^cg_\(alloc\|pressure\|until_null\): done' "$work/out" || fail "$scenario: the program did not finish both phases"
frees=$(sed -n 's/^hakmem: *madvise_free_calls \([0-9]*\).*/\1/p' "$work/out")
[[ -n $frees ]] || fail "$scenario: no HAKMEM_STATS output (was libhakmem.so preloaded?)"
if [[ $scenario == limit-* ]]; then
  refused=$(sed -n 's/^hakmem: *limit_failures \([0-9]*\).*/\1/p' "$work/out")
  (( ${refused:-0} > 0 )) || fail "$scenario: hakmem counted no refusal (limit_failures ${refused:-missing})"
fi
if [[ $scenario == lazyfree ]]; then
  (( frees > 0 )) || fail "lazyfree: hakmem made no MADV_FREE calls; the lazy path was not exercised"
  # The group must have been at its limit: that is when the kernel reclaims
  # MADV_FREE pages. Otherwise nothing was tested.
  p=$(peak)
  if [[ $p != unknown ]] && (( p < LIMIT - (8 << 20) )); then
    fail "lazyfree: peak usage $p never came near the limit $LIMIT; reclaim of lazily freed memory was not exercised"
  fi
fi
echo "PASS: $scenario"
