"""Allocation churn in Python over several threads.

Producer threads build batches of objects (strings, bytes, lists, dicts,
tuples, bytearrays of varied sizes) whose content is derived from a seed;
consumer threads receive them through queues, verify every object against
its seed and drop them (so most objects are freed by a thread other than the
one that allocated them). Run with PYTHONMALLOC=malloc so that every object
goes through malloc/free.

Prints "checksum <n> objects <m>"; the test compares it with a run without
the preloaded allocator and with the value computed here without threads.
"""
import hashlib
import queue
import sys
import threading

PRODUCERS = int(sys.argv[1]) if len(sys.argv) > 1 else 3
BATCHES = int(sys.argv[2]) if len(sys.argv) > 2 else 60
BATCH = int(sys.argv[3]) if len(sys.argv) > 3 else 4000


def make(seed):
    k = seed % 7
    if k == 0:
        return ("s%d-" % seed) * (1 + seed % 90)
    if k == 1:
        return hashlib.sha256(seed.to_bytes(8, "little")).digest() * (1 + seed % 40)
    if k == 2:
        return list(range(seed % 300))
    if k == 3:
        return {i: str(i * seed) for i in range(seed % 40)}
    if k == 4:
        return tuple(str(seed + i) for i in range(seed % 25))
    if k == 5:
        return bytearray(seed.to_bytes(8, "little")) * (1 + seed % 600)
    return [("x" * (seed % 50), seed)] * (seed % 70)


def digest(obj):
    if isinstance(obj, str):
        return len(obj) * 31 + ord(obj[-1])
    if isinstance(obj, (bytes, bytearray)):
        return len(obj) * 17 + obj[-1]
    if isinstance(obj, list):
        return len(obj) * 13 + (sum(obj) if obj and isinstance(obj[0], int) else sum(t[1] + len(t[0]) for t in obj))
    if isinstance(obj, dict):
        return len(obj) * 11 + sum(len(v) for v in obj.values())
    if isinstance(obj, tuple):
        return len(obj) * 7 + sum(len(s) for s in obj)
    raise TypeError(type(obj))


def seeds(p, b):
    base = (p * 1000003 + b * 7919) * BATCH
    return range(base, base + BATCH)


def expected():
    total = 0
    for p in range(PRODUCERS):
        for b in range(BATCHES):
            for s in seeds(p, b):
                total += digest(make(s))
    return total


def main():
    queues = [queue.Queue(maxsize=4) for _ in range(PRODUCERS)]
    results = [0] * PRODUCERS
    counts = [0] * PRODUCERS
    errors = []

    def producer(p):
        q = queues[(p + 1) % PRODUCERS]  # handed to another thread
        for b in range(BATCHES):
            batch = [(s, make(s)) for s in seeds(p, b)]
            q.put(batch)
        q.put(None)

    def consumer(c):
        total = n = 0
        while True:
            batch = queues[c].get()
            if batch is None:
                break
            for s, obj in batch:
                if make(s) != obj:
                    errors.append("object for seed %d corrupted" % s)
                    return
                total += digest(obj)
                n += 1
            del batch
        results[c] = total
        counts[c] = n

    threads = [threading.Thread(target=producer, args=(i,)) for i in range(PRODUCERS)]
    threads += [threading.Thread(target=consumer, args=(i,)) for i in range(PRODUCERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        print("FAIL:", errors[0], file=sys.stderr)
        return 1
    total = sum(results)
    n = sum(counts)
    if n != PRODUCERS * BATCHES * BATCH:
        print("FAIL: %d objects checked, expected %d" % (n, PRODUCERS * BATCHES * BATCH), file=sys.stderr)
        return 1
    exp = expected()
    if total != exp:
        print("FAIL: checksum %d != %d computed without threads" % (total, exp), file=sys.stderr)
        return 1
    print("checksum %d objects %d" % (total, n))
    return 0


if __name__ == "__main__":
    sys.exit(main())
