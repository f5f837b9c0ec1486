"""compare/run_programs: real programs measured with hakmem ab, written as a section of a
results directory's RESULTS.md (the section file is programs/section.md, which report.py
includes whenever it rewrites RESULTS.md)."""
import argparse
import json
import os
import random
import shutil
import sys
import time
from dataclasses import dataclass, field
from types import SimpleNamespace

from . import ab, machine, report
from . import allocators as alloc_mod
from .progress import _clock

COMPARE_DIR = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
REPO = os.path.dirname(COMPARE_DIR)
SECTION = os.path.join("programs", "section.md")


@dataclass
class Program:
    name: str
    description: str
    command: list                  # {repo}, {work} are replaced
    needs: list                    # executables that must be installed
    timeout: float = 120
    extra_columns: list = field(default_factory=list)


PROGRAMS = [
    Program("python-dicts", "Python (default settings, pymalloc for objects up to 512 B) builds a dict of 40,000 "
            "entries of mixed values (strings up to a few KiB, lists, small dicts, bytes) and 40 strings of "
            "16 KiB–1 MiB, three times, dropping each round but one entry in 64 "
            "(`compare/programs/dicts_strings.py`).",
            ["python3", "{repo}/compare/programs/dicts_strings.py"], ["python3"]),
    Program("g++-O2", "`g++ -std=c++20 -O2 -c tests/stress/stress.cc` (750 lines of C++20 with the standard "
            "library): the driver, cc1plus and as all run under the allocator.",
            ["g++", "-std=c++20", "-O2", "-DHK_STRESS_HK=0", "-I{repo}/include", "-c",
             "{repo}/tests/stress/stress.cc", "-o", "{work}/stress.o"], ["g++"]),
    Program("sort", "GNU `sort` (LC_ALL=C) of a generated 1,000,000-line file (about 31 MB, random words and "
            "numbers), output to /dev/null.",
            ["env", "LC_ALL=C", "sort", "-o", "/dev/null", "{work}/sort-input.txt"], ["sort"]),
    Program("redis", "`redis-server` on loopback driven by `redis-benchmark` (20 clients, 5,000 requests each of "
            "SET, GET, LPUSH, LPOP, SADD, HSET, 256-byte values over 100,000 keys; the benchmark itself runs "
            "under glibc), then SHUTDOWN NOSAVE (`compare/programs/redis_drive.sh`). The process tree's peak "
            "RSS includes the driver shell and redis-benchmark; 'server peak RSS' is redis-server's own VmHWM. "
            "Debian's redis-server links libjemalloc, so its glibc rows run jemalloc (see the note).",
            ["bash", "{repo}/compare/programs/redis_drive.sh"], ["redis-server", "redis-benchmark", "redis-cli"],
            extra_columns=[("server_peak_rss_kb", "server peak RSS MB", "mb", False),
                           ("set_rps", "SET/s", "count", False), ("get_rps", "GET/s", "count", False)]),
]


def log(message):
    print(f"compare/run_programs: {message}", file=sys.stderr, flush=True)


def parse_args(argv):
    p = argparse.ArgumentParser(prog="compare/run_programs",
                                description="Run real programs with hakmem ab under every allocator row and "
                                            "write their section into OUT/RESULTS.md.")
    p.add_argument("--out", default=os.path.join(COMPARE_DIR, "results", "latest"),
                   help="results directory whose RESULTS.md gets the section (default compare/results/latest)")
    p.add_argument("--reps", type=int, default=3, help="runs per allocator and program (default 3)")
    p.add_argument("--programs", help=f"comma-separated subset of {','.join(p.name for p in PROGRAMS)}")
    p.add_argument("--allocators", help="comma-separated rows (default: every row of compare/run)")
    p.add_argument("--lib-hakmem", default=os.path.join(REPO, "build", "release", "libhakmem.so"))
    p.add_argument("--sample-ms", type=float, default=20)
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the section from the runs.csv files of an earlier run in OUT")
    return p.parse_args(argv)


def make_sort_input(path, lines=1_000_000):
    rng = random.Random(42)
    words = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(3, 12)))
             for _ in range(5000)]
    with open(path, "w") as f:
        for _ in range(lines):
            f.write(f"{rng.choice(words)} {rng.randint(0, 10**9)} {rng.choice(words)}\n")


def program_section(program, rows, allocator_names, plot_files, rel_dir):
    parts = [f"### {program.name}", "", program.description, "",
             ab.table(program.name, rows, allocator_names, program.extra_columns), ""]
    for key, text in (("timeline", "RSS over time"), ("scatter", "time vs peak RSS")):
        if plot_files.get(key):
            parts += [f"![{program.name}: {text}]({rel_dir}/{plot_files[key]})", ""]
    return "\n".join(parts)


