#!/usr/bin/env python3
"""Environment parsing: a bad value never crashes or silently changes behaviour.
It prints one clear line on stderr naming the variable, the value and the default."""
import os
import subprocess
import sys
import tempfile

probe = sys.argv[1]
failures = []


def run(env_over):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAKMEM_")}
    env.update(env_over)
    r = subprocess.run([probe], env=env, capture_output=True, text=True, timeout=30)
    return r


def parse(out):
    kv = dict(x.split("=") for x in out.split())
    return int(kv["lean"]), int(kv["superslab_size"])


# Good values are honoured and silent.
for env, want in [({"HAKMEM_MEM_LEAN": "0"}, (0, 2 << 20)),
                  ({"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
                  ({"HAKMEM_MEM_LEAN": "1", "HAKMEM_SS_SIZE": "64K"}, (1, 64 << 10)),
                  ({"HAKMEM_MEM_LEAN": "1", "HAKMEM_SS_SIZE": "1M"}, (1, 1 << 20)),
                  ({"HAKMEM_MEM_LEAN": "0", "HAKMEM_SS_SIZE": "4M"}, (0, 4 << 20))]:
    r = run(env)
    if r.returncode != 0:
        failures.append(f"{env}: exit {r.returncode} stderr={r.stderr!r}")
        continue
    got = parse(r.stdout)
    if got != want:
        failures.append(f"{env}: got {got}, want {want}")
    if r.stderr.strip():
        failures.append(f"{env}: unexpected stderr {r.stderr!r}")

# Bad values: one line naming variable and value; the default is used.
bad = [("HAKMEM_SS_SIZE", "banana", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
       ("HAKMEM_SS_SIZE", "3K", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),      # not a power of two
       ("HAKMEM_SS_SIZE", "12345", {"HAKMEM_MEM_LEAN": "0"}, (0, 2 << 20)),
       ("HAKMEM_MEM_LEAN", "maybe", {}, (0, 2 << 20)),                          # CMake default OFF
       ("HAKMEM_MEM_LEAN_DECOMMIT", "SOMETIMES", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
       ("HAKMEM_DECOMMIT_DELAY_MS", "-5x", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
       ("HAKMEM_MEM_LEAN_TARGET_MB", "lots", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
       ("HAKMEM_STATS", "relative/stats.txt", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10))]
for var, val, extra, want in bad:
    env = dict(extra)
    env[var] = val
    r = run(env)
    if r.returncode != 0:
        failures.append(f"{var}={val}: exit {r.returncode} stderr={r.stderr!r}")
        continue
    got = parse(r.stdout)
    if got != want:
        failures.append(f"{var}={val}: got {got}, want default {want}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if len(lines) != 1:
        failures.append(f"{var}={val}: want exactly one stderr line, got {lines!r}")
    elif var not in lines[0] or val not in lines[0]:
        failures.append(f"{var}={val}: stderr line does not name variable and value: {lines[0]!r}")

# HAKMEM_STATS=<absolute path>: the report is appended to that file, stderr stays quiet.
with tempfile.TemporaryDirectory() as d:
    path = os.path.join(d, "stats.txt")
    for run_no in (1, 2):
        r = run({"HAKMEM_MEM_LEAN": "1", "HAKMEM_STATS": path})
        if r.returncode != 0 or r.stderr.strip():
            failures.append(f"HAKMEM_STATS={path}: exit {r.returncode} stderr={r.stderr!r}")
    text = open(path).read() if os.path.exists(path) else ""
    if text.count("hakmem: mode LEAN") != 2 or "hakmem:   rss " not in text or f"HAKMEM_STATS={path}" not in text:
        failures.append(f"HAKMEM_STATS={path}: want two appended reports, got {text[:300]!r}")

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("ok: env parsing")
