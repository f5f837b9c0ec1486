#!/usr/bin/env bash
# python3 building and discarding large dicts/strings under LD_PRELOAD.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
need_lib "$lib"
py=$(python3 -c 'import sys; print(sys.executable)')
export PYTHONHASHSEED=0
use_tmpdir

"$py" "$here/dicts.py" >"$tmp/ref.txt"
grep -q '^checksum [0-9a-f]\{64\}$' "$tmp/ref.txt" || fail "reference run printed no checksum"
# pymalloc (small objects in arenas, big ones from malloc), then every object from malloc.
for pm in pymalloc malloc; do
  PYTHONMALLOC=$pm run_preloaded "$lib" "$py" "$here/dicts.py" >"$tmp/out.$pm.txt"
  cmp -s "$tmp/ref.txt" "$tmp/out.$pm.txt" ||
    fail "PYTHONMALLOC=$pm: checksum differs: $(cat "$tmp/out.$pm.txt") vs $(cat "$tmp/ref.txt")"
  # Prove the library was actually in the process.
  PYTHONMALLOC=$pm run_preloaded "$lib" "$py" -c '
import ctypes, sys
hk = ctypes.CDLL(None).hk_malloc_usable_size
maps = open("/proc/self/maps").read()
sys.exit(0 if "libhakmem" in maps else 3)' || fail "libhakmem not mapped in the preloaded python"
done
echo "ok: python $(cat "$tmp/ref.txt")"
