#!/usr/bin/env python3
"""Regenerates the seed corpus in tests/fuzz/corpus (deterministic).

Opcodes (see fuzz_alloc.cc, op % 16): 0 malloc, 1 calloc, 2 realloc, 3/4 free,
5 aligned_alloc, 6 posix_memalign, 7 memalign, 8 usable_size+check,
9/10 move to another table, 11 switch thread, 12 invalid requests,
13 collect, 14 check table, 15 reallocarray; 0xFF retires the current thread; 0xFE (once per input, then
slot, word, kind, 8 bytes of bits) frees a block and writes into it in a child.
Size byte: top two bits select 0..63 / 0..1023 (+1 byte) / small (+2 bytes) / large (+2 bytes).
"""
import os, random

here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
os.makedirs(here, exist_ok=True)

def small(n): return bytes([n & 63])
def mid(n): return bytes([0x40 | (n >> 8) & 3, n & 255])
def anysmall(n): return bytes([0x80, n & 255, (n >> 8) & 255])
def large(k): return bytes([0xC0, k & 255, (k >> 8) & 255])

seeds = {}
# malloc/free in every size band, on one thread
s = b""
for i, sz in enumerate([small(1), small(48), mid(700), anysmall(5000), anysmall(32768), large(1000), large(60000)]):
    s += bytes([0, i]) + sz
s += bytes([14]) + b"".join(bytes([3, i]) for i in range(7))
seeds["sizes"] = s
# cross-thread: allocate on thread 0, move to thread 1, free there
s = b""
for i in range(8):
    s += bytes([0, i]) + mid(100 * i + 17)
for i in range(8):
    s += bytes([9, i, 1, i])
s += bytes([11, 1]) + b"".join(bytes([3, i]) for i in range(8))
seeds["cross_thread"] = s
# aligned allocations of every alignment
s = b""
for i, al in enumerate(range(0, 17)):
    s += bytes([5 + i % 3, i % 16, al]) + (small(33) if i % 2 else anysmall(3000 + i))
s += bytes([8, 3, 8, 5, 14])
seeds["aligned"] = s
# calloc, realloc growth and shrink, reallocarray
s = bytes([1, 0, 3]) + mid(1000) + bytes([2, 0, 1]) + anysmall(20000) + bytes([2, 0, 1]) + large(20)
s += bytes([2, 0, 1]) + small(5) + bytes([15, 0, 4]) + mid(900) + bytes([2, 1, 1]) + small(9) + bytes([2, 1, 0, 3])
seeds["calloc_realloc"] = s
# thread retirement with live objects, then frees from the new thread and another
s = b""
for i in range(6):
    s += bytes([0, i]) + anysmall(64 * (i + 1))
s += bytes([9, 0, 2, 0, 0xFF]) + b"".join(bytes([4, i]) for i in range(1, 6))
s += bytes([11, 2, 3, 0, 13, 1])
seeds["retire"] = s
# invalid requests and collect
seeds["invalid"] = bytes([12, 0, 7, 12, 1, 3, 12, 2, 5, 12, 3, 13, 0, 13, 1])
# writes after free: a small block in the thread cache, each kind of write
for kind in range(5):
    s = b"".join(bytes([0, i]) + small(40) for i in range(6))
    seeds[f"write_after_free_{kind}"] = s + bytes([0xFE, 2, 0, kind]) + bytes(range(1, 9))
# ... and a large block in the mapping cache
s = bytes([0, 1]) + large(0x4000) + bytes([0, 2]) + large(0x8000) + bytes([3, 2])
seeds["write_after_free_large"] = s + bytes([0xFE, 1, 0, 0]) + bytes(8)
# random programs
rng = random.Random(12345)
for k in range(6):
    seeds[f"random{k}"] = bytes(rng.randrange(256) for _ in range(rng.randrange(64, 600)))

for name, data in seeds.items():
    with open(os.path.join(here, name), "wb") as f:
        f.write(data)
print(f"wrote {len(seeds)} seeds to {here}")
