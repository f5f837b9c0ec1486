"""hakmem ab: any program under each allocator row, interleaved, measured from outside.

The allocator rows, the statistics (median, spread, ratios), the Markdown and the plots are
compare/run's own (allocators.py, report.py, plots.py); what is new here is measuring a
program that prints no RESULT line: proctree.py samples its process tree."""
import argparse
import csv
import os
import shlex
import statistics
import sys
import time
from types import SimpleNamespace

from . import allocators as alloc_mod
from . import machine, plots, proctree, report
from .execute import describe_exit, parse_result_line
from .progress import Progress, _clock

DEFAULT_ROWS = ["glibc", "mimalloc", "jemalloc", "tcmalloc", "hakmem-fast", "hakmem-lean"]
REFERENCE = "glibc"


def log(message):
    print(f"hakmem ab: {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="hakmem ab",
        usage="hakmem ab [options] -- program [args...]",
        description="Run a program under each allocator, interleaved (A B A B ...), and report wall time, CPU "
                    "time, peak RSS, RSS and RSS - LazyFree over time (the whole process tree, sampled from "
                    "/proc/PID/smaps_rollup), minor faults and exit status: a Markdown table with ratios "
                    "against glibc and against the fastest row, and PNG plots (gnuplot). The program's "
                    "stdin is /dev/null; its output goes to OUT/logs/.")
    p.add_argument("--allocators", default=",".join(DEFAULT_ROWS),
                   help=f"comma-separated rows, or 'all' (default {','.join(DEFAULT_ROWS)}); "
                        "hakmem ab --list shows them")
    p.add_argument("--extra-allocator", action="append", default=[], metavar="NAME=LIB",
                   help="add a row that preloads LIB (repeatable)")
    p.add_argument("--extra-env", action="append", default=[], metavar="NAME:KEY=VALUE",
                   help="environment for an extra row (repeatable)")
    p.add_argument("--reps", type=int, default=3, help="runs per allocator (default 3)")
    p.add_argument("--sample-ms", type=float, default=20, help="RSS sampling interval (default 20 ms)")
    p.add_argument("--timeout", type=float, default=0, help="kill a run after this many seconds (default: none)")
    p.add_argument("--out", help="output directory (default ./hakmem-ab-<timestamp>)")
    p.add_argument("--name", help="what the tables call the program (default: its file name)")
    p.add_argument("--list", action="store_true", help="list the allocator rows and exit")
    p.add_argument("command", nargs=argparse.REMAINDER, help="-- program [args...]")
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.list and not args.command:
        p.error("no program given: hakmem ab [options] -- program [args...]")
    if args.reps < 1 or args.sample_ms <= 0 or args.timeout < 0:
        p.error("--reps must be at least 1, --sample-ms above 0, --timeout 0 or more")
    return args


def choose_allocators(args, hakmem_lib):
    rows = alloc_mod.default_allocators(hakmem_lib or "libhakmem.so (not found)")
    names = [] if args.allocators == "all" else [n.strip() for n in args.allocators.split(",") if n.strip()]
    chosen = alloc_mod.select(rows, names, args.extra_allocator, args.extra_env)
    for a in chosen:
        a.optional = False  # an allocator that is not installed shows as a FAILED row with the reason
        if a.name.startswith("hakmem") and not hakmem_lib:
            a.missing = "libhakmem.so not found (build it, or pass hakmem --lib PATH)"
    return chosen


# ---------------------------------------------------------------- one run
def _last_line(path):
    try:
        with open(path, errors="replace") as f:
            lines = [l.strip() for l in f.read()[-8192:].splitlines() if l.strip()]
    except OSError:
        return ""
    return lines[-1][:200] if lines else ""


def _stderr_says_not_preloaded(path):
    try:
        with open(path, errors="replace") as f:
            return "cannot be preloaded" in f.read(65536)
    except OSError:
        return False


