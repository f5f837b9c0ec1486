"""Tables: runs.csv with every run, one Markdown table per workload, RESULTS.md."""
import csv
import os
import re
import statistics

FIRST_COLUMNS = ["workload", "allocator", "rep", "status", "detail", "exit", "wall_secs", "malloc_lib",
                 "ops", "secs", "ops_per_sec", "peak_rss_kb", "rss_kb", "rss_minus_lazyfree_kb", "lazyfree_kb",
                 "anon_huge_kb", "minflt", "majflt"]
REFERENCES = ("glibc", "mimalloc")
PAIRED_REFERENCE = "mimalloc"


# ---------------------------------------------------------------- runs.csv
def write_runs_csv(path, rows):
    keys = list(FIRST_COLUMNS)
    for row in rows:
        keys += [k for k in row if k not in keys]
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys, restval="")
        writer.writeheader()
        writer.writerows(rows)


def read_runs_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        row["rep"] = int(row["rep"])
    return rows


# ---------------------------------------------------------------- statistics
class Cell:
    """The successful runs of one workload under one allocator."""

    def __init__(self, rows):
        self.rows = rows
        self.ok = [r for r in rows if r["status"] == "ok"]
        self.failed = [r for r in rows if r["status"] != "ok"]

    def values(self, key):
        out = []
        for row in self.ok:
            try:
                out.append(float(row[key]))
            except (KeyError, ValueError, TypeError):
                pass
        return out

    def median(self, key):
        values = self.values(key)
        return statistics.median(values) if values else None

    def failure_summary(self):
        reasons = {}
        for row in self.failed:
            reasons[row["detail"] or row["exit"]] = reasons.get(row["detail"] or row["exit"], 0) + 1
        return "; ".join(f"{reason} (×{n})" if n > 1 else reason for reason, n in reasons.items())


def cells_by_allocator(rows, workload, allocators):
    cells = {}
    for name in allocators:
        mine = [r for r in rows if r["workload"] == workload and r["allocator"] == name]
        if mine:
            cells[name] = Cell(mine)
    return cells


# ---------------------------------------------------------------- formatting
def fmt(value, unit):
    if value is None:
        return "–"
    if unit == "mb":
        return f"{value / 1024:.1f}"
    if unit == "mops":
        return f"{value / 1e6:.2f}" if value >= 1e4 else f"{value / 1e6:.4f}"
    if unit == "count":
        return f"{value:,.0f}"
    return f"{value:.3g}"


def fmt_spread(cell, key, unit):
    values = cell.values(key)
    if not values:
        return "–"
    text = fmt(statistics.median(values), unit)
    if len(values) > 1:
        text += f" ({fmt(min(values), unit)}–{fmt(max(values), unit)})"
    return text


def ratio(value, reference):
    if value is None or not reference:
        return "–"
    return f"{value / reference:.2f}×"


def paired_ratio(cell, reference, key, higher_is_faster=True):
    """Speed (or time, higher_is_faster=False) against the reference run of the same
    repetition, which ran next to it: the median of those ratios, and in how many
    repetitions this allocator was faster. On a machine whose speed drifts between
    repetitions this cancels most of the drift."""
    ref_by_rep = {}
    for row in reference.ok:
        try:
            ref_by_rep[row["rep"]] = float(row[key])
        except (KeyError, ValueError, TypeError):
            pass
    ratios = []
    for row in cell.ok:
        try:
            value = float(row[key])
        except (KeyError, ValueError, TypeError):
            continue
        ref = ref_by_rep.get(row["rep"])
        if ref:
            ratios.append(value / ref)
    if len(ratios) < 2:
        return "–"
    faster = sum(1 for r in ratios if (r > 1 if higher_is_faster else r < 1))
    return f"{statistics.median(ratios):.2f}× ({faster}/{len(ratios)} faster)"


def md_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


# ---------------------------------------------------------------- per-workload tables
def workload_table(workload, cells):
    refs = {name: cells[name] for name in REFERENCES if name in cells}
    header = ["allocator"] + [c.label for c in workload.columns]
    for name in refs:
        header.append(f"speed vs {name}")
    paired = cells.get(PAIRED_REFERENCE)
    if paired and len(paired.ok) > 1:
        header.append(f"speed vs {PAIRED_REFERENCE}, same repetition")
    else:
        paired = None
    for name in refs:
        header.append(f"{workload.memory_label} vs {name}")
    header.append("runs")
    rows = []
    for name, cell in cells.items():
        rows.append([name] + _metric_cells(workload, cell, refs, paired) + [_runs_cell(cell)])
    return md_table(header, rows)


def _metric_cells(workload, cell, refs, paired=None):
    if not cell.ok:
        width = len(workload.columns) + 2 * len(refs) + (1 if paired else 0)
        return [f"**FAILED**: {cell.failure_summary()}"] + [""] * (width - 1)
    out = [fmt_spread(cell, c.key, c.unit) if c.spread else fmt(cell.median(c.key), c.unit) for c in workload.columns]
    out += [ratio(cell.median(workload.speed_key), ref.median(workload.speed_key)) for ref in refs.values()]
    if paired:
        out.append(paired_ratio(cell, paired, workload.speed_key))
    out += [ratio(cell.median(workload.memory_key), ref.median(workload.memory_key)) for ref in refs.values()]
    return out


