// Multi-threaded allocator stress program.
//
// Built twice from this one source:
//   hk_stress       (HK_STRESS_HK=1) links hakmem_core and calls the hk_* API;
//                   runs plain, under ASan+UBSan and under TSan.
//   hk_stress_libc  calls the plain malloc family; run with LD_PRELOAD=libhakmem.so.
//
// Scenarios (first argument):
//   mixed    N threads, random sizes over every class up to ~1 MiB, aligned
//            allocations, calloc/realloc, objects handed between threads through
//            queues, threads retired and replaced during the run.
//   churn    thousands of short-lived threads allocate and exit while long-lived
//            threads free their objects; RSS must not grow without bound.
//   fork     fork() repeatedly while other threads are inside the allocator; each
//            child allocates, checks, frees and _exit(0)s.
//   fork-init  fork() in fresh processes while other threads are still inside
//            the allocator's one-time initialisation (each attempt re-executes
//            this program).
//   signals  mixed workload while a SIGALRM timer fires at a high rate; the
//            handler only increments a counter.
//
// Every object is filled with a pattern derived from its address and size and
// checked before it is freed; any mismatch aborts with a message.
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

#include "hakmem.h"  // hakmem_stats_t; the libc flavour looks the functions up with dlsym

#if HK_STRESS_HK
#define A_MALLOC hk_malloc
#define A_FREE hk_free
#define A_CALLOC hk_calloc
#define A_REALLOC hk_realloc
#define A_MEMALIGN hk_memalign
#define A_ALIGNED_ALLOC hk_aligned_alloc
#define A_POSIX_MEMALIGN hk_posix_memalign
#define A_USABLE hk_malloc_usable_size
static const char* kFlavor = "hk_*";
#else
#define A_MALLOC malloc
#define A_FREE free
#define A_CALLOC calloc
#define A_REALLOC realloc
#define A_MEMALIGN memalign
#define A_ALIGNED_ALLOC aligned_alloc
#define A_POSIX_MEMALIGN posix_memalign
#define A_USABLE malloc_usable_size
static const char* kFlavor = "libc malloc (expects LD_PRELOAD=libhakmem.so)";
#endif

namespace {

// ---------------------------------------------------------------------------
// failure reporting (async-signal-safe enough for a child after fork)

[[noreturn]] void die(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  (void)!write(2, "hk_stress: FAIL: ", 17);
  (void)!write(2, buf, n);
  abort();
}

// ---------------------------------------------------------------------------
// options

struct Opts {
  int threads = 4;
  long ops = 200000;        // per thread life (mixed/signals) or per background thread
  double seconds = 10;      // wall-clock bound on the run
  int lives = 3;            // mixed: how many times each worker slot is replaced
  int churn_threads = 3000; // churn: total short-lived threads
  int churn_concurrent = 4;
  int churn_rounds = 10;
  long rss_growth_mb = 64;  // churn: allowed RSS growth from round 1 to the last
  int forks = 200;
  int signal_us = 200;      // signals: timer period
  uint64_t seed = 1;
  bool require_hakmem = true;
};
Opts g_opt;

// ---------------------------------------------------------------------------
// hakmem entry points: always present in hk_stress; in the libc flavour they
// are found only when libhakmem.so is preloaded (which the test requires).

#if HK_STRESS_HK
void (*g_collect)(int) = hakmem_collect;
int (*g_stats)(hakmem_stats_t*) = hakmem_stats;
void bind_hakmem() {}
#else
void (*g_collect)(int) = nullptr;
int (*g_stats)(hakmem_stats_t*) = nullptr;
void bind_hakmem() {
  g_collect = reinterpret_cast<void (*)(int)>(dlsym(RTLD_DEFAULT, "hakmem_collect"));
  g_stats = reinterpret_cast<int (*)(hakmem_stats_t*)>(dlsym(RTLD_DEFAULT, "hakmem_stats"));
  void* m = dlsym(RTLD_DEFAULT, "malloc");
  Dl_info info{};
  bool ours = m && dladdr(m, &info) && info.dli_fname && strstr(info.dli_fname, "hakmem");
  if (g_opt.require_hakmem && (!g_collect || !g_stats || !ours))
    die("libhakmem.so is not preloaded (malloc resolves to %s); set LD_PRELOAD or pass --no-require-hakmem",
        info.dli_fname ? info.dli_fname : "?");
}
#endif

// ---------------------------------------------------------------------------
// random numbers

struct Rng {
  uint64_t s;
  explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull) {
    if (!s) s = 1;
  }
  uint64_t next() {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545F4914F6CDD1Dull;
  }
  uint64_t below(uint64_t n) { return next() % n; }
};

