"""The workload rows: which binary, which arguments per profile, what the tables show."""
from dataclasses import dataclass, field

PROFILES = ("full", "quick", "tiny")


@dataclass
class Column:
    key: str          # RESULT key (median over the successful repetitions)
    label: str
    unit: str = "mb"  # mb (value in kB shown as MB), mops (ops/s shown as Mops/s), count, float
    spread: bool = False  # also show min-max


@dataclass
class ExtraTable:
    title: str
    pattern: str      # regex over RESULT keys; group 1 names the column
    unit: str


@dataclass
class Workload:
    name: str
    binary: str
    args: dict                      # profile -> argument list
    est_secs: dict                  # profile -> expected seconds per run (ETA, timeout)
    description: str
    speed_key: str = "ops_per_sec"
    memory_key: str = "peak_rss_kb"
    memory_label: str = "peak RSS"
    columns: list = field(default_factory=list)
    extra_tables: list = field(default_factory=list)
    max_reps: int | None = None     # a time series needs one run per allocator
    writes_csv: bool = False        # gets --csv <file>: a time series in <out>/<name>/<allocator>.rep<N>.csv
    timeline: bool = False          # plot its CSV (phase timeline, rep 0) for every allocator row

    def timeout(self, profile, scale):
        return scale * (60 + 10 * self.est_secs[profile])


def _standard_columns(memory_key="peak_rss_kb", memory_label="peak RSS"):
    return [
        Column("ops_per_sec", "Mops/s", "mops", spread=True),
        Column(memory_key, memory_label + " MB", "mb", spread=True),
        Column("rss_minus_lazyfree_kb", "RSS−LazyFree at end MB"),
        Column("minflt", "minor faults", "count"),
    ]


def _random_mixed(threads):
    extra = ["--threads", str(threads)] if threads > 1 else []
    name = "random-mixed" if threads == 1 else f"random-mixed-{threads}t"
    cross = "" if threads == 1 else f" on {threads} threads, one free in eight crossing threads"
    return Workload(
        name, "cmp_random_mixed",
        {"full": extra, "quick": extra + ["--iterations", "4000000"], "tiny": extra + ["--iterations", "200000"]},
        {"full": 1.0, "quick": 0.3, "tiny": 0.05},
        f"Random sizes 16–1024 B over 400 slots per thread{cross}; every page of a block is written.",
        columns=_standard_columns())


def _multi_thread(threads):
    per_thread = {"full": "2000000", "quick": "500000", "tiny": "20000"}
    return Workload(
        f"multi-thread-{threads}", "cmp_multi_thread",
        {p: ["--threads", str(threads), "--mallocs-per-thread", n] for p, n in per_thread.items()},
        {"full": 0.5 * threads, "quick": 0.15 * threads, "tiny": 0.05},
        f"{threads} thread(s), each: batches of 256 blocks (16–1024 B) allocated then freed in random order"
        + ("; 25% of frees cross to the next thread. Each thread does the same work whatever the thread count."
           if threads > 1 else " (no crossing frees: the single-thread baseline of multi-thread-2 and -4)."),
        columns=_standard_columns())


