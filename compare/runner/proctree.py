"""Runs any program and measures it from outside: the memory of its whole process tree over
time (sampled from /proc/PID/smaps_rollup) and its resource usage (wait4)."""
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field


@dataclass
class Sample:
    t_sec: float
    rss_kb: int                 # sum over the process tree
    rss_minus_lazyfree_kb: int
    procs: int


@dataclass
class Measurement:
    returncode: int | None      # None: killed at the timeout
    wall_secs: float
    user_secs: float
    sys_secs: float
    maxrss_kb: int              # the kernel's high-water mark of the largest process (exact)
    minflt: int
    majflt: int
    samples: list = field(default_factory=list)
    lib_seen: bool | None = None  # a preloaded library was seen mapped; None: nothing was sampled
    linked_allocators: set = field(default_factory=set)  # other malloc libraries the program maps itself

    def peak(self, key):
        return max((getattr(s, key) for s in self.samples), default=0)


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:  # the process exited between listing and reading
        return ""


def _children(pid):
    text = ""
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            text += _read(f"/proc/{pid}/task/{tid}/children") + " "
    except OSError:
        return []
    return [int(c) for c in text.split()]


def process_tree(root):
    """root and all its descendants that are still alive."""
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo += _children(pid)
    return tree


def rollup_kb(pid):
    """(Rss, LazyFree) of one process in kB from smaps_rollup; (0, 0) once it has exited."""
    rss = lazy = 0
    for line in _read(f"/proc/{pid}/smaps_rollup").splitlines():
        if line.startswith("Rss:"):
            rss = int(line.split()[1])
        elif line.startswith("LazyFree:"):
            lazy = int(line.split()[1])
    return rss, lazy


ALLOCATOR_LIBS = re.compile(r"/(lib(?:jemalloc|tcmalloc\w*|mimalloc)\.so[.\d]*)$")


def maps_library(pid, lib):
    real = os.path.realpath(lib)
    return any(line.endswith(real) or line.endswith(lib) for line in _read(f"/proc/{pid}/maps").splitlines())


def _exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


def mapped_allocators(pid):
    """File names of the malloc libraries other than glibc's that a process has mapped (a
    program may link one itself, as Debian's redis-server links libjemalloc)."""
    found = set()
    for line in _read(f"/proc/{pid}/maps").splitlines():
        match = ALLOCATOR_LIBS.search(line)
        if match:
            found.add(match.group(1))
    return found


def run_sampled(cmd, env, sample_secs, timeout, stdout, stderr, watch_lib=None):
    """Runs cmd (stdin from /dev/null, in its own session so a timeout kills the whole tree),
    sampling the tree every sample_secs. watch_lib: a library whose mapping is looked for in
    the sampled processes until it is seen once."""
    start = time.monotonic()
    proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                            start_new_session=True)
    samples, lib_seen, status, usage, linked, looked_at = [], None, None, None, set(), set()
    deadline = start + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        now = time.monotonic()
        if now > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            _, status, usage = os.wait4(proc.pid, 0)
            status = None
            break
        tree = process_tree(proc.pid)
        figures = [rollup_kb(p) for p in tree]
        rss = sum(r for r, _ in figures)
        if rss:
            samples.append(Sample(round(now - start, 4), rss, rss - sum(l for _, l in figures), len(tree)))
            if watch_lib and not lib_seen:
                lib_seen = any(maps_library(p, watch_lib) for p in tree)
            if not watch_lib:  # each program of the tree once: linked libraries are mapped at its start
                for p in tree:
                    key = (p, _exe(p))
                    if key not in looked_at:
                        looked_at.add(key)
                        linked |= mapped_allocators(p)
        time.sleep(max(0.0, sample_secs - (time.monotonic() - now)))
    wall = time.monotonic() - start
    proc.returncode = -1  # reaped above with wait4; keeps Popen from waiting again
    _kill_leftovers(proc.pid)
    code = None if status is None else os.waitstatus_to_exitcode(status)
    return Measurement(code, wall, usage.ru_utime, usage.ru_stime, usage.ru_maxrss, usage.ru_minflt,
                       usage.ru_majflt, samples, lib_seen, linked)


def _kill_leftovers(session):
    """A program may leave daemons behind (a server it started); the next run must not meet them."""
    try:
        os.killpg(session, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