// Sizes across every small class and into large allocations (up to ~1 MiB).
size_t random_size(Rng& r) {
  // Large blocks are rare: filling and checking them (and faulting their
  // pages in) dominates the run time otherwise.
  uint64_t k = r.below(1000);
  if (k < 600) return 1 + r.below(256);              // fine classes
  if (k < 880) return 257 + r.below(4096 - 256);     // coarse classes
  if (k < 985) return 4097 + r.below(32768 - 4096);  // up to the largest small class
  if (k < 997) return 32769 + r.below(256 * 1024 - 32768);  // large
  return 256 * 1024 + r.below(768 * 1024 + 1);               // large, up to 1 MiB
}

size_t random_align(Rng& r) {
  static const size_t kAligns[] = {8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 65536};
  return kAligns[r.below(sizeof kAligns / sizeof kAligns[0])];
}

// ---------------------------------------------------------------------------
// objects and their pattern

struct Obj {
  unsigned char* p = nullptr;
  size_t n = 0;
};

inline uint64_t pattern_seed(uintptr_t addr, size_t n) {
  uint64_t x = addr ^ (uint64_t(n) * 0xD6E8FEB86659FD93ull) ^ 0xA5A5A5A55A5A5A5Aull;
  x ^= x >> 31;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 29;
  return x;
}
constexpr uint64_t kStep = 0x94D049BB133111EBull;

// Fill p[0..n) with the pattern of (addr, n).
void fill(unsigned char* p, size_t n) {
  uint64_t v = pattern_seed(reinterpret_cast<uintptr_t>(p), n);
  size_t words = n / 8;
  uint64_t* w = reinterpret_cast<uint64_t*>(p);  // every block is at least 8-aligned
  for (size_t i = 0; i < words; ++i, v += kStep) w[i] = v;
  for (size_t i = words * 8; i < n; ++i) p[i] = static_cast<unsigned char>(v >> (8 * (i % 8)));
}

// Check the first `len` bytes at p against the pattern of (addr, n).
void check_pattern(const unsigned char* p, size_t len, uintptr_t addr, size_t n, const char* what) {
  uint64_t v = pattern_seed(addr, n);
  size_t words = len / 8;
  const uint64_t* w = reinterpret_cast<const uint64_t*>(p);
  for (size_t i = 0; i < words; ++i, v += kStep)
    if (__builtin_expect(w[i] != v, 0))
      die("%s: object %p size %zu corrupted at offset %zu: expected %016llx, found %016llx", what, (void*)p, n,
          i * 8, (unsigned long long)v, (unsigned long long)w[i]);
  // v now holds the word for index `words`.
  for (size_t i = words * 8; i < len; ++i) {
    unsigned char e = static_cast<unsigned char>(v >> (8 * (i % 8)));
    if (p[i] != e) die("%s: object %p size %zu corrupted at byte %zu: expected %02x, found %02x", what, (void*)p, n, i, e, p[i]);
  }
}
void check(const Obj& o, const char* what) { check_pattern(o.p, o.n, reinterpret_cast<uintptr_t>(o.p), o.n, what); }

void check_usable(const Obj& o) {
  size_t u = A_USABLE(o.p);
  if (u < o.n) die("malloc_usable_size(%p) = %zu < requested %zu", (void*)o.p, u, o.n);
}