WORKLOADS = [
    _random_mixed(1),
    _random_mixed(2),
    _multi_thread(1),
    _multi_thread(2),
    _multi_thread(4),
    Workload(
        "producer-consumer", "cmp_producer_consumer",
        {"full": ["--items", "4000000"], "quick": ["--items", "1000000"], "tiny": ["--items", "20000"]},
        {"full": 1.5, "quick": 0.4, "tiny": 0.05},
        "One thread allocates and writes blocks of 16–1024 B, a second thread checks and frees them "
        "(1024-entry queue): every free is a cross-thread free.",
        columns=_standard_columns()),
    Workload(
        "size-sweep", "cmp_size_sweep",
        {"full": ["--secs-per-size", "0.3"], "quick": ["--secs-per-size", "0.05"],
         "tiny": ["--secs-per-size", "0.01"]},
        {"full": 3.5, "quick": 0.7, "tiny": 0.2},
        "Fixed-size loops (16 B … 4 MiB, 16 blocks alive, every page written): free the oldest block, "
        "allocate a new one. The speed column is the geometric mean over the sizes.",
        speed_key="geomean_ops_per_sec",
        columns=[Column("geomean_ops_per_sec", "geomean Mops/s", "mops", spread=True),
                 Column("peak_rss_kb", "peak RSS MB", "mb", spread=True),
                 Column("minflt", "minor faults", "count")],
        extra_tables=[ExtraTable("Throughput per block size (Mops/s, median)", r"ops_per_sec_(\w+)$", "mops"),
                      ExtraTable("Minor page faults per operation (median)", r"faults_per_op_(\w+)$", "float")]),
    Workload(
        "phases", "cmp_phases",
        {"full": [], "quick": ["--cycles", "2"],
         "tiny": ["--phases", "32:20000,2048:2000,65536:60", "--cycles", "2"]},
        {"full": 1.0, "quick": 0.6, "tiny": 0.1},
        "Phases of 200,000 × 32 B, 20,000 × 2 KiB and 600 × 64 KiB blocks, three cycles; about one block "
        "in 16 survives until the same phase of the next cycle. 'final' is after the last phase, "
        "survivors alive; 'after free all' once every block is freed.",
        columns=[Column("ops_per_sec", "Mops/s", "mops", spread=True),
                 Column("peak_rss_kb", "peak RSS MB", "mb", spread=True),
                 Column("rss_kb", "final RSS MB"),
                 Column("rss_minus_lazyfree_kb", "final RSS−LazyFree MB"),
                 Column("after_free_all_rss_minus_lazyfree_kb", "after free all RSS−LazyFree MB"),
                 Column("minflt", "minor faults", "count")],
        extra_tables=[ExtraTable("RSS − LazyFree after each phase (MB, median)",
                                 r"phase(\d+)_rss_minus_lazyfree_kb$", "mb")]),
]


def _burst_idle(keep_every):
    extra = ["--keep-every", str(keep_every)] if keep_every else []
    sizes = {"full": ["--burst-mb", "128", "--idle-secs", "3"], "quick": ["--burst-mb", "64", "--idle-secs", "1.5"],
             "tiny": ["--burst-mb", "4", "--idle-secs", "0.2"]}
    kept = f", keeping every {keep_every}th block alive" if keep_every else ""
    return Workload(
        "burst-idle" + (f"-keep{keep_every}" if keep_every else ""), "cmp_burst_idle",
        {p: extra + a for p, a in sizes.items()},
        {"full": 4.0, "quick": 1.8, "tiny": 0.4},
        f"Allocate a burst of blocks (16–512 B; 128 MiB in the full run, 64 MiB in --quick), free it{kept}, "
        "then idle (3 s full, 1.5 s quick) with 4 small malloc/free every 10 ms. Speed is the burst's "
        "malloc+free rate; the memory that matters is RSS − LazyFree after the idle period, and how far "
        "it is above where it was before the burst ('left after idle'). The workload's own array of "
        "block pointers is given back after the frees, so these figures are the allocator's.",
        memory_key="after_idle_rss_minus_lazyfree_kb", memory_label="RSS−LazyFree after idle",
        columns=[Column("ops_per_sec", "burst Mops/s", "mops", spread=True),
                 Column("at_peak_rss_kb", "peak RSS MB"),
                 Column("after_free_rss_kb", "after free RSS MB"),
                 Column("after_free_rss_minus_lazyfree_kb", "after free RSS−LazyFree MB"),
                 Column("after_idle_rss_kb", "after idle RSS MB"),
                 Column("after_idle_rss_minus_lazyfree_kb", "after idle RSS−LazyFree MB", spread=True),
                 Column("before_rss_minus_lazyfree_kb", "before burst RSS−LazyFree MB"),
                 Column("idle_growth_rss_minus_lazyfree_kb", "left after idle: RSS−LazyFree MB"),
                 Column("idle_growth_rss_kb", "left after idle: RSS MB"),
                 Column("burst_minflt", "burst faults", "count"),
                 Column("idle_minflt", "idle faults", "count")])


