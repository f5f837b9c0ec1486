#!/usr/bin/env python3
"""Environment parsing: a bad value never crashes or silently changes behaviour.
It prints one clear line on stderr naming the variable, the value and the default."""
import os
import re
import subprocess
import sys
import tempfile

probe = sys.argv[1]
# --sanitized: the probe carries a sanitizer runtime, which cannot run in a
# secure-execution process (LeakSanitizer aborts there), so the setuid check
# runs in the default build only.
sanitized = "--sanitized" in sys.argv[2:]
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
       ("HAKMEM_MEM_LEAN_LIMIT_MB", "64MB", {"HAKMEM_MEM_LEAN": "1"}, (1, 256 << 10)),
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

# The reservation takes address space only, at every size the option allows
# (its metadata tables too: 32 GiB of them for 16T, touched only as used);
# one smaller than a SuperSlab is a bad value like any other.
def arena_of(out):
    return int(dict(x.split("=") for x in out.split())["arena_bytes"])


for val, extra, want, warns in [("16T", {"HAKMEM_MEM_LEAN": "0"}, 16 << 40, False),
                                ("1T", {"HAKMEM_MEM_LEAN": "1"}, 1 << 40, False),
                                ("1M", {"HAKMEM_MEM_LEAN": "0"}, 32 << 30, True),
                                ("64K", {"HAKMEM_MEM_LEAN": "1", "HAKMEM_SS_SIZE": "64K"}, 64 << 10, False)]:
    env = dict(extra)
    env["HAKMEM_ARENA_SIZE"] = val
    r = run(env)
    if r.returncode != 0:
        failures.append(f"HAKMEM_ARENA_SIZE={val}: exit {r.returncode} stderr={r.stderr!r}")
        continue
    if arena_of(r.stdout) != want:
        failures.append(f"HAKMEM_ARENA_SIZE={val} {extra}: arena_bytes {arena_of(r.stdout)}, want {want}")
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    if warns != (len(lines) == 1 and "HAKMEM_ARENA_SIZE" in lines[0]) or len(lines) > 1:
        failures.append(f"HAKMEM_ARENA_SIZE={val} {extra}: stderr {r.stderr!r}")

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
    # Each report starts with the library's version (issue 13), from the header's macros.
    hdr = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../include/hakmem.h")).read()
    version = re.search(r'#define HAKMEM_VERSION_STRING "([^"]+)"', hdr).group(1)
    if not text.startswith(f"hakmem: version {version}\n") or text.count(f"hakmem: version {version}\n") != 2:
        failures.append(f"HAKMEM_STATS={path}: each report must start with 'hakmem: version {version}', got {text[:120]!r}")

# A secure-execution process (here: setuid to another user) ignores HAKMEM_*,
# as glibc ignores MALLOC_* there: the caller must not make a privileged
# program append its report to a file of the caller's choosing. Needs root
# (to hand the copy to another user); the control run without the setuid bit
# shows that the same environment is otherwise honoured.
def run_prog(prog, env_over):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HAKMEM_")}
    env.update(env_over)
    return subprocess.run([prog], env=env, capture_output=True, text=True, timeout=30)


def setuid_check():
    import pwd
    import shutil
    try:
        nobody = pwd.getpwnam("nobody")
    except KeyError:
        return "no user 'nobody'"
    with tempfile.TemporaryDirectory() as d:
        os.chmod(d, 0o755)
        prog = os.path.join(d, "probe")
        shutil.copy(probe, prog)
        out = os.path.join(d, "out")
        os.mkdir(out)
        os.chmod(out, 0o777)  # writable by the setuid user too: only the option may stop the report
        os.chown(prog, nobody.pw_uid, nobody.pw_gid)
        for setuid in (False, True):
            os.chmod(prog, 0o4755 if setuid else 0o755)
            report = os.path.join(out, "report-%d" % setuid)
            r = run_prog(prog, {"HAKMEM_MEM_LEAN": "1", "HAKMEM_STATS": report, "HAKMEM_SS_SIZE": "banana"})
            tag = "setuid" if setuid else "control"
            if r.returncode != 0:
                failures.append(f"{tag}: exit {r.returncode} stderr={r.stderr!r}")
                continue
            got = parse(r.stdout)
            if setuid:
                if got != (0, 2 << 20):
                    failures.append(f"setuid: HAKMEM_MEM_LEAN=1 was honoured: got {got}")
                if os.path.exists(report):
                    failures.append(f"setuid: HAKMEM_STATS={report} was honoured: the report was written")
                if r.stderr.strip():
                    failures.append(f"setuid: stderr should be empty (the environment is not read): {r.stderr!r}")
            elif got != (1, 256 << 10) or not os.path.exists(report) or "HAKMEM_SS_SIZE" not in r.stderr:
                failures.append(f"control: environment not honoured: got {got}, report "
                                f"{os.path.exists(report)}, stderr {r.stderr!r}")
    return None


if sanitized:
    why = "the probe is built with a sanitizer, whose runtime cannot run setuid (checked in the default build)"
elif os.geteuid() != 0:
    why = "not root: cannot make a setuid copy owned by another user"
else:
    why = setuid_check()
if why:
    print("note: setuid check not run:", why)

for f in failures:
    print("FAIL:", f)
if failures:
    sys.exit(1)
print("ok: env parsing")