// Allocate one object with a randomly chosen function, check what the
// function promises (zeroing, alignment), and fill it with its pattern.
Obj alloc_random(Rng& r) {
  Obj o;
  o.n = random_size(r);
  uint64_t k = r.below(100);
  void* p = nullptr;
  size_t align = 16;
  if (k < 60) {
    p = A_MALLOC(o.n);
  } else if (k < 72) {
    size_t cnt = 1 + r.below(4);
    size_t each = (o.n + cnt - 1) / cnt;
    o.n = cnt * each;
    p = A_CALLOC(cnt, each);
    if (p) {
      const unsigned char* b = static_cast<const unsigned char*>(p);
      for (size_t i = 0; i < o.n; ++i)
        if (b[i]) die("calloc(%zu, %zu) = %p: byte %zu is %02x, not zero", cnt, each, p, i, b[i]);
    }
  } else if (k < 80) {
    align = random_align(r);
    if (align < sizeof(void*)) align = sizeof(void*);
    int rc = A_POSIX_MEMALIGN(&p, align, o.n);
    if (rc) die("posix_memalign(%zu, %zu) failed: %d", align, o.n, rc);
  } else if (k < 88) {
    align = random_align(r);
    p = A_ALIGNED_ALLOC(align, o.n);
  } else if (k < 92) {
    align = random_align(r);
    p = A_MEMALIGN(align, o.n);
  } else if (k < 99) {
    p = A_MALLOC(o.n);
  } else {
    // Large allocations, more often than random_size gives them.
    o.n = 32769 + r.below(1024 * 1024 - 32768);
    p = A_MALLOC(o.n);
  }
  if (!p) die("allocation of %zu bytes (kind %llu) returned NULL", o.n, (unsigned long long)k);
  if (reinterpret_cast<uintptr_t>(p) % align) die("%p of size %zu is not aligned to %zu", p, o.n, align);
  if (reinterpret_cast<uintptr_t>(p) % 16 && o.n >= 16) die("%p of size %zu is not 16-byte aligned", p, o.n);
  o.p = static_cast<unsigned char*>(p);
  fill(o.p, o.n);
  return o;
}

void free_checked(Obj& o, const char* what) {
  check(o, what);
  A_FREE(o.p);
  o = Obj{};
}

// realloc to a random size: the common prefix must survive the move.
void realloc_checked(Rng& r, Obj& o) {
  size_t nn = r.below(4) == 0 ? random_size(r) : (o.n / 2 + 1 + r.below(o.n + 64));
  uintptr_t old_addr = reinterpret_cast<uintptr_t>(o.p);
  size_t old_n = o.n;
  check(o, "before realloc");
  void* q = A_REALLOC(o.p, nn);
  if (!q) die("realloc(%p, %zu) returned NULL", (void*)o.p, nn);
  check_pattern(static_cast<unsigned char*>(q), old_n < nn ? old_n : nn, old_addr, old_n, "after realloc");
  o.p = static_cast<unsigned char*>(q);
  o.n = nn;
  fill(o.p, o.n);
}

// ---------------------------------------------------------------------------
// time, RSS

using Clock = std::chrono::steady_clock;
Clock::time_point g_deadline;
bool past_deadline() { return Clock::now() >= g_deadline; }
double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

size_t rss_bytes() {
  int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0) die("cannot open /proc/self/statm");
  char buf[128];
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) die("cannot read /proc/self/statm");
  buf[n] = 0;
  unsigned long size = 0, res = 0;
  if (sscanf(buf, "%lu %lu", &size, &res) != 2) die("cannot parse /proc/self/statm");
  return res * size_t(sysconf(_SC_PAGESIZE));
}

// ---------------------------------------------------------------------------
// queues between threads

struct Inbox {
  std::mutex m;
  std::vector<Obj> v;
  void push(const Obj& o) {
    std::lock_guard<std::mutex> g(m);
    v.push_back(o);
  }
  // Takes everything queued so far.
  std::vector<Obj> take() {
    std::vector<Obj> out;
    std::lock_guard<std::mutex> g(m);
    out.swap(v);
    return out;
  }
};

std::atomic<uint64_t> g_ops{0}, g_frees_remote{0}, g_allocs{0};

void drain(Inbox& in, const char* what) {
  std::vector<Obj> got = in.take();
  for (Obj& o : got) free_checked(o, what);
  g_frees_remote.fetch_add(got.size(), std::memory_order_relaxed);
}

// ---------------------------------------------------------------------------
// mixed: workers with local slot tables, handing objects to each other

struct Mixed {
  std::vector<Inbox> inbox;
  explicit Mixed(int n) : inbox(n) {}

