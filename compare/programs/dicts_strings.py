"""A Python program that builds and drops large dicts and strings (for compare/run_programs).

Each round builds a dict of ROUND_KEYS string keys to values of mixed kinds and sizes
(short strings, joined strings of a few KiB, lists), a list of large strings (tens of KiB
to a MiB), then drops most of it, keeping one entry in 64 alive to the end: the heap grows,
shrinks and fragments as a long-lived Python service's does. Default allocator settings
(pymalloc serves objects up to 512 B; dict tables, long strings and lists come from malloc).
Prints a checksum so a corrupted run is visible."""
import sys

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
ROUND_KEYS = int(sys.argv[2]) if len(sys.argv) > 2 else 40000

kept = []
checksum = 0
for r in range(ROUNDS):
    table = {}
    for i in range(ROUND_KEYS):
        key = f"round{r}-key{i}"
        kind = i % 5
        if kind == 0:
            table[key] = key * (1 + i % 7)
        elif kind == 1:
            table[key] = "-".join(str(i + j) for j in range(50 + i % 300))
        elif kind == 2:
            table[key] = list(range(i % 120))
        elif kind == 3:
            table[key] = {j: str(j) for j in range(i % 24)}
        else:
            table[key] = b"x" * (64 + i % 2048)
    big = ["%d:" % r + "ab" * (8192 << (i % 7)) for i in range(40)]
    checksum += sum(len(v) for v in table.values()) + sum(len(s) for s in big)
    kept += [table[k] for n, k in enumerate(table) if n % 64 == 0]
    del table, big
print(f"checksum {checksum} kept {len(kept)}")