def run_one(label, command, allocator, rep, ctx):
    """One run of the program under one allocator: a row as compare/run's (status, detail,
    exit, wall_secs, ...), and its memory samples in <out>/samples/."""
    row = {"workload": label, "allocator": allocator.name, "rep": rep, "status": "FAILED", "detail": "",
           "exit": "", "wall_secs": ""}
    if allocator.missing:
        row["detail"] = allocator.missing
        return row
    logs = os.path.join(ctx.out_dir, "logs")
    os.makedirs(logs, exist_ok=True)
    out_path = os.path.join(logs, f"{allocator.name}.rep{rep}.stdout")
    err_path = os.path.join(logs, f"{allocator.name}.rep{rep}.stderr")
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            m = proctree.run_sampled(command, alloc_mod.run_env(allocator), ctx.sample_secs,
                                     ctx.timeout or float("inf"), out, err, allocator.lib)
    except OSError as e:  # the program itself could not be started
        row["detail"] = f"cannot run {command[0]}: {e.strerror}"
        return row
    _write_samples(ctx.out_dir, allocator.name, rep, m.samples)
    tree_peak = m.peak("rss_kb")
    row.update(wall_secs=f"{m.wall_secs:.3f}", user_secs=f"{m.user_secs:.3f}", sys_secs=f"{m.sys_secs:.3f}",
               cpu_secs=f"{m.user_secs + m.sys_secs:.3f}", peak_rss_kb=max(tree_peak, m.maxrss_kb),
               maxrss_kb=m.maxrss_kb, tree_peak_rss_kb=tree_peak,
               peak_rss_minus_lazyfree_kb=m.peak("rss_minus_lazyfree_kb"),
               mean_rss_kb=_mean(m.samples, "rss_kb"), mean_rss_minus_lazyfree_kb=_mean(m.samples, "rss_minus_lazyfree_kb"),
               minflt=m.minflt, majflt=m.majflt, samples=len(m.samples), max_procs=max((s.procs for s in m.samples), default=0),
               preload="-" if not allocator.lib else {True: "seen", False: "NOT SEEN", None: "not sampled"}[m.lib_seen],
               linked_allocators=" ".join(sorted(m.linked_allocators)))
    row["exit"] = "timeout" if m.returncode is None else describe_exit(m.returncode)
    last = _last_line(err_path)
    if m.returncode is None:
        row["detail"] = f"timeout after {ctx.timeout:g}s"
    elif m.returncode != 0:
        row["detail"] = row["exit"] + (f": {last}" if last else "")
    elif allocator.lib and _stderr_says_not_preloaded(err_path):
        row["detail"] = "preload failed: ld.so says the library cannot be preloaded"
    elif m.lib_seen is False:
        row["detail"] = f"preload not active: {os.path.basename(allocator.lib)} not mapped in any sampled process"
    row["status"] = "FAILED" if row["detail"] else "ok"
    # A program may report figures of its own on a RESULT line, as the workloads do.
    with open(out_path, errors="replace") as f:
        fields = parse_result_line(f.read()[-65536:]) or {}
    row.update({k: v for k, v in fields.items() if k not in row})
    for path in (out_path, err_path):  # keep only logs that say something
        if os.path.getsize(path) == 0:
            os.remove(path)
    return row


def _mean(samples, key):
    return round(statistics.mean(getattr(s, key) for s in samples)) if samples else ""


def _write_samples(out_dir, name, rep, samples):
    path = os.path.join(out_dir, "samples", f"{name}.rep{rep}.csv")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t_sec", "rss_kb", "rss_minus_lazyfree_kb", "procs"])
        w.writerows([s.t_sec, s.rss_kb, s.rss_minus_lazyfree_kb, s.procs] for s in samples)


def run_interleaved(label, command, allocators, reps, ctx):
    """Repetition-major: every allocator once, then again (A B A B ...)."""
    workload = SimpleNamespace(name=label, est_secs={"ab": 1.0})
    plan = [(rep, workload, a) for rep in range(reps) for a in allocators]
    progress = Progress(plan, "ab")
    rows = []
    for rep, _, allocator in plan:
        progress.starting(rep, workload, allocator, reps)
        row = run_one(label, command, allocator, rep, ctx)
        progress.finished(workload, row)
        rows.append(row)
    progress.close()
    return rows


# ---------------------------------------------------------------- table and plots
COLUMNS = [("wall_secs", "wall s", "float", True), ("cpu_secs", "CPU s", "float", False),
           ("peak_rss_kb", "peak RSS MB", "mb", True), ("peak_rss_minus_lazyfree_kb", "peak RSS−LazyFree MB", "mb", False),
           ("mean_rss_kb", "mean RSS MB", "mb", False), ("minflt", "minor faults", "count", False)]