  void life(int slot, int life, long ops) {
    Rng r(g_opt.seed * 1000003 + slot * 7919 + life * 104729);
    const int kSlots = 512;
    std::vector<Obj> local(kSlots);
    long done = 0;
    uint64_t allocs = 0;
    for (; done < ops; ++done) {
      if ((done & 1023) == 0 && past_deadline()) break;
      if ((done & 63) == 0) drain(inbox[slot], "free of an object from another thread");
      if (g_collect && (done & 8191) == 8191) g_collect(0);
      Obj& o = local[r.below(kSlots)];
      if (!o.p) {
        o = alloc_random(r);
        ++allocs;
        continue;
      }
      uint64_t k = r.below(100);
      if (k < 40) {
        free_checked(o, "free by the allocating thread");
      } else if (k < 70) {
        inbox[r.below(inbox.size())].push(o);  // freed by another thread (maybe a later life)
        o = Obj{};
      } else if (k < 88) {
        realloc_checked(r, o);
      } else {
        check_usable(o);
        free_checked(o, "free after malloc_usable_size");
      }
    }
    // Retire: half of what is left outlives this thread and is freed by others.
    for (Obj& o : local) {
      if (!o.p) continue;
      if (r.below(2)) inbox[r.below(inbox.size())].push(o);
      else free_checked(o, "free at thread exit");
      o = Obj{};
    }
    drain(inbox[slot], "free of an object from another thread");
    g_ops.fetch_add(done, std::memory_order_relaxed);
    g_allocs.fetch_add(allocs, std::memory_order_relaxed);
  }

  void run() {
    long per_life = g_opt.ops / (g_opt.lives > 0 ? g_opt.lives : 1);
    std::vector<std::thread> slots;
    for (int s = 0; s < (int)inbox.size(); ++s)
      slots.emplace_back([this, s, per_life] {
        // Each life is a new thread: threads are created and destroyed during the run.
        for (int l = 0; l < g_opt.lives; ++l) {
          long ops = per_life / 2 + (long)(Rng(s * 31 + l).below(per_life + 1));
          std::thread t([this, s, l, ops] { life(s, l, ops); });
          t.join();
        }
      });
    for (auto& t : slots) t.join();
    for (auto& in : inbox) drain(in, "final drain");
  }
};

void report_stats(const char* when, bool expect_no_live) {
  if (!g_stats) return;
  if (g_collect) g_collect(0);
  hakmem_stats_t s{};
  g_stats(&s);
  printf("hk_stress: %s: lean=%d ss=%zu rss=%zu KiB live_small=%zu live_large=%zu thread_caches=%zu superslabs=%zu\n",
         when, s.lean, s.superslab_size, s.rss >> 10, s.live_small_bytes, s.live_large_bytes, s.thread_cache_bytes,
         s.superslabs_mapped);
  const char* want = getenv("HAKMEM_MEM_LEAN");
  if (want && (*want == '0' || *want == '1') && s.lean != (*want == '1'))
    die("HAKMEM_MEM_LEAN=%s but the allocator reports lean=%d", want, s.lean);
  // Everything the test allocated has been freed. In hk_stress nothing else
  // uses hakmem; in the preloaded flavour libc/libstdc++ keep a little.
  size_t bound = HK_STRESS_HK ? 0 : (size_t(1) << 20);
  if (expect_no_live && s.live_large_bytes > bound)
    die("%zu bytes of large allocations still live after everything was freed (bound %zu)", s.live_large_bytes, bound);
  if (expect_no_live && s.live_small_bytes > bound)
    die("%zu bytes of small objects still live after everything was freed (bound %zu)", s.live_small_bytes, bound);
}

int run_mixed() {
  Mixed m(g_opt.threads);
  Clock::time_point t0 = Clock::now();
  m.run();
  printf("hk_stress mixed: %d threads x %d lives, %llu ops, %llu allocations, %llu cross-thread frees, %.2f s\n",
         g_opt.threads, g_opt.lives, (unsigned long long)g_ops.load(), (unsigned long long)g_allocs.load(),
         (unsigned long long)g_frees_remote.load(), seconds_since(t0));
  if (g_ops.load() == 0) die("no operations were performed");
  report_stats("after mixed", true);
  return 0;
}

// ---------------------------------------------------------------------------
// churn: thousands of short-lived threads; long-lived threads free their objects

