"""compare/profile: callgrind instructions per operation for workloads under allocator rows.

Each (workload, allocator) pair runs once under `valgrind --tool=callgrind` with the row's
preload and environment, at the arguments of a runner profile (or --args). Instruction
counts are deterministic, so this is steady where wall-clock time on a shared machine is
not. Callgrind counts user-space instructions only: page faults and system calls cost
nothing here (read compare/run's fault columns for those).
"""
import argparse
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

from . import allocators as alloc_mod
from . import callgrind, workloads
from .cli import DEFAULT_BUILD
from .execute import parse_result_line
from .report import md_table


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="compare/profile",
        description="Callgrind instructions per malloc/free (workload op) for workloads under allocator rows. "
                    "See compare/README.md.")
    p.add_argument("--workloads", required=True, help="comma-separated workload names or prefixes")
    p.add_argument("--allocators", default="glibc,mimalloc,jemalloc,tcmalloc,hakmem-fast,hakmem-lean",
                   help="comma-separated allocator rows (default: %(default)s; missing ones are skipped)")
    p.add_argument("--profile", choices=workloads.PROFILES, default="tiny",
                   help="which profile's arguments to run (default tiny: callgrind is about 50x slower)")
    p.add_argument("--args", help="the workload's arguments instead of the profile's (one workload only)")
    p.add_argument("--lib-hakmem", default=os.path.join(DEFAULT_BUILD, "libhakmem.so"), help="libhakmem.so to preload")
    p.add_argument("--bin-dir", default=os.path.join(DEFAULT_BUILD, "compare"), help="the cmp_* binaries")
    p.add_argument("--keep", metavar="DIR", help="keep the callgrind files in DIR (for callgrind_annotate)")
    p.add_argument("--out", metavar="FILE", help="also write the Markdown table to FILE")
    return p.parse_args(argv)


def choose_allocators(names, hakmem_lib):
    rows = {a.name: a for a in alloc_mod.default_allocators(os.path.abspath(hakmem_lib))}
    chosen = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in rows:
            raise SystemExit(f"unknown allocator {name!r}; known: {', '.join(rows)}")
        a = rows[name]
        if a.lib and not os.path.isfile(a.lib):
            print(f"profile: skipping {name}: {a.lib} not found", file=sys.stderr)
            continue
        chosen.append(a)
    return chosen


def profile_one(binary, args, allocator, out_dir):
    """Runs one workload under callgrind; returns (RESULT fields, {object: Ir})."""
    pattern = os.path.join(out_dir, "callgrind.%p")
    cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={pattern}", "--trace-children=no", binary] + args
    proc = subprocess.run(cmd, env=alloc_mod.run_env(allocator), capture_output=True, text=True, check=False)
    fields = parse_result_line(proc.stdout)
    if proc.returncode != 0 or not fields:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"exit {proc.returncode}: {tail}")
    if allocator.lib and os.path.realpath(fields.get("malloc_lib", "")) != os.path.realpath(allocator.lib):
        raise RuntimeError(f"the preload did not take effect (malloc from {fields.get('malloc_lib')})")
    totals = {}
    for path in glob.glob(os.path.join(out_dir, "callgrind.*")):
        for obj, ir in callgrind.read_file(path).items():
            totals[obj] = totals.get(obj, 0) + ir
    return fields, totals


def split_costs(totals, binary, allocator):
    """Ir in the workload binary, in the allocator (its preload; glibc's malloc is in libc,
    so for the glibc rows this column is empty and libc holds it), in libc and elsewhere."""
    def is_(obj, path):
        return path and os.path.realpath(obj) == os.path.realpath(path)
    parts = {"workload": 0, "allocator": 0, "libc": 0, "other": 0}
    for obj, ir in totals.items():
        if is_(obj, binary):
            parts["workload"] += ir
        elif allocator.lib and is_(obj, allocator.lib):
            parts["allocator"] += ir
        elif os.path.basename(obj).startswith("libc.so"):
            parts["libc"] += ir
        else:
            parts["other"] += ir
    return parts


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if not shutil.which("valgrind"):
        raise SystemExit("profile: valgrind not found (apt-get install valgrind)")
    chosen = workloads.select([n.strip() for n in args.workloads.split(",") if n.strip()])
    if args.args is not None and len(chosen) != 1:
        raise SystemExit("profile: --args needs exactly one workload")
    rows_out = []
    for w in chosen:
        binary = os.path.join(args.bin_dir, w.binary)
        if not os.path.isfile(binary):
            raise SystemExit(f"profile: {binary} not found (build the release preset)")
        wargs = shlex.split(args.args) if args.args is not None else list(w.args[args.profile])
        for a in choose_allocators(args.allocators, args.lib_hakmem):
            with tempfile.TemporaryDirectory(prefix="hk-profile-") as tmp:
                try:
                    fields, totals = profile_one(binary, wargs, a, tmp)
                except RuntimeError as e:
                    rows_out.append([w.name, a.name, f"**FAILED**: {e}"] + [""] * 6)
                    continue
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    for path in glob.glob(os.path.join(tmp, "callgrind.*")):
                        shutil.copy(path, os.path.join(args.keep, f"{w.name}.{a.name}.{os.path.basename(path)}"))
            ops = int(float(fields.get("ops", "0"))) or 1
            parts = split_costs(totals, binary, a)
            per = {k: v / ops for k, v in parts.items()}
            total = sum(parts.values()) / ops
            rows_out.append([w.name, a.name, f"{ops:,}", f"{total:,.1f}", f"{per['workload']:,.1f}",
                             f"**{total - per['workload']:,.1f}**",
                             f"{per['allocator']:,.1f}" if a.lib else "–", f"{per['libc']:,.1f}",
                             f"{per['other']:,.1f}"])
            print(f"profile: {w.name} {a.name}: {total:,.1f} Ir/op", file=sys.stderr, flush=True)
    header = ["workload", "allocator", "ops", "Ir/op total", "in workload binary", "outside it (the allocator's cost)",
              "of which in the preload", "in libc", "elsewhere"]
    command = "compare/profile " + " ".join(shlex.quote(x) for x in (sys.argv[1:] if argv is None else argv))
    text = (f"Callgrind instructions per operation (a malloc or a free counts as one), `{command}`.\n"
            "The workload's own instructions are the same under every row, so what lies outside the workload "
            "binary is what the allocator costs (with the memset and libc calls every row makes alike; "
            "glibc's malloc is in libc; code valgrind cannot place in an object, such as tcmalloc's, is "
            "'elsewhere'). Start-up is included: use enough operations that it does not count.\n\n"
            + md_table(header, rows_out) + "\n")
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 1 if any("FAILED" in r[2] for r in rows_out) else 0