def summary_table(results, allocator_names):
    """Allocators down, programs across: median wall time and peak RSS."""
    header = ["allocator"]
    for program, _ in results:
        header += [f"{program.name} wall s", "CPU s", "peak RSS MB"]
    lines = []
    for name in allocator_names:
        line = [name]
        for program, rows in results:
            cell = report.cells_by_allocator(rows, program.name, [name]).get(name)
            if cell is None or not cell.ok:
                line += ["**FAILED**" if cell else "–", "", ""]
            else:
                line += [report.fmt(cell.median(k), u) for k, u in
                         (("wall_secs", "float"), ("cpu_secs", "float"), ("peak_rss_kb", "mb"))]
        lines.append(line)
    return report.md_table(header, lines)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render_only:
        return render(os.path.abspath(args.out))
    chosen = PROGRAMS
    if args.programs:
        names = [n.strip() for n in args.programs.split(",") if n.strip()]
        unknown = [n for n in names if n not in {p.name for p in PROGRAMS}]
        if unknown:
            raise SystemExit(f"compare/run_programs: unknown program(s) {', '.join(unknown)}")
        chosen = [p for p in PROGRAMS if p.name in names]
    lib = os.path.abspath(args.lib_hakmem)
    if not os.path.isfile(lib):
        raise SystemExit(f"compare/run_programs: {lib} not found (cmake --preset release && "
                         "cmake --build --preset release)")
    try:
        rows = alloc_mod.select(alloc_mod.default_allocators(lib),
                                [n.strip() for n in (args.allocators or "").split(",") if n.strip()])
    except ValueError as err:
        raise SystemExit(f"compare/run_programs: {err}")
    allocators = alloc_mod.check_available(rows, os.geteuid() == 0, log)
    names = [a.name for a in allocators]
    out_root = os.path.abspath(args.out)
    work = os.path.join(out_root, "programs", "work")
    os.makedirs(work, exist_ok=True)
    make_sort_input(os.path.join(work, "sort-input.txt"))
    started, t0, load = time.strftime("%Y-%m-%d %H:%M:%S %Z"), time.monotonic(), machine.loadavg()
    measured, not_run = [], {}
    for program in chosen:
        missing = [n for n in program.needs if not shutil.which(n)]
        if missing:
            log(f"{program.name}: not run, {', '.join(missing)} not installed")
            not_run[program.name] = f"{', '.join(missing)} not installed"
            continue
        command = [c.format(repo=REPO, work=work) for c in program.command]
        out_dir = os.path.join(out_root, "programs", program.name)
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        log(f"{program.name}: {' '.join(command)}")
        opts = SimpleNamespace(reps=args.reps, sample_ms=args.sample_ms, timeout=program.timeout)
        ab.measure(program.name, command, allocators, opts, out_dir)
        measured.append(program.name)
    shutil.rmtree(work, ignore_errors=True)
    command = "compare/run_programs " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": cli_text(command), "reps": args.reps, "started": started,
            "duration": _clock(time.monotonic() - t0), "loadavg_before": load, "loadavg_after": machine.loadavg(),
            "allocators": names, "programs": measured, "not_run": not_run}
    with open(os.path.join(out_root, "programs", "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
    return render(out_root)


def render(out_root):
    """Writes programs/section.md from programs/meta.json and each program's runs.csv and plots,
    then RESULTS.md (when the directory is a compare/run result)."""
    with open(os.path.join(out_root, "programs", "meta.json")) as f:
        meta = json.load(f)
    names, results, sections = meta["allocators"], [], []
    for program in PROGRAMS:
        if program.name in meta["not_run"]:
            sections.append(f"### {program.name}\n\nNot run: {meta['not_run'][program.name]}.\n")
            continue
        if program.name not in meta["programs"]:
            continue
        rel = f"programs/{program.name}"
        rows = report.read_runs_csv(os.path.join(out_root, rel, "runs.csv"))
        plot_files = {key: f"plots/{stem}.png" for key, stem in (("timeline", "rss-over-time"),
                                                                   ("scatter", "time-vs-peak-rss"))
                      if os.path.isfile(os.path.join(out_root, rel, "plots", f"{stem}.png"))}
        results.append((program, rows))
        sections.append(program_section(program, rows, names, plot_files, rel))
    text = ["## Real programs (hakmem ab)", "",
            f"Measured with `hakmem ab` (`{meta['command']}`): {meta['reps']} run(s) per allocator, interleaved, "
            f"started {meta['started']}, took {meta['duration']}; load average before {meta['loadavg_before']}, "
            f"after {meta['loadavg_after']}. Medians of wall time, CPU time (user + system of the whole tree: "
            "steadier than wall time when the machine is loaded) and peak RSS of the whole process tree; every "
            "table below also has RSS − LazyFree, mean RSS, faults and ratios, and each program's raw runs are "
            "in `programs/<name>/`.", "", summary_table(results, names), "", ab.HOW_TO_READ, ""]
    with open(os.path.join(out_root, SECTION), "w") as f:
        f.write("\n".join(text + sections))
    from .cli import report_only  # rewrites RESULTS.md with the section
    if os.path.isfile(os.path.join(out_root, "meta.json")):
        report_only(out_root)
    log(f"section written to {os.path.join(out_root, SECTION)}")
    return 0


def cli_text(command):
    return command.replace(REPO + os.sep, "")
