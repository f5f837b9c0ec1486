"""Builds and discards large dicts, lists and strings; prints a checksum that
depends on every value computed. Run with and without LD_PRELOAD: the
outputs must be identical."""
import hashlib
import sys

h = hashlib.sha256()
for rnd in range(3):
    d = {}
    for i in range(80000):
        k = f"k{rnd}-{i * 7919 % 80000}"
        d[k] = (str(i) * (1 + i % 13), [i, rnd, i * rnd], {"x": i})
    # Big strings (> 32 KiB: large allocations) built, sliced and dropped.
    big = ["".join(chr(65 + (j + i) % 26) for j in range(2000)) * (1 + i % 40) for i in range(200)]
    for s in big:
        h.update(s[: 64].encode())
        h.update(str(len(s)).encode())
    total = 0
    for k in list(d)[::97]:
        v = d[k]
        total += len(v[0]) + v[1][2]
        h.update(k.encode())
    h.update(str(total).encode())
    # Shrink and regrow.
    for i in range(0, 80000, 2):
        d.pop(f"k{rnd}-{i}", None)
    h.update(str(len(d)).encode())
    b = bytearray(1 << 22)
    for i in range(0, len(b), 4099):
        b[i] = (i >> 3) & 0xFF
    h.update(hashlib.md5(b).digest())
    del d, big, b
print("checksum", h.hexdigest())
sys.stdout.flush()