int run_churn() {
  Inbox q;
  std::atomic<long> outstanding{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> freers;
  for (int i = 0; i < 2; ++i)
    freers.emplace_back([&] {
      while (!stop.load(std::memory_order_acquire)) {
        std::vector<Obj> got = q.take();
        if (got.empty()) {
          std::this_thread::sleep_for(std::chrono::microseconds(200));
          continue;
        }
        for (Obj& o : got) free_checked(o, "churn: free of an object of an exited thread");
        outstanding.fetch_sub(got.size(), std::memory_order_release);
      }
    });

  Clock::time_point t0 = Clock::now();
  int rounds = g_opt.churn_rounds < 2 ? 2 : g_opt.churn_rounds;
  int per_round = g_opt.churn_threads / rounds;
  if (per_round < 1) per_round = 1;
  std::vector<size_t> rss(rounds);
  long threads_run = 0;
  for (int round = 0; round < rounds; ++round) {
    for (int started = 0; started < per_round; started += g_opt.churn_concurrent) {
      std::vector<std::thread> group;
      for (int j = 0; j < g_opt.churn_concurrent && started + j < per_round; ++j) {
        uint64_t id = uint64_t(round) * per_round + started + j;
        group.emplace_back([&q, &outstanding, id] {
          Rng r(g_opt.seed * 7777 + id);
          Obj mine[48];
          int n = 0;
          for (int k = 0; k < 48; ++k) {
            Obj o;
            uint64_t sel = r.below(100);
            o.n = sel < 80 ? 1 + r.below(512) : sel < 97 ? 513 + r.below(32768 - 512) : 32769 + r.below(200000);
            o.p = static_cast<unsigned char*>(A_MALLOC(o.n));
            if (!o.p) die("churn: malloc(%zu) failed", o.n);
            fill(o.p, o.n);
            mine[n++] = o;
          }
          // A quarter is freed here; the rest outlives the thread.
          for (int k = 0; k < n; ++k) {
            if (r.below(4) == 0) {
              free_checked(mine[k], "churn: free by the allocating thread");
            } else {
              outstanding.fetch_add(1, std::memory_order_relaxed);
              q.push(mine[k]);
            }
          }
        });
      }
      for (auto& t : group) t.join();
      threads_run += group.size();
    }
    // Wait for the freers to catch up, then measure.
    Clock::time_point w = Clock::now();
    while (outstanding.load(std::memory_order_acquire) != 0) {
      if (seconds_since(w) > 30) die("churn: freer threads made no progress for 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    rss[round] = rss_bytes();
    if (past_deadline()) {
      rounds = round + 1;
      break;
    }
  }
  stop.store(true, std::memory_order_release);
  for (auto& t : freers) t.join();

  printf("hk_stress churn: %ld short-lived threads in %d rounds, %.2f s; RSS per round (KiB):", threads_run, rounds,
         seconds_since(t0));
  for (int i = 0; i < rounds; ++i) printf(" %zu", rss[i] >> 10);
  printf("\n");
  if (rounds < 2) die("churn: deadline reached before two rounds completed; nothing to compare");
  size_t first = rss[0], last = rss[rounds - 1];
  size_t allowed = size_t(g_opt.rss_growth_mb) << 20;
  if (last > first + allowed)
    die("churn: RSS grew from %zu KiB after round 1 to %zu KiB after round %d (allowed growth %ld MiB)", first >> 10,
        last >> 10, rounds, g_opt.rss_growth_mb);
  report_stats("after churn", true);
  return 0;
}

// ---------------------------------------------------------------------------
// fork while other threads are inside the allocator

void child_body(std::vector<Obj>& inherited, uint64_t seed) {
  alarm(20);  // a deadlocked child dies of SIGALRM and the parent reports it
  for (Obj& o : inherited) free_checked(o, "child: free of an object inherited from the parent");
  Rng r(seed);
  Obj objs[64];
  for (int round = 0; round < 4; ++round) {
    for (Obj& o : objs) o = alloc_random(r);
    for (Obj& o : objs)
      if (r.below(3) == 0) realloc_checked(r, o);
    for (Obj& o : objs) free_checked(o, "child: free");
  }
  _exit(0);
}

int run_fork() {
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> bg_ops{0};
  std::vector<std::thread> bg;
  int nbg = g_opt.threads > 1 ? g_opt.threads - 1 : 1;
  Inbox shared;
  for (int i = 0; i < nbg; ++i)
    bg.emplace_back([&, i] {
      Rng r(g_opt.seed * 99991 + i);
      std::vector<Obj> local(128);
      uint64_t n = 0;
      while (!stop.load(std::memory_order_relaxed)) {
        Obj& o = local[r.below(local.size())];
        if (!o.p) o = alloc_random(r);
        else if (r.below(3) == 0) {
          shared.push(o);
          o = Obj{};
        } else {
          free_checked(o, "fork: background free");
        }
        if ((++n & 31) == 0) drain(shared, "fork: background cross-thread free");
      }
      for (Obj& o : local)
        if (o.p) free_checked(o, "fork: background final free");
      bg_ops.fetch_add(n);
    });

  Clock::time_point t0 = Clock::now();
  Rng r(g_opt.seed);
  int done = 0;
  for (; done < g_opt.forks; ++done) {
    if (past_deadline() && done >= 10) break;
    std::vector<Obj> inherited;
    inherited.reserve(16);
    for (int k = 0; k < 16; ++k) inherited.push_back(alloc_random(r));
    uint64_t child_seed = r.next();
    pid_t pid = fork();
    if (pid < 0) die("fork failed: %s", strerror(errno));
    if (pid == 0) child_body(inherited, child_seed);
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) die("waitpid failed: %s", strerror(errno));
    if (WIFSIGNALED(st))
      die("fork child %d (iteration %d) was killed by signal %d%s", pid, done, WTERMSIG(st),
          WTERMSIG(st) == SIGALRM ? " (deadlock: still running after 20 s)" : "");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
      die("fork child %d (iteration %d) exited with status %d", pid, done, WEXITSTATUS(st));
    // The parent's copies are still intact and are freed here.
    for (Obj& o : inherited) free_checked(o, "parent: free after fork");
  }
  stop.store(true);
  for (auto& t : bg) t.join();
  drain(shared, "fork: final drain");
  printf("hk_stress fork: %d children ok while %d threads ran %llu allocator ops, %.2f s\n", done, nbg,
         (unsigned long long)bg_ops.load(), seconds_since(t0));
  if (bg_ops.load() == 0) die("fork: background threads did nothing");
  if (done < 10) die("fork: only %d forks completed", done);
  report_stats("after fork", true);
  return 0;
}

// ---------------------------------------------------------------------------
// fork-init: fork while another thread is still inside the allocator's
// one-time initialisation. Initialisation happens once per process, so each
// attempt is a fresh process (this program re-executed in "fork-init-one").

int run_fork_init_one() {
  std::atomic<bool> go{false}, stop{false};
  std::vector<std::thread> ts;
  for (int i = 0; i < 2; ++i)
    ts.emplace_back([&, i] {
      Rng r(g_opt.seed + i);
      while (!go.load()) {
      }
      while (!stop.load(std::memory_order_relaxed)) {
        Obj o = alloc_random(r);
        free_checked(o, "fork-init: background free");
      }
    });
  go.store(true);
  void* first = A_MALLOC(16);  // returns once the allocator is usable
  if (!first) die("fork-init: malloc(16) failed");
  pid_t pid = fork();
  if (pid < 0) die("fork failed: %s", strerror(errno));
  if (pid == 0) {
    alarm(3);  // 2000 operations take milliseconds: longer means a deadlock
    Rng r(g_opt.seed ^ 0xABCDEF);
    for (int i = 0; i < 2000; ++i) {
      Obj o = alloc_random(r);
      free_checked(o, "fork-init child: free");
    }
    _exit(0);
  }
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) die("waitpid failed: %s", strerror(errno));
  stop.store(true);
  for (auto& t : ts) t.join();
  A_FREE(first);
  if (WIFSIGNALED(st))
    die("fork-init: child forked during initialisation was killed by signal %d%s", WTERMSIG(st),
        WTERMSIG(st) == SIGALRM ? " (deadlock: an allocator lock was held across fork)" : "");
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) die("fork-init: child exited with status %d", WEXITSTATUS(st));
  return 0;
}

