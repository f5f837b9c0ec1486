"""PNG plots with gnuplot: soak RSS over time, and speed against memory per workload."""
import csv
import os
import shutil
import subprocess

from .report import cells_by_allocator


# One fixed colour per allocator row (by position), the same in every plot.
PALETTE = ["#1f77b4", "#7fb2e5", "#d62728", "#ff9896", "#2ca02c", "#98df8a", "#9467bd", "#e377c2", "#8c564b",
           "#ff7f0e", "#17becf", "#bcbd22", "#7f7f7f"]


def colour(name, allocator_names):
    index = allocator_names.index(name) if name in allocator_names else len(allocator_names)
    return PALETTE[index % len(PALETTE)]


def gnuplot_terminal():
    """'pngcairo' or 'png', or None when gnuplot is missing or has neither."""
    if not shutil.which("gnuplot"):
        return None
    probe = subprocess.run(["gnuplot", "-e", "set terminal"], capture_output=True, text=True, check=False)
    names = {line.split()[0] for line in (probe.stdout + probe.stderr).splitlines() if line.strip()}
    for terminal in ("pngcairo", "png"):
        if terminal in names:
            return terminal
    return None


def _run_gnuplot(plot_dir, script_name, script):
    path = os.path.join(plot_dir, script_name)
    with open(path, "w") as f:
        f.write(script)
    done = subprocess.run(["gnuplot", script_name], cwd=plot_dir, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"gnuplot {script_name} failed: {done.stderr.strip()[-500:]}")


def _header(terminal, output, title, size="1000,650"):
    return (f"set terminal {terminal} size {size} noenhanced\n"
            f"set output '{output}'\nset title '{title}'\nset grid\nset key outside right top\n")


# ---------------------------------------------------------------- scatter
def scatter_plot(plot_dir, terminal, stem, title, xlabel, ylabel, points, allocator_names):
    """One labelled point per allocator: points = [(name, x, y)]. Returns the PNG name."""
    if not points:
        return None
    data = f"{stem}.dat"
    with open(os.path.join(plot_dir, data), "w") as f:
        for name, x, y in points:
            f.write(f'"{name}" {x:.4f} {y:.6f}\n\n\n')
    xs = [p[1] for p in points]
    # Axes start at zero (a log axis when x spans more than 20x), so distances are honest.
    xaxis = "set logscale x\n" if min(xs) > 0 and max(xs) / min(xs) > 20 else "set xrange [0:*]\n"
    names = " ".join(p[0] for p in points)
    colours = " ".join(colour(p[0], allocator_names) for p in points)
    output = f"{stem}.png"
    script = _header(terminal, output, title)
    script += (f"set xlabel '{xlabel}'\nset ylabel '{ylabel}'\n{xaxis}set yrange [0:*]\n"
               "set offsets 0, graph 0.1, graph 0.1, 0\n"
               f"names = '{names}'\ncolours = '{colours}'\n"
               f"plot for [i=1:words(names)] '{data}' index (i-1) using 2:3 with points pt 7 ps 2 "
               f"lc rgb word(colours, i) title word(names, i), \\\n"
               f"     '{data}' using 2:3:1 with labels offset char 0,1 notitle\n")
    _run_gnuplot(plot_dir, f"{stem}.gp", script)
    return output


def scatter(plot_dir, terminal, workload, rows, allocator_names):
    points = []
    for name, cell in cells_by_allocator(rows, workload.name, allocator_names).items():
        memory, speed = cell.median(workload.memory_key), cell.median(workload.speed_key)
        if memory is not None and speed is not None:
            points.append((name, memory / 1024, speed / 1e6))
    return scatter_plot(plot_dir, terminal, f"scatter-{workload.name}",
                        f"{workload.name}: speed vs memory (medians; up and left is better)",
                        f"{workload.memory_label} (MB)", "Mops/s", points, allocator_names)