WORKLOADS += [_burst_idle(0), _burst_idle(64)]

WORKLOADS.append(Workload(
    "soak", "cmp_soak",
    {"full": ["--secs", "120", "--epoch-secs", "2"], "quick": ["--secs", "4", "--epoch-secs", "0.25"],
     "tiny": ["--secs", "0.3", "--epoch-secs", "0.1"]},
    {"full": 121.0, "quick": 4.1, "tiny": 0.35},
    "The random-mixed loop for a fixed time (120 s in the full run, 4 s in --quick), sampling RSS "
    "every epoch; one run per allocator. See the RSS-over-time plot.",
    columns=[Column("ops_per_sec", "Mops/s", "mops"),
             Column("peak_rss_kb", "peak RSS MB"),
             Column("rss_kb", "final RSS MB"),
             Column("rss_minus_lazyfree_kb", "final RSS−LazyFree MB"),
             Column("minflt", "minor faults", "count")],
    max_reps=1, writes_csv=True))


def _burst_quiet(objects, idle):
    label = {125000: "", 1000000: "-1m"}[objects]
    mib = {125000: 64, 1000000: 512}[objects]
    name = "burst-quiet" + ("-none" if idle == "none" else "") + label
    base = ["--objects", str(objects), "--idle", idle]
    idle_text = ("does free(malloc(64)) every 10 ms: one size class stays in use, the burst's classes go quiet"
                 if idle == "one" else "makes no allocator call at all (only a background thread can release)")
    return Workload(
        name, "cmp_burst_quiet",
        {"full": base, "quick": base, "tiny": ["--objects", "5000", "--idle", idle, "--idle-secs", "0.3"]},
        {"full": 4.0 + objects / 250000, "quick": 4.0 + objects / 250000, "tiny": 0.5},
        f"{objects:,} blocks of 16 + (37·i mod 1009) B (a {mib} MiB burst), each written with memset; all but "
        f"every 64th freed; then 3 s idle that {idle_text}. 'floor' is the 4 KiB pages that still hold a "
        "survivor (from their addresses), so 'above floor' is what the allocator keeps beyond what it must. "
        "Burst s is the time of the mallocs and frees; faults are minor page faults. The timeline plot shows "
        "RSS − LazyFree through burst, free and idle (first repetition).",
        memory_key="after_idle_rss_minus_lazyfree_kb", memory_label="RSS−LazyFree after idle",
        columns=[Column("ops_per_sec", "burst Mops/s", "mops", spread=True),
                 Column("secs", "burst s", "float"),
                 Column("burst_minflt", "burst faults", "count"),
                 Column("at_peak_rss_kb", "peak RSS MB"),
                 Column("after_free_rss_minus_lazyfree_kb", "after free RSS−LazyFree MB"),
                 Column("idle1s_rss_minus_lazyfree_kb", "idle 1 s RSS−LazyFree MB"),
                 Column("after_idle_rss_minus_lazyfree_kb", "idle 3 s RSS−LazyFree MB", spread=True),
                 Column("after_idle_rss_kb", "idle 3 s RSS MB"),
                 Column("floor_kb", "floor MB"),
                 Column("hakmem_floor_kb", "hakmem's floor (HAKMEM_STATS) MB"),
                 Column("over_floor_rss_minus_lazyfree_kb", "above floor: RSS−LazyFree MB"),
                 Column("over_floor_rss_kb", "above floor: RSS MB"),
                 Column("idle_minflt", "idle faults", "count")],
        writes_csv=True, timeline=True)


WORKLOADS += [_burst_quiet(125000, "one"), _burst_quiet(1000000, "one"),
              _burst_quiet(125000, "none"), _burst_quiet(1000000, "none")]