int run_fork_init(const char* self) {
  Clock::time_point t0 = Clock::now();
  int done = 0, failed = 0;
  for (; done < g_opt.forks; ++done) {
    if (past_deadline() && done >= 10) break;
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)(g_opt.seed + done));
    pid_t pid = fork();
    if (pid < 0) die("fork failed: %s", strerror(errno));
    if (pid == 0) {
      const char* argv[] = {self, "fork-init-one", "--seed", seed, g_opt.require_hakmem ? nullptr : "--no-require-hakmem", nullptr};
      execv("/proc/self/exe", const_cast<char* const*>(argv));
      _exit(127);
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid) die("waitpid failed: %s", strerror(errno));
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
      ++failed;
      fprintf(stderr, "hk_stress fork-init: attempt %d (seed %s) failed (status 0x%x)\n", done, seed, st);
      ++done;
      break;  // one failure is the finding; do not spend the time budget on more
    }
  }
  printf("hk_stress fork-init: %d fresh processes forked during initialisation, %d failed, %.2f s\n", done, failed,
         seconds_since(t0));
  if (failed) die("fork-init: %d of %d attempts failed", failed, done);
  return 0;
}

// ---------------------------------------------------------------------------
// signals: a handler that never allocates is unaffected

std::atomic<uint64_t> g_signals{0};
void on_alarm(int) {
  int saved = errno;
  g_signals.fetch_add(1, std::memory_order_relaxed);
  errno = saved;
}

