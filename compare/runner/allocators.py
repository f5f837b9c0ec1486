"""The allocator rows: how each one is loaded and configured."""
import glob
import os
import subprocess
from dataclasses import dataclass, field


@dataclass
class Allocator:
    name: str
    lib: str | None = None          # LD_PRELOAD path; None = the process's own glibc malloc
    env: dict = field(default_factory=dict)
    package: str | None = None      # Debian package providing lib
    optional: bool = False          # skipped quietly when missing
    missing: str | None = None      # why it cannot run; its rows are reported as FAILED

    def describe_env(self):
        return " ".join(f"{k}={v}" for k, v in self.env.items()) or "-"


# Variables that select or tune an allocator; cleared before each run so that only the
# row's own settings apply.
_ALLOCATOR_ENV_PREFIXES = ("LD_PRELOAD", "MALLOC_", "GLIBC_TUNABLES", "MIMALLOC_", "HAKMEM_", "TCMALLOC_",
                           "JE_MALLOC_CONF")

_MIMALLOC_LIB = "libmimalloc.so.2"
_JEMALLOC_LIB = "libjemalloc.so.2"
_TCMALLOC_LIB = "libtcmalloc_minimal.so.4"

# mimalloc 2.0.x (Debian 12) reads MIMALLOC_PAGE_RESET, MIMALLOC_DECOMMIT_DELAY (its old name
# MIMALLOC_RESET_DELAY is deprecated and warns) and MIMALLOC_SEGMENT_DECOMMIT_DELAY;
# MIMALLOC_PURGE_DELAY is the mimalloc >= 2.1 name and is ignored by 2.0.
MIMALLOC_TUNED_ENV = {"MIMALLOC_PAGE_RESET": "1", "MIMALLOC_DECOMMIT_DELAY": "0",
                      "MIMALLOC_SEGMENT_DECOMMIT_DELAY": "0", "MIMALLOC_PURGE_DELAY": "0"}
GLIBC_TUNED_ENV = {"GLIBC_TUNABLES": "glibc.malloc.tcache_count=0", "MALLOC_TRIM_THRESHOLD_": "0"}
JEMALLOC_TUNED_ENV = {"MALLOC_CONF": "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"}


def default_allocators(hakmem_lib):
    mimalloc, jemalloc, tcmalloc = (find_library(n) for n in (_MIMALLOC_LIB, _JEMALLOC_LIB, _TCMALLOC_LIB))
    return [
        Allocator("glibc"),
        Allocator("glibc-tuned", env=dict(GLIBC_TUNED_ENV)),
        Allocator("mimalloc", mimalloc or _MIMALLOC_LIB, package="libmimalloc2.0"),
        Allocator("mimalloc-tuned", mimalloc or _MIMALLOC_LIB, dict(MIMALLOC_TUNED_ENV), package="libmimalloc2.0"),
        Allocator("jemalloc", jemalloc or _JEMALLOC_LIB, package="libjemalloc2"),
        Allocator("jemalloc-tuned", jemalloc or _JEMALLOC_LIB, dict(JEMALLOC_TUNED_ENV), package="libjemalloc2"),
        Allocator("hakmem-fast", hakmem_lib, {"HAKMEM_MEM_LEAN": "0"}),
        Allocator("hakmem-lean", hakmem_lib, {"HAKMEM_MEM_LEAN": "1"}),
        # LEAN with MADV_DONTNEED as the first stage: RSS itself drops, not only RSS - LazyFree.
        Allocator("hakmem-lean-dontneed", hakmem_lib, {"HAKMEM_MEM_LEAN": "1", "HAKMEM_MEM_LEAN_DECOMMIT": "DONTNEED"}),
        Allocator("tcmalloc", tcmalloc or _TCMALLOC_LIB, package="libtcmalloc-minimal4", optional=True),
    ]


def select(rows, names, extra_specs=(), extra_env=()):
    """The rows named in names (all rows when empty), in that order, plus --extra-allocator rows.
    A row asked for by name is shown even when its library is missing."""
    if names:
        known = {a.name: a for a in rows}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown allocator(s) {', '.join(unknown)}; known: {', '.join(known)}")
        rows = [known[n] for n in names]
        for a in rows:
            a.optional = False
    return rows + [parse_extra(spec, extra_env) for spec in extra_specs]