WORKLOADS.append(Workload(
    "pressure", "cmp_pressure",
    {"full": [], "quick": [], "tiny": ["--phase1-mb", "2"]},
    {"full": 1.5, "quick": 1.5, "tiny": 0.1},
    "Phase 1: 36 MiB of blocks of 16 + (37·i mod 1009) B, each written with memset, all but every 64th "
    "freed; phase 2: as many blocks of (2048 + 13·i mod 2048)/4 B (512–1023 B), written and kept. The "
    "program never holds more than phase 2 plus the survivors ('live'), so an allocator that reuses or "
    "releases phase 1's free pages before committing new ones peaks near it. Peak RSS is VmHWM, what a "
    "memory cgroup counts (lazily freed pages included); peak RSS − LazyFree is sampled 64 times in phase 2.",
    memory_key="peak_rss_kb", memory_label="peak RSS",
    columns=[Column("ops_per_sec", "Mops/s", "mops", spread=True),
             Column("peak_rss_kb", "peak RSS MB", "mb", spread=True),
             Column("peak_rss_minus_lazyfree_kb", "peak RSS−LazyFree MB"),
             Column("live_kb", "live MB"),
             Column("after_free_rss_kb", "after phase-1 free RSS MB"),
             Column("after_free_rss_minus_lazyfree_kb", "after phase-1 free RSS−LazyFree MB"),
             Column("rss_minus_lazyfree_kb", "end RSS−LazyFree MB"),
             Column("over_live_rss_minus_lazyfree_kb", "end above live: RSS−LazyFree MB"),
             Column("phase1_minflt", "phase-1 faults", "count"),
             Column("phase2_minflt", "phase-2 faults", "count")]))


# ---------------------------------------------------------------- issue 14: patterns users run
def _timed_columns():
    """The standard columns with the run's time first: for the workloads whose rate is low."""
    return [Column("secs", "s", "float", spread=True)] + _standard_columns()


def _large_replace(zero):
    base = ["--zero", zero]
    how = {"new": "zero-initialised as `new char[n]()` does it (malloc, then a memset of zeros)",
           "calloc": "zero-initialised with calloc (which may skip clearing memory it knows is zero)"}[zero]
    return Workload(
        "large-replace" + ("" if zero == "new" else f"-{zero}"), "cmp_large_replace",
        {"full": base, "quick": base + ["--replacements", "100"],
         "tiny": base + ["--buffers", "4", "--min-size", "1M", "--max-size", "3M", "--replacements", "20"]},
        {"full": 2.0, "quick": 1.2, "tiny": 0.05},
        f"20 buffers of 5–25 MiB, {how}; 200 times a random one is freed and replaced by one of a new random "
        "size. Every page is written and checked. An allocator that maps and faults in each new buffer pays a "
        "page fault per 4 KiB; one that reuses freed memory across sizes pays the memset. Speed is mallocs plus "
        "frees per second (the s column is the whole run).",
        columns=_timed_columns())


def _thread_churn(rounds):
    quick = {500: "200", 2500: "1000"}[rounds]
    return Workload(
        f"thread-churn-{rounds}", "cmp_thread_churn",
        {"full": ["--rounds", str(rounds)], "quick": ["--rounds", quick], "tiny": ["--rounds", "10"]},
        {"full": rounds / 1000, "quick": int(quick) / 1000, "tiny": 0.05},
        f"{rounds} rounds of 10 threads started and joined; each thread callocs one 128 B object, swaps it into a "
        "random one of 10 shared slots and frees the object it took out (allocated by another thread, most often "
        "one that has exited). Measures thread start and exit in the allocator.",
        columns=_timed_columns())


def _write_many(threads):
    extra = ["--threads", str(threads)]
    return Workload(
        f"write-many-{threads}t", "cmp_write_many",
        {"full": extra, "quick": extra + ["--iterations", "50000"], "tiny": extra + ["--iterations", "2000"]},
        {"full": 1.0, "quick": 0.3, "tiny": 0.05},
        f"{threads} thread(s), each 200,000 times: malloc 32 B, write it all, write one byte 500 times, check, "
        "free. Nothing is shared: objects of two threads in one cache line (false sharing) or far from the "
        "thread's hot lines show up as time.",
        columns=_standard_columns())


