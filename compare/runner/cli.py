"""compare/run: command line, the run plan and the output directory."""
import argparse
import json
import os
import re
import shlex
import sys
import time
from types import SimpleNamespace

from . import allocators as alloc_mod
from . import machine, packages, plots, report, workloads
from .build import build
from .execute import run_one
from .progress import Progress, _clock

COMPARE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
REPO = os.path.dirname(COMPARE_DIR)
DEFAULT_BUILD = os.path.join(REPO, "build", "release")


def log(message):
    print(f"compare: {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="compare/run",
        description="Run every comparison workload against every allocator and write tables and plots. "
                    "See compare/README.md.")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="2 repetitions, smaller parameters (about 3-4 minutes)")
    size.add_argument("--tiny", action="store_true", help="1 repetition, every run well under a second (for tests)")
    p.add_argument("--reps", type=int, help="repetitions (default 5; --quick 2; --tiny 1)")
    p.add_argument("--workloads", help="comma-separated workload names or prefixes (default: all)")
    p.add_argument("--allocators", help="comma-separated allocator rows (default: all available)")
    p.add_argument("--extra-allocator", action="append", default=[], metavar="NAME=LIB",
                   help="add a row that preloads LIB (repeatable; empty LIB = no preload)")
    p.add_argument("--extra-env", action="append", default=[], metavar="NAME:KEY=VALUE",
                   help="environment for an extra allocator row (repeatable)")
    p.add_argument("--out", help="output directory (default compare/results/<timestamp>[-quick])")
    p.add_argument("--lib-hakmem", default=os.path.join(DEFAULT_BUILD, "libhakmem.so"), help="libhakmem.so to preload")
    p.add_argument("--build-dir", default=DEFAULT_BUILD, help="CMake build directory (default build/release)")
    p.add_argument("--bin-dir", help="directory of the cmp_* workload binaries (default <build-dir>/compare)")
    p.add_argument("--no-build", action="store_true", help="do not run CMake")
    p.add_argument("--no-install", action="store_true", help="never apt-get install missing packages (baselines, gnuplot-nox, cmake, g++)")
    p.add_argument("--timeout-scale", type=float, default=1.0, help="multiply every run's timeout")
    p.add_argument("--report-only", metavar="DIR", help="rebuild tables and plots of an earlier run in DIR")
    p.add_argument("--list", action="store_true", help="list workloads and allocators, then exit")
    return p.parse_args(argv)


def choose_allocators(args):
    rows = alloc_mod.default_allocators(os.path.abspath(args.lib_hakmem))
    wanted = [n.strip() for n in (args.allocators or "").split(",") if n.strip()]
    return alloc_mod.select(rows, wanted, args.extra_allocator, args.extra_env)


def profile_of(args):
    return "tiny" if args.tiny else "quick" if args.quick else "full"


def plan_runs(reps, chosen_workloads, chosen_allocators):
    """Repetition-major and interleaved: A B C, A B C, ... for each workload in turn."""
    return [(rep, w, a) for rep in range(reps) for w in chosen_workloads
            if w.max_reps is None or rep < w.max_reps for a in chosen_allocators]


def default_out(profile):
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return os.path.join(COMPARE_DIR, "results", stamp + ("" if profile == "full" else f"-{profile}"))


def run_all(args, chosen_workloads, chosen_allocators, out_dir):
    profile = profile_of(args)
    reps = args.reps or {"full": 5, "quick": 2, "tiny": 1}[profile]
    ctx = SimpleNamespace(bin_dir=args.bin_dir or os.path.join(args.build_dir, "compare"), out_dir=out_dir,
                          profile=profile, timeout_scale=args.timeout_scale)
    plan = plan_runs(reps, chosen_workloads, chosen_allocators)
    progress = Progress(plan, profile)
    rows = []
    for rep, workload, allocator in plan:
        progress.starting(rep, workload, allocator, reps)
        row = portable_row(run_one(workload, allocator, rep, ctx))
        progress.finished(workload, row)
        rows.append(row)
        with open(os.path.join(out_dir, "runs.jsonl"), "a") as f:  # survives an interrupted run
            f.write(json.dumps(row) + "\n")
    progress.close()
    return rows, reps


def write_outputs(out_dir, meta, rows):
    chosen = workloads.select(meta["workloads"])
    allocator_names = [a["name"] for a in meta["allocators"]]
    report.write_runs_csv(os.path.join(out_dir, "runs.csv"), rows)
    plot_files = plots.make_plots(out_dir, chosen, rows, allocator_names, log)
    report.write_results_md(out_dir, meta, chosen, rows, meta["allocators"], plot_files)