# ---------------------------------------------------------------- memory over time
def read_memory_series(path):
    """[(t_sec, rss_kb, rss_minus_lazyfree_kb)] from a time-series CSV, [] when absent."""
    if not os.path.isfile(path):
        return []
    with open(path, newline="") as f:
        return [(float(r["t_sec"]), int(r["rss_kb"]), int(r["rss_minus_lazyfree_kb"])) for r in csv.DictReader(f)]


def memory_timeline_plot(plot_dir, terminal, stem, title, xlabel, series, allocator_names, panels, style,
                         data_prefix=None):
    """Two panels over time, one line per allocator: series = [(name, points)] as from
    read_memory_series; panels = the two of 'rss' / 'net' (RSS - LazyFree) in order."""
    series = [(name, points) for name, points in series if points]
    if not series:
        return None
    plots = []
    for name, points in series:
        data = f"{data_prefix or stem}-{name}.dat"
        with open(os.path.join(plot_dir, data), "w") as f:
            f.writelines(f"{t} {rss / 1024:.3f} {net / 1024:.3f}\n" for t, rss, net in points)
        plots.append((name, data))
    output = f"{stem}.png"
    script = (f"set terminal {terminal} size 1000,900 noenhanced\nset output '{output}'\n"
              f"set grid\nset key outside right top\nset xlabel '{xlabel}'\nset yrange [0:*]\n"
              f"set multiplot layout 2,1 title '{title}'\n")
    for panel in panels:
        column, label = {"rss": (2, "RSS (MB)"), "net": (3, "RSS - LazyFree (MB)")}[panel]
        lines = ", \\\n     ".join(f"'{data}' using 1:{column} with {style} "
                                   f"lc rgb '{colour(name, allocator_names)}' title '{name}'" for name, data in plots)
        script += f"set ylabel '{label}'\nplot {lines}\n"
    script += "unset multiplot\n"
    _run_gnuplot(plot_dir, f"{stem}.gp", script)
    return output


def soak_plot(out_dir, plot_dir, terminal, allocator_names):
    series = [(name, read_memory_series(os.path.join(out_dir, "soak", f"{name}.rep0.csv"))) for name in allocator_names]
    return memory_timeline_plot(plot_dir, terminal, "soak-rss",
                                "soak: the random-mixed loop over time (one run per allocator)", "time (s)",
                                series, allocator_names, ("rss", "net"), "linespoints lw 2 pt 7 ps 0.5",
                                data_prefix="soak")


# ---------------------------------------------------------------- phase timelines (burst-quiet)
def timeline_plot(out_dir, plot_dir, terminal, workload, allocator_names):
    """RSS - LazyFree and RSS over time, one line per allocator (repetition 0)."""
    series = [(name, read_memory_series(os.path.join(out_dir, workload.name, f"{name}.rep0.csv")))
              for name in allocator_names]
    return memory_timeline_plot(plot_dir, terminal, f"timeline-{workload.name}",
                                f"{workload.name}: memory through burst, free and idle (first run)",
                                "time since start (s): burst, free, then idle", series, allocator_names,
                                ("net", "rss"), "lines lw 2")


def make_plots(out_dir, workloads, rows, allocator_names, log):
    """Returns {workload name, 'timeline:<workload>' or 'soak-rss': path relative to out_dir}."""
    terminal = gnuplot_terminal()
    if not terminal:
        log("gnuplot with a png/pngcairo terminal not found (apt-get install gnuplot-nox): no plots")
        return {}
    plot_dir = os.path.join(out_dir, "plots")
    os.makedirs(plot_dir, exist_ok=True)
    plots = {}
    try:
        soak = soak_plot(out_dir, plot_dir, terminal, allocator_names)
        if soak:
            plots["soak-rss"] = f"plots/{soak}"
        for w in workloads:
            output = scatter(plot_dir, terminal, w, rows, allocator_names)
            if output:
                plots[w.name] = f"plots/{output}"
            if w.timeline:
                output = timeline_plot(out_dir, plot_dir, terminal, w, allocator_names)
                if output:
                    plots[f"timeline:{w.name}"] = f"plots/{output}"
    except RuntimeError as err:
        log(str(err))
    return plots