def portable_path(path, repo):
    """How results that are committed name a file: relative to the repository when it is inside
    it, else by its file name (the soname, for a system library), never this machine's path."""
    if not path:
        return path
    # The directory is resolved, the file name kept: libhakmem.so is a link to
    # libhakmem.so.MAJOR.MINOR.PATCH, and results name the library as it was given.
    real = os.path.join(os.path.realpath(os.path.dirname(os.path.abspath(path))), os.path.basename(path))
    root = os.path.realpath(repo)
    if real.startswith(root + os.sep):
        return os.path.relpath(real, root)
    # Built in another checkout of hakmem (a worktree): relative to that checkout.
    build = real.rfind(os.sep + "build" + os.sep)
    if build > 0 and os.path.isfile(os.path.join(real[:build], "CMakePresets.json")):
        return real[build + 1:]
    if os.path.isabs(path):
        return os.path.basename(path)
    return path


def parse_extra(spec, extra_env):
    """NAME=LIB (LIB may be empty for no preload) plus NAME:KEY=VALUE items from --extra-env."""
    name, sep, lib = spec.partition("=")
    if not sep or not name:
        raise ValueError(f"--extra-allocator wants NAME=LIB, got {spec!r}")
    env = {}
    for item in extra_env:
        owner, _, assignment = item.partition(":")
        key, sep, value = assignment.partition("=")
        if owner == name and sep:
            env[key] = value
    # A bare soname that is no file here is looked up as the loader would: the
    # results name system libraries by file name only (portable_path), and the
    # command they record must run again as written.
    if lib and os.sep not in lib and not os.path.isfile(lib):
        lib = find_library(lib) or lib
    return Allocator(name, os.path.abspath(lib) if lib else None, env)


def find_library(soname):
    """Path of a shared library by soname, from the ld.so cache or the usual directories."""
    try:
        cache = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    except OSError:
        cache = ""
    for line in cache.splitlines():
        name, sep, path = line.strip().partition(" => ")
        if sep and name.split(" ")[0] == soname and os.path.isfile(path):
            return path
    for pattern in ("/usr/lib/*-linux-gnu/", "/usr/lib64/", "/usr/lib/", "/usr/local/lib/"):
        hits = glob.glob(pattern + soname)
        if hits:
            return hits[0]
    return None


def run_env(allocator):
    env = {k: v for k, v in os.environ.items() if not k.startswith(_ALLOCATOR_ENV_PREFIXES)}
    env.update(allocator.env)
    if allocator.lib:
        env["LD_PRELOAD"] = allocator.lib
    return env


def check_available(allocators, may_install, log, install_hint="run as root to install it"):
    """Marks allocators whose library is missing; installs packages when allowed (root).
    Returns the allocators to run: optional ones that are missing are dropped."""
    result = []
    for alloc in allocators:
        if alloc.lib and not os.path.isfile(alloc.lib):
            _try_install(alloc, may_install, log, install_hint)
        if alloc.lib and not os.path.isfile(alloc.lib):
            hint = f"apt-get install {alloc.package}" if alloc.package else "build it or pass its path"
            alloc.missing = f"library not found: {alloc.lib} ({hint})"
            if alloc.optional:
                log(f"skipping optional allocator {alloc.name}: {alloc.missing}")
                continue
            log(f"allocator {alloc.name}: {alloc.missing}; its rows will show FAILED")
        result.append(alloc)
    return result


def _try_install(alloc, may_install, log, install_hint):
    if not alloc.package:
        return
    if not may_install:
        log(f"{alloc.name}: package {alloc.package} is not installed ({install_hint})")
        return
    log(f"{alloc.name}: installing {alloc.package} with apt-get")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", alloc.package]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    if subprocess.run(cmd, env=env, capture_output=True, check=False).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, capture_output=True, check=False)
        subprocess.run(cmd, env=env, capture_output=True, check=False)
    found = find_library(os.path.basename(alloc.lib))
    if found:
        alloc.lib = found