def portable_text(text):
    """text without this checkout's absolute path (paths in it become relative to the repository)."""
    if not text:
        return text
    for root in {os.path.realpath(REPO), REPO}:
        text = text.replace(root + os.sep, "")
    # Libraries named in messages ("malloc came from /lib/.../libc.so.6") as the tables name them.
    return re.sub(r"/[^\s`'\"]+\.so(?:\.[0-9]+)*", lambda m: alloc_mod.portable_path(m.group(0), REPO), text)


def portable_meta(meta):
    meta["command"] = portable_text(meta["command"])
    for a in meta["allocators"]:
        a["lib"] = alloc_mod.portable_path(a["lib"], REPO)
        a["missing"] = portable_text(a["missing"])
    return meta


def portable_row(row):
    """A run's row as committed: the library its malloc came from by relative path or soname."""
    if row.get("malloc_lib"):
        row["malloc_lib"] = alloc_mod.portable_path(row["malloc_lib"], REPO)
    row["detail"] = portable_text(row.get("detail", ""))
    return row


def report_only(out_dir):
    """Rebuilds RESULTS.md, tables and plots; also rewrites meta.json and runs.csv of an older
    run without this machine's paths."""
    with open(os.path.join(out_dir, "meta.json")) as f:
        meta = portable_meta(json.load(f))
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    rows = [portable_row(r) for r in report.read_runs_csv(os.path.join(out_dir, "runs.csv"))]
    machine_md = os.path.join(out_dir, "machine.md")
    if os.path.isfile(machine_md):
        with open(machine_md) as f:
            text = re.sub(r"`(/[^`]+)`", lambda m: f"`{alloc_mod.portable_path(m.group(1), REPO)}`", f.read())
        with open(machine_md, "w") as f:
            f.write(text)
    write_outputs(out_dir, meta, rows)
    log(f"rewrote {out_dir}/RESULTS.md")
    return 0


def list_all(args):
    for w in workloads.WORKLOADS:
        print(f"workload  {w.name:<20} {w.binary} {' '.join(w.args['full'])}")
    for a in choose_allocators(args):
        print(f"allocator {a.name:<20} {a.lib or '(no preload)'} {a.describe_env()}")
    return 0


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.report_only:
        return report_only(args.report_only)
    try:
        if args.list:
            return list_all(args)
        chosen_workloads = workloads.select([n.strip() for n in (args.workloads or "").split(",") if n.strip()])
        chosen_allocators = choose_allocators(args)
    except ValueError as err:
        raise SystemExit(f"compare/run: {err}")
    out_dir = os.path.abspath(args.out or default_out(profile_of(args)))
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(os.path.join(out_dir, "runs.jsonl")):
        os.remove(os.path.join(out_dir, "runs.jsonl"))

    may_install = os.geteuid() == 0 and not args.no_install
    packages.ensure(may_install, log)
    build_ok = True
    if not args.no_build:
        log("building (cmake --build --preset release) ...")
        build_log = os.path.join(out_dir, "build.log")
        build_ok = build(REPO, args.build_dir, build_log, log)
        if build_ok:
            os.remove(build_log)  # kept only when something failed
    bin_dir = args.bin_dir or os.path.join(args.build_dir, "compare")
    missing = [w.binary for w in chosen_workloads if not os.path.isfile(os.path.join(bin_dir, w.binary))]
    if missing:
        raise SystemExit(f"compare/run: workload binaries missing in {bin_dir}: {', '.join(sorted(set(missing)))}")
    chosen_allocators = alloc_mod.check_available(chosen_allocators, may_install, log)

    started, t0 = time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.monotonic()
    meta = {"name": os.path.basename(out_dir), "profile": profile_of(args), "started": started,
            "command": "compare/run " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv)),
            "machine_summary": machine.summary(), "loadavg_before": machine.loadavg(),
            "workloads": [w.name for w in chosen_workloads], "build_ok": build_ok,
            "allocators": [{"name": a.name, "lib": a.lib, "env": a.describe_env(), "missing": a.missing}
                           for a in chosen_allocators]}
    portable_meta(meta)
    machine.write_machine_md(os.path.join(out_dir, "machine.md"), REPO, os.path.abspath(args.lib_hakmem))
    rows, meta["reps"] = run_all(args, chosen_workloads, chosen_allocators, out_dir)
    meta.update(finished=time.strftime("%Y-%m-%d %H:%M:%S %Z"), duration=_clock(time.monotonic() - t0),
                duration_secs=round(time.monotonic() - t0, 1), loadavg_after=machine.loadavg())
    with open(os.path.join(out_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    write_outputs(out_dir, meta, rows)
    os.remove(os.path.join(out_dir, "runs.jsonl"))  # runs.csv now holds the same rows
    failed = sum(1 for r in rows if r["status"] != "ok")
    log(f"{len(rows)} runs, {failed} FAILED; results in {out_dir}/RESULTS.md")
    return 0
