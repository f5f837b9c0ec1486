"""machine.md: what the numbers were measured on."""
import os
import platform
import subprocess
import time

from .allocators import portable_path

PACKAGES = ["libc6", "libmimalloc2.0", "libjemalloc2", "libtcmalloc-minimal4", "gnuplot-nox", "g++", "cmake"]


def _read(path, default="?"):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def _command(cmd):
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired):
        return None


def cpu_model():
    for line in _read("/proc/cpuinfo", "").splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


def mem_total():
    for line in _read("/proc/meminfo", "").splitlines():
        if line.startswith("MemTotal:"):
            return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    return "?"


def loadavg():
    return " ".join(_read("/proc/loadavg", "? ? ?").split()[:3])


def summary():
    return f"{cpu_model()}, {os.cpu_count()} CPUs, Linux {platform.release()}"


def package_versions():
    out = _command(["dpkg-query", "-W", "-f", "${Package}\t${Version}\t${db:Status-Status}\n"] + PACKAGES) or ""
    versions = {}
    for line in out.splitlines():
        name, version, status = (line.split("\t") + ["", ""])[:3]
        versions[name] = version if status == "installed" else f"not installed ({status or 'unknown'})"
    return [(p, versions.get(p, "not installed")) for p in PACKAGES]


def _file_info(path, repo):
    shown = portable_path(path, repo)
    if not path or not os.path.isfile(path):
        return f"`{shown}` (missing)"
    st = os.stat(path)
    return f"`{shown}`, {st.st_size:,} bytes, built {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(st.st_mtime))}"


def write_machine_md(path, repo, hakmem_lib):
    rows = [
        ("CPU", cpu_model()),
        ("CPUs (os.cpu_count / usable)", f"{os.cpu_count()} / {len(os.sched_getaffinity(0))}"),
        ("memory", mem_total()),
        ("kernel", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("virtualisation", _command(["systemd-detect-virt"]) or "unknown (systemd-detect-virt unavailable)"),
        ("THP enabled", _read("/sys/kernel/mm/transparent_hugepage/enabled")),
        ("THP defrag", _read("/sys/kernel/mm/transparent_hugepage/defrag")),
        ("load average (1/5/15 min) when written", loadavg()),
        ("compiler", (_command(["c++", "--version"]) or "?").splitlines()[0]),
        ("hakmem library", _file_info(hakmem_lib, repo)),
        ("hakmem source", _command(["git", "-C", repo, "describe", "--always", "--dirty"]) or "no commit yet"),
    ]
    lines = ["# Machine", "", "| | |", "|---|---|"] + [f"| {k} | {v} |" for k, v in rows]
    lines += ["", "## Library versions (dpkg-query)", "", "| package | version |", "|---|---|"]
    lines += [f"| {p} | {v} |" for p, v in package_versions()]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