WORKLOADS += [
    _large_replace("new"),
    _large_replace("calloc"),
    Workload(
        "realloc-grow", "cmp_realloc_grow",
        {"full": [], "quick": ["--rounds", "5"], "tiny": ["--rounds", "2", "--max", "8M", "--side", "1M"]},
        {"full": 2.0, "quick": 1.0, "tiny": 0.05},
        "20 rounds: a buffer grown with realloc from 1 MiB to 96 MiB a quarter at a time (as a growing array or "
        "string does), every page written after each step, a 4 MiB block allocated and written between steps "
        "(the buffer cannot just extend behind itself); then everything is freed. Copying, moving pages with "
        "mremap and reusing freed memory show up as time and page faults. Speed is reallocs, mallocs and frees "
        "per second (the s column is the whole run).",
        columns=_timed_columns()),
    _thread_churn(500),
    _thread_churn(2500),
    Workload(
        "simple-loop", "cmp_simple_loop",
        {"full": [], "quick": ["--ops-per-case", "500000"], "tiny": ["--ops-per-case", "20000"]},
        {"full": 2.0, "quick": 0.6, "tiny": 0.05},
        "One thread, glibc's malloc benchmark shape: for each size 16, 32, … 1024 B and each count 1, 25, 100, "
        "400, repeatedly malloc that many blocks (one byte written) and free them in allocation order; 2 M "
        "mallocs+frees per pair. The speed is over all pairs; the extra table has each.",
        columns=_standard_columns(),
        extra_tables=[ExtraTable("Throughput per size × live blocks (Mops/s, median)", r"ops_per_sec_(\w+)$",
                                 "mops")]),
    Workload(
        "xthread-stress", "cmp_xthread_stress",
        {"full": [], "quick": ["--rounds", "100"], "tiny": ["--rounds", "5", "--ops-per-round", "2000"]},
        {"full": 1.0, "quick": 0.5, "tiny": 0.05},
        "2 threads × 200 rounds × 20,000 operations on 1,000 slots each: an empty slot gets an object of "
        "16–2048 B, a full one is freed or (one in ten) passed to the other thread, which keeps it in a random "
        "slot of its own until it is freed there. Objects are checked by the thread that frees them.",
        columns=_standard_columns()),
    Workload(
        "thread-stress", "cmp_thread_stress",
        {"full": [], "quick": ["--rounds", "10"], "tiny": ["--rounds", "2", "--scale", "2"]},
        {"full": 0.6, "quick": 0.3, "tiny": 0.05},
        "A stress test of the kind allocator projects run (our own program): 20 rounds, each starting 8 "
        "threads doing 25,000 operations: allocate (16–256 B; 1 in 100 1–32 KiB; 1 in 10,000 64 KiB–1 MiB), free "
        "a random live object, or swap one with a slot of a 1,000-slot array shared by all threads and rounds.",
        columns=_standard_columns()),
    _write_many(1),
    _write_many(2),
    Workload(
        "bursts-2t", "cmp_bursts",
        {"full": [], "quick": ["--bursts", "200"], "tiny": ["--bursts", "10", "--max-burst", "500"]},
        {"full": 0.6, "quick": 0.3, "tiny": 0.05},
        "2 threads, each 400 times: malloc a burst of 1–5,000 objects of 16–4096 B (every page written), then "
        "free the burst in random order. A thread holds nothing between bursts, so peak RSS is what the "
        "allocator keeps: caches, rounding, partly used slabs.",
        columns=_standard_columns()),
]


def select(names):
    """Workloads by exact name or name prefix ('multi-thread' selects all three), in table order."""
    if not names:
        return list(WORKLOADS)
    chosen = []
    for name in names:
        hits = [w for w in WORKLOADS if w.name == name] or [w for w in WORKLOADS if w.name.startswith(name)]
        if not hits:
            raise ValueError(f"unknown workload {name!r}; known: {', '.join(w.name for w in WORKLOADS)}")
        chosen += [w for w in hits if w not in chosen]
    return [w for w in WORKLOADS if w in chosen]