def fastest_row(cells):
    timed = {name: c.median("wall_secs") for name, c in cells.items() if c.ok}
    return min(timed, key=timed.get) if timed else None


def table(label, rows, allocator_names, extra_columns=()):
    """The Markdown table: medians (spread for time and peak RSS), ratios against glibc and
    against the fastest row; a row whose runs all failed says why. extra_columns: more
    (key, label, unit, spread) columns, e.g. from the program's RESULT line."""
    columns = COLUMNS + list(extra_columns)
    cells = report.cells_by_allocator(rows, label, allocator_names)
    glibc = cells.get(REFERENCE) if cells.get(REFERENCE) and cells[REFERENCE].ok else None
    fastest = fastest_row(cells)
    paired = glibc is not None and len(glibc.ok) > 1
    header = ["allocator"] + [c[1] for c in columns]
    if glibc:
        header += ["time vs glibc"] + (["time vs glibc, same repetition"] if paired else []) + ["peak RSS vs glibc"]
    if fastest:
        header += [f"time vs fastest ({fastest})", "peak RSS vs fastest"]
    header += ["exit", "runs"]
    out = []
    for name, cell in cells.items():
        if not cell.ok:
            out.append([name, f"**FAILED**: {cell.failure_summary()}"] + [""] * (len(header) - 2))
            continue
        line = [name] + [report.fmt_spread(cell, key, unit) if spread else report.fmt(cell.median(key), unit)
                         for key, _, unit, spread in columns]
        if glibc:
            line.append(report.ratio(cell.median("wall_secs"), glibc.median("wall_secs")))
            if paired:
                line.append(report.paired_ratio(cell, glibc, "wall_secs", higher_is_faster=False))
            line.append(report.ratio(cell.median("peak_rss_kb"), glibc.median("peak_rss_kb")))
        if fastest:
            line += [report.ratio(cell.median(key), cells[fastest].median(key)) for key in ("wall_secs", "peak_rss_kb")]
        exits = sorted({r["exit"] for r in cell.rows if r["exit"]})
        line += [", ".join(exits), report._runs_cell(cell)]
        out.append(line)
    text = report.md_table(header, out)
    linked = sorted({lib for r in rows if r["workload"] == label for lib in r.get("linked_allocators", "").split()})
    if linked:
        text += (f"\n\nNote: the program maps {', '.join(linked)} itself, so the rows without a preload "
                 "(glibc, glibc-tuned) ran that allocator, not glibc's malloc; the preloaded rows replace it.")
    return text


def make_plots(out_dir, label, rows, allocator_names, stem_prefix=""):
    """RSS over time (first run of each row) and time against peak RSS; {} without gnuplot."""
    terminal = plots.gnuplot_terminal()
    if not terminal:
        log("gnuplot with a png/pngcairo terminal not found (apt-get install gnuplot-nox): no plots")
        return {}
    plot_dir = os.path.join(out_dir, "plots")
    os.makedirs(plot_dir, exist_ok=True)
    cells = report.cells_by_allocator(rows, label, allocator_names)
    found = {}
    try:
        series = []
        for name, cell in cells.items():
            first = min((r["rep"] for r in cell.ok), default=None)
            if first is not None:
                series.append((name, plots.read_memory_series(os.path.join(out_dir, "samples", f"{name}.rep{first}.csv"))))
        timeline = plots.memory_timeline_plot(plot_dir, terminal, f"{stem_prefix}rss-over-time",
                                              f"{label}: memory of the process tree over time (first run)",
                                              "time since start (s)", series, allocator_names, ("rss", "net"),
                                              "linespoints lw 2 pt 7 ps 0.4")
        if timeline:
            found["timeline"] = f"plots/{timeline}"
        points = [(name, c.median("peak_rss_kb") / 1024, c.median("wall_secs")) for name, c in cells.items() if c.ok]
        scatter = plots.scatter_plot(plot_dir, terminal, f"{stem_prefix}time-vs-peak-rss",
                                     f"{label}: wall time vs peak RSS (medians; down and left is better)",
                                     "peak RSS (MB)", "wall time (s)", points, allocator_names)
        if scatter:
            found["scatter"] = f"plots/{scatter}"
    except RuntimeError as err:
        log(str(err))
    return found