int run_signals() {
  static_assert(std::atomic<uint64_t>::is_always_lock_free);
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: interrupted system calls see EINTR
  if (sigaction(SIGALRM, &sa, nullptr)) die("sigaction: %s", strerror(errno));
  struct itimerval it{};
  it.it_interval.tv_usec = g_opt.signal_us;
  it.it_value.tv_usec = g_opt.signal_us;
  if (setitimer(ITIMER_REAL, &it, nullptr)) die("setitimer: %s", strerror(errno));

  Mixed m(g_opt.threads);
  Clock::time_point t0 = Clock::now();
  m.run();
  struct itimerval off{};
  setitimer(ITIMER_REAL, &off, nullptr);
  double secs = seconds_since(t0);
  uint64_t sigs = g_signals.load();
  printf("hk_stress signals: %llu SIGALRM delivered during %llu ops on %d threads, %.2f s\n", (unsigned long long)sigs,
         (unsigned long long)g_ops.load(), g_opt.threads, secs);
  if (g_ops.load() == 0) die("no operations were performed");
  if (sigs < 50) die("signals: only %llu signals were delivered; the test did not exercise anything", (unsigned long long)sigs);
  report_stats("after signals", true);
  return 0;
}

void usage() {
  fprintf(stderr,
          "usage: hk_stress {mixed|churn|fork|fork-init|signals} [--threads N] [--ops N] [--seconds S] [--lives N]\n"
          "       [--churn-threads N] [--churn-concurrent N] [--churn-rounds N] [--rss-growth-mb N]\n"
          "       [--forks N] [--signal-us N] [--seed N] [--no-require-hakmem]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) usage();
  const char* mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const char* a = argv[i];
    auto val = [&]() -> const char* {
      if (i + 1 >= argc) usage();
      return argv[++i];
    };
    if (!strcmp(a, "--threads")) g_opt.threads = atoi(val());
    else if (!strcmp(a, "--ops")) g_opt.ops = atol(val());
    else if (!strcmp(a, "--seconds")) g_opt.seconds = atof(val());
    else if (!strcmp(a, "--lives")) g_opt.lives = atoi(val());
    else if (!strcmp(a, "--churn-threads")) g_opt.churn_threads = atoi(val());
    else if (!strcmp(a, "--churn-concurrent")) g_opt.churn_concurrent = atoi(val());
    else if (!strcmp(a, "--churn-rounds")) g_opt.churn_rounds = atoi(val());
    else if (!strcmp(a, "--rss-growth-mb")) g_opt.rss_growth_mb = atol(val());
    else if (!strcmp(a, "--forks")) g_opt.forks = atoi(val());
    else if (!strcmp(a, "--signal-us")) g_opt.signal_us = atoi(val());
    else if (!strcmp(a, "--seed")) g_opt.seed = strtoull(val(), nullptr, 0);
    else if (!strcmp(a, "--no-require-hakmem")) g_opt.require_hakmem = false;
    else usage();
  }
  if (g_opt.threads < 1 || g_opt.lives < 1 || g_opt.churn_concurrent < 1) usage();
  setvbuf(stdout, nullptr, _IOLBF, 0);
  bind_hakmem();
  if (strcmp(mode, "fork-init-one"))
    printf("hk_stress: %s, flavour %s, seed %llu\n", mode, kFlavor, (unsigned long long)g_opt.seed);
  g_deadline = Clock::now() + std::chrono::microseconds((long long)(g_opt.seconds * 1e6));
  if (!strcmp(mode, "mixed")) return run_mixed();
  if (!strcmp(mode, "churn")) return run_churn();
  if (!strcmp(mode, "fork")) return run_fork();
  if (!strcmp(mode, "signals")) return run_signals();
  if (!strcmp(mode, "fork-init")) return run_fork_init(argv[0]);
  if (!strcmp(mode, "fork-init-one")) return run_fork_init_one();
  usage();
}