def _runs_cell(cell):
    text = f"{len(cell.ok)}/{len(cell.rows)} ok"
    if cell.failed and cell.ok:
        text += f"; **FAILED**: {cell.failure_summary()}"
    return text


def extra_table(table, cells):
    pattern = re.compile(table.pattern)
    columns = []
    for cell in cells.values():
        for row in cell.ok:
            for key in row:
                match = pattern.match(key)
                if match and (match.group(1), key) not in columns:
                    columns.append((match.group(1), key))
    if not columns:
        return ""
    header = ["allocator"] + [label for label, _ in columns]
    rows = []
    for name, cell in cells.items():
        if cell.ok:
            rows.append([name] + [fmt(cell.median(key), table.unit) for _, key in columns])
        else:
            rows.append([name, "**FAILED**"] + [""] * (len(columns) - 1))
    return f"**{table.title}**\n\n" + md_table(header, rows)


def workload_section(workload, rows, allocator_names, plot_file, timeline_file=None):
    cells = cells_by_allocator(rows, workload.name, allocator_names)
    if not cells:
        return ""
    parts = [f"## {workload.name}", "", workload.description, "", workload_table(workload, cells)]
    for table in workload.extra_tables:
        text = extra_table(table, cells)
        if text:
            parts += ["", text]
    if timeline_file:
        parts += ["", f"![{workload.name}: memory over time]({timeline_file})"]
    if plot_file:
        parts += ["", f"![{workload.name}: speed vs memory]({plot_file})"]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- RESULTS.md
HOW_TO_READ = """\
How to read the tables: every number is the median over the successful repetitions; speed
and the main memory column also show min–max. MB are MiB (kB / 1024). "RSS−LazyFree" is
RSS minus the MADV_FREE pages the kernel has not reclaimed yet (what a memory cgroup could
take back without OOM). Ratios compare medians with the glibc and mimalloc rows (speed:
higher is faster; memory: lower is leaner). "Same repetition" divides each run's speed by
mimalloc's in the same repetition (they ran one after the other) and gives the median of
those ratios and how many repetitions were faster: on a machine whose speed drifts between
repetitions it is steadier than the ratio of medians. A run that crashed, timed out, printed no
result or did not actually use the allocator (the workload reports which library its
malloc came from) shows as **FAILED** with the reason; it never disappears from the table.
All processes are plain C programs (no libstdc++), so a few hundred kB of every RSS figure
is the program itself."""


def write_workload_files(out_dir, workloads, rows, allocator_names, plots):
    os.makedirs(os.path.join(out_dir, "tables"), exist_ok=True)
    sections = []
    for w in workloads:
        plot, timeline = plots.get(w.name), plots.get(f"timeline:{w.name}")
        section = workload_section(w, rows, allocator_names, plot, timeline)
        if not section:
            continue
        sections.append(section)
        table_plot = os.path.join("..", plot) if plot else None
        table_timeline = os.path.join("..", timeline) if timeline else None
        with open(os.path.join(out_dir, "tables", f"{w.name}.md"), "w") as f:
            f.write(workload_section(w, rows, allocator_names, table_plot, table_timeline))
    return sections


def write_results_md(out_dir, meta, workloads, rows, allocators, plots):
    names = [a["name"] for a in allocators]
    sections = write_workload_files(out_dir, workloads, rows, names, plots)
    failed = sum(1 for r in rows if r["status"] != "ok")
    lines = [
        f"# hakmem comparison — {meta['name']}",
        "",
        f"- started {meta['started']}, finished {meta['finished']}, **duration {meta['duration']}**",
        f"- profile `{meta['profile']}`, {meta['reps']} repetition(s) (soak: one run per allocator), "
        f"{len(rows)} runs, {failed} failed",
        f"- command: `{meta['command']}`",
        f"- machine: {meta['machine_summary']} — details in [machine.md](machine.md); "
        f"load average before the run: {meta['loadavg_before']}, after: {meta['loadavg_after']}",
        "- raw data: [runs.csv](runs.csv) (one row per run), time series in `soak/` and `burst-quiet*/`, "
        "per-workload tables in `tables/`, stderr of runs in `logs/`",
        "",
    ]
    if not meta.get("build_ok", True):
        lines += ["**Warning:** the CMake build failed before this run; the hakmem rows used whatever "
                  "library existed (see build.log and machine.md for its build time).", ""]
    lines += [
        "Runs are interleaved: within each repetition every allocator runs a workload before the "
        "next workload starts, so slow drifts of a noisy machine hit all allocators alike.",
        "",
        HOW_TO_READ,
        "",
        "## Allocators",
        "",
        md_table(["row", "LD_PRELOAD", "environment"],
                 [[a["name"], f"`{a['lib']}`" if a["lib"] else "(none)", f"`{a['env']}`" if a["env"] != "-" else "-"]
                  for a in allocators]),
        "",
    ]
    if plots.get("soak-rss"):
        lines += ["## RSS over time (soak)", "", f"![soak RSS over time]({plots['soak-rss']})", ""]
    lines += sections
    programs = os.path.join(out_dir, "programs", "section.md")  # written by compare/run_programs
    if os.path.isfile(programs):
        with open(programs) as f:
            lines += ["", f.read()]
    with open(os.path.join(out_dir, "RESULTS.md"), "w") as f:
        f.write("\n".join(lines))
