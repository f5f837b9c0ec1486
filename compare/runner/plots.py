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
def scatter(plot_dir, terminal, workload, rows, allocator_names):
    points = []
    for name, cell in cells_by_allocator(rows, workload.name, allocator_names).items():
        memory, speed = cell.median(workload.memory_key), cell.median(workload.speed_key)
        if memory is not None and speed is not None:
            points.append((name, memory / 1024, speed / 1e6))
    if not points:
        return None
    data = f"scatter-{workload.name}.dat"
    with open(os.path.join(plot_dir, data), "w") as f:
        for name, mb, mops in points:
            f.write(f'"{name}" {mb:.4f} {mops:.6f}\n\n\n')
    xs = [p[1] for p in points]
    # Axes start at zero (a log axis when memory spans more than 20x), so distances are honest.
    xaxis = "set logscale x\n" if min(xs) > 0 and max(xs) / min(xs) > 20 else "set xrange [0:*]\n"
    names = " ".join(p[0] for p in points)
    colours = " ".join(colour(p[0], allocator_names) for p in points)
    output = f"scatter-{workload.name}.png"
    script = _header(terminal, output, f"{workload.name}: speed vs memory (medians; up and left is better)")
    script += (f"set xlabel '{workload.memory_label} (MB)'\nset ylabel 'Mops/s'\n{xaxis}set yrange [0:*]\n"
               "set offsets 0, graph 0.1, graph 0.1, 0\n"
               f"names = '{names}'\ncolours = '{colours}'\n"
               f"plot for [i=1:words(names)] '{data}' index (i-1) using 2:3 with points pt 7 ps 2 "
               f"lc rgb word(colours, i) title word(names, i), \\\n"
               f"     '{data}' using 2:3:1 with labels offset char 0,1 notitle\n")
    _run_gnuplot(plot_dir, f"scatter-{workload.name}.gp", script)
    return output


# ---------------------------------------------------------------- soak
def _soak_series(out_dir, allocator_names):
    series = []
    for name in allocator_names:
        path = os.path.join(out_dir, "soak", f"{name}.rep0.csv")
        if not os.path.isfile(path):
            continue
        with open(path, newline="") as f:
            points = [(float(r["t_sec"]), int(r["rss_kb"]), int(r["rss_minus_lazyfree_kb"])) for r in csv.DictReader(f)]
        if points:
            series.append((name, points))
    return series


def soak_plot(out_dir, plot_dir, terminal, allocator_names):
    series = _soak_series(out_dir, allocator_names)
    if not series:
        return None
    plots = []
    for name, points in series:
        data = f"soak-{name}.dat"
        with open(os.path.join(plot_dir, data), "w") as f:
            f.writelines(f"{t} {rss / 1024:.3f} {net / 1024:.3f}\n" for t, rss, net in points)
        plots.append((name, data))
    output = "soak-rss.png"
    script = (f"set terminal {terminal} size 1000,900 noenhanced\nset output '{output}'\n"
              "set grid\nset key outside right top\nset xlabel 'time (s)'\nset yrange [0:*]\n"
              "set multiplot layout 2,1 title 'soak: the random-mixed loop over time (one run per allocator)'\n")
    for column, label in ((2, "RSS (MB)"), (3, "RSS - LazyFree (MB)")):
        lines = ", \\\n     ".join(f"'{data}' using 1:{column} with linespoints lw 2 pt 7 ps 0.5 "
                                  f"lc rgb '{colour(name, allocator_names)}' title '{name}'" for name, data in plots)
        script += f"set ylabel '{label}'\nplot {lines}\n"
    script += "unset multiplot\n"
    _run_gnuplot(plot_dir, "soak-rss.gp", script)
    return output


# ---------------------------------------------------------------- phase timelines (burst-quiet)
def timeline_plot(out_dir, plot_dir, terminal, workload, allocator_names):
    """RSS - LazyFree and RSS over time, one line per allocator (repetition 0)."""
    plots = []
    for name in allocator_names:
        path = os.path.join(out_dir, workload.name, f"{name}.rep0.csv")
        if not os.path.isfile(path):
            continue
        with open(path, newline="") as f:
            points = [(float(r["t_sec"]), int(r["rss_kb"]), int(r["rss_minus_lazyfree_kb"])) for r in csv.DictReader(f)]
        if not points:
            continue
        data = f"timeline-{workload.name}-{name}.dat"
        with open(os.path.join(plot_dir, data), "w") as f:
            f.writelines(f"{t} {rss / 1024:.3f} {net / 1024:.3f}\n" for t, rss, net in points)
        plots.append((name, data))
    if not plots:
        return None
    output = f"timeline-{workload.name}.png"
    script = (f"set terminal {terminal} size 1000,900 noenhanced\nset output '{output}'\n"
              "set grid\nset key outside right top\nset xlabel 'time since start (s): burst, free, then idle'\n"
              "set yrange [0:*]\n"
              f"set multiplot layout 2,1 title '{workload.name}: memory through burst, free and idle (first run)'\n")
    for column, label in ((3, "RSS - LazyFree (MB)"), (2, "RSS (MB)")):
        lines = ", \\\n     ".join(f"'{data}' using 1:{column} with lines lw 2 "
                                   f"lc rgb '{colour(name, allocator_names)}' title '{name}'" for name, data in plots)
        script += f"set ylabel '{label}'\nplot {lines}\n"
    script += "unset multiplot\n"
    _run_gnuplot(plot_dir, f"timeline-{workload.name}.gp", script)
    return output


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
