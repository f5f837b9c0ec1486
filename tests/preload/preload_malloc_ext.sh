#!/usr/bin/env bash
# glibc's malloc extensions under LD_PRELOAD: a C program (malloc_ext_prog)
# and python3 through ctypes (as services call malloc_trim after a burst)
# reach hakmem's figures and hakmem's memory, not glibc's empty arena.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1 prog=$2
need_lib "$lib"
use_tmpdir
# A decommit delay longer than the test: what goes back must go through
# malloc_trim, not LEAN's background thread or a tick after a stall under load.
export HAKMEM_DECOMMIT_DELAY_MS=600000

run_preloaded "$lib" "$prog" >"$tmp/out" 2>"$tmp/err" || fail "malloc_ext_prog: $(cat "$tmp/out" "$tmp/err")"
grep -qx ok "$tmp/out" || fail "malloc_ext_prog printed no ok: $(cat "$tmp/out")"
# malloc_stats: glibc's layout on stderr, hakmem's one arena.
grep -q '^Arena 0:$' "$tmp/err" || fail "malloc_stats printed no 'Arena 0:': $(cat "$tmp/err")"
grep -q '^Arena 1:$' "$tmp/err" && fail "malloc_stats printed glibc's arenas: $(cat "$tmp/err")"
[[ $(grep -c '^system bytes     = ' "$tmp/err") == 2 ]] || fail "malloc_stats: want two 'system bytes' lines: $(cat "$tmp/err")"

# python3: every object through malloc, a burst of dicts, strings and large
# buffers, then malloc_trim(0) by ctypes.
lean=$(python3 -c 'import os; print(1 if os.environ.get("HAKMEM_MEM_LEAN") == "1" else 0)')
PYTHONMALLOC=malloc run_preloaded "$lib" python3 - "$lean" <<'PY' || fail "python3 ctypes check failed"
import ctypes, sys
lean = sys.argv[1] == "1"
libc = ctypes.CDLL(None)
ranges = []
for line in open("/proc/self/maps"):
    if "libhakmem" in line:
        lo, hi = line.split()[0].split("-")
        ranges.append((int(lo, 16), int(hi, 16)))
def in_hakmem(fn):
    a = ctypes.cast(fn, ctypes.c_void_p).value
    return any(lo <= a < hi for lo, hi in ranges)
for name in ("malloc_trim", "mallinfo2"):
    if not in_hakmem(getattr(libc, name)):
        sys.exit(f"{name} does not resolve into libhakmem")

class Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = Mallinfo2
libc.malloc_trim.argtypes = [ctypes.c_size_t]
MiB = 1 << 20
def resident():
    got = {}
    for line in open("/proc/self/smaps_rollup"):
        k, _, v = line.partition(":")
        if k in ("Rss", "LazyFree"):
            got[k] = int(v.split()[0]) * 1024
    return got["Rss"] - got["LazyFree"]

before = libc.mallinfo2()
data = {i: "x" * 200 + str(i) for i in range(300000)}
big = [bytearray(MiB) for _ in range(20)]
during = libc.mallinfo2()
if during.uordblks < before.uordblks + 60 * MiB:
    sys.exit(f"uordblks grew by {(during.uordblks - before.uordblks) // MiB} MiB for ~75 MiB of strings")
if during.hblkhd < before.hblkhd + 20 * MiB or during.hblks < before.hblks + 20:
    sys.exit(f"hblkhd/hblks did not count the 20 large buffers: {during.hblkhd} {during.hblks}")
peak = resident()
del data, big
released = libc.malloc_trim(0)
after = resident()
if released != 1:
    sys.exit("malloc_trim(0) returned 0 after freeing ~95 MiB")
# LEAN gives back the slabs too; FAST only the cached large buffers (its slabs stay resident).
want = 60 * MiB if lean else 15 * MiB
if peak - after < want:
    sys.exit(f"resident {peak // MiB} -> {after // MiB} MiB after malloc_trim: want {want // MiB} MiB back")
print(f"python: malloc_trim gave back {(peak - after) // MiB} MiB")
PY
echo "ok: malloc extensions reach hakmem (C and python3 ctypes)"