HOW_TO_READ = """Every figure is the median over the successful runs (time and peak RSS also show
min–max); runs were interleaved (every allocator once, then again), so a drifting machine
hits all rows alike. Wall time is the whole program from start to exit; CPU is user + system
time of the program and every child it waited for. Peak RSS is the larger of the sampled sum
over the process tree and the kernel's high-water mark of its largest process; RSS−LazyFree
leaves out MADV_FREE pages the kernel can take back at once; mean RSS is the average of the
samples. A run that exited non-zero, was killed by a signal or timed out, or in which the
preloaded library was not mapped, is **FAILED** with the reason."""


def allocators_table(allocators, repo):
    return report.md_table(["row", "LD_PRELOAD", "environment"],
                           [[a.name, f"`{alloc_mod.portable_path(a.lib, repo)}`" if a.lib else "(none)",
                             f"`{a.describe_env()}`" if a.env else "-"] for a in allocators])


def write_results(out_dir, label, command, rows, allocators, meta, plot_files):
    names = [a.name for a in allocators]
    failed = sum(1 for r in rows if r["status"] != "ok")
    lines = [f"# hakmem ab — {label}", "",
             f"- program: `{' '.join(shlex.quote(c) for c in command)}`",
             f"- {meta['reps']} run(s) per allocator, interleaved, sampling every {meta['sample_ms']:g} ms; "
             f"{len(rows)} runs, {failed} failed",
             f"- started {meta['started']}, duration {meta['duration']}; machine: {machine.summary()}, "
             f"load average before: {meta['loadavg_before']}, after: {machine.loadavg()}",
             "- raw data: [runs.csv](runs.csv), memory samples in `samples/`, the program's output in `logs/`",
             "", table(label, rows, names), "", HOW_TO_READ, "", "## Allocators", "",
             allocators_table(allocators, meta["repo"]), ""]
    if plot_files.get("timeline"):
        lines += [f"![{label}: RSS over time]({plot_files['timeline']})", ""]
    if plot_files.get("scatter"):
        lines += [f"![{label}: time vs peak RSS]({plot_files['scatter']})", ""]
    if not plot_files:
        lines += ["(no plots: gnuplot with a PNG terminal is not installed; apt-get install gnuplot-nox)", ""]
    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))


def measure(label, command, allocators, args, out_dir):
    """Runs, then writes runs.csv, plots and RESULTS.md. Returns (rows, plot files)."""
    ctx = SimpleNamespace(out_dir=out_dir, sample_secs=args.sample_ms / 1000, timeout=args.timeout)
    rows = run_interleaved(label, command, allocators, args.reps, ctx)
    report.write_runs_csv(os.path.join(out_dir, "runs.csv"), rows)
    return rows, make_plots(out_dir, label, rows, [a.name for a in allocators])


def main(argv, hakmem_lib, repo):
    """repo: where paths in the report are made relative to (the source or install tree)."""
    args = parse_args(argv)
    try:
        allocators = choose_allocators(args, hakmem_lib)
    except ValueError as err:
        raise SystemExit(f"hakmem ab: {err}")
    if args.list:
        for a in allocators:
            print(f"{a.name:<22} {a.lib or '(no preload)'} {a.describe_env()}")
        return 0
    allocators = alloc_mod.check_available(allocators, False, log, "apt-get install it, as root")
    label = args.name or os.path.basename(args.command[0])
    out_dir = os.path.abspath(args.out or time.strftime("hakmem-ab-%Y%m%d-%H%M%S"))
    os.makedirs(out_dir, exist_ok=True)
    meta = {"reps": args.reps, "sample_ms": args.sample_ms, "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
            "loadavg_before": machine.loadavg(), "repo": repo}
    t0 = time.monotonic()
    rows, plot_files = measure(label, args.command, allocators, args, out_dir)
    meta["duration"] = _clock(time.monotonic() - t0)
    write_results(out_dir, label, args.command, rows, allocators, meta, plot_files)
    print(table(label, rows, [a.name for a in allocators]))
    print(f"\nresults: {out_dir}/RESULTS.md" + (f", plots in {out_dir}/plots/" if plot_files else ""))
    # Exit status 1 when the program failed under an allocator that is installed.
    missing = {a.name for a in allocators if a.missing}
    return 0 if all(r["status"] == "ok" or r["allocator"] in missing for r in rows) else 1
