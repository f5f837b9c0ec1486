// libFuzzer target: the input is a program of allocator operations.
//
// Four slot tables, each owned by a real worker thread; operations run in
// turn (one at a time, deterministically) on the thread that owns the current
// table, so objects moved between tables are freed by a thread other than
// the one that allocated them. Workers can also be retired (the thread exits
// with its objects still live) and replaced.
//
// Checked on every operation: contents (a pattern derived from address and
// size, checked before free/realloc and on demand), calloc zeroing, alignment,
// malloc_usable_size >= requested size, realloc preserving the prefix, that
// a new block never overlaps a live one, and errno/return values for invalid
// requests. Any failure aborts with a message (libFuzzer saves the input).
//
// Op 0xFE (once per input) writes into a freed block, in a forked child so
// the fuzzer goes on: the child frees a block, overwrites one of its words
// (a global's address, a live block, itself, one flipped bit, input bytes)
// and allocates on. It must either end normally without ever receiving a
// foreign address (the forged one, a live block, one address twice), or
// abort with one line from hakmem; a crash, a foreign address or an abort
// without hakmem's line fails the run.
//
// Built with clang++ -fsanitize=fuzzer,address,undefined directly on the core
// sources (without the override layer): see tests/fuzz/CMakeLists.txt.
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "hakmem.h"

namespace {

[[noreturn]] void fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void fail(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "fuzz_alloc: FAIL: ");
  vfprintf(stderr, fmt, ap);
  fprintf(stderr, "\n");
  va_end(ap);
  abort();
}

constexpr int kTables = 4;
constexpr int kSlots = 16;
constexpr size_t kMaxLive = 64u << 20;  // keep RSS bounded under ASan

struct Obj {
  unsigned char* p = nullptr;
  size_t n = 0;
};

// The checking loops are not interesting to the fuzzer: no coverage
// instrumentation there (it would cost most of the run time).
#define HK_NOCOV __attribute__((no_sanitize("coverage")))

HK_NOCOV uint64_t seed_of(uintptr_t a, size_t n) {
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ n * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 32);
}
constexpr uint64_t kStep = 0x94D049BB133111EBull;
// Word i of a block is seed + i * kStep; the tail bytes come from the next word.
HK_NOCOV void fill(unsigned char* p, size_t n) {
  uint64_t v = seed_of(reinterpret_cast<uintptr_t>(p), n);
  size_t i = 0;
  for (; i + 8 <= n; i += 8, v += kStep) memcpy(p + i, &v, 8);
  for (size_t k = 0; i < n; ++i, ++k) p[i] = static_cast<unsigned char>(v >> (8 * k));
}
HK_NOCOV void check_as(const unsigned char* p, size_t len, uintptr_t addr, size_t n, const char* what) {
  uint64_t v = seed_of(addr, n);
  size_t i = 0;
  for (; i + 8 <= len; i += 8, v += kStep) {
    uint64_t w;
    memcpy(&w, p + i, 8);
    if (w != v)
      fail("%s: block %p (size %zu) word at offset %zu is %016llx, expected %016llx", what, (const void*)p, n, i,
           (unsigned long long)w, (unsigned long long)v);
  }
  for (size_t k = 0; i < len; ++i, ++k) {
    unsigned char e = static_cast<unsigned char>(v >> (8 * k));
    if (p[i] != e) fail("%s: block %p (size %zu) byte %zu is %02x, expected %02x", what, (const void*)p, n, i, p[i], e);
  }
}
HK_NOCOV size_t first_nonzero(const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i]) return i;
  return n;
}
void check(const Obj& o, const char* what) { check_as(o.p, o.n, reinterpret_cast<uintptr_t>(o.p), o.n, what); }

// ---------------------------------------------------------------------------
// worker threads: one per table, running one job at a time

struct Worker {
  std::thread th;
  std::mutex m;
  std::condition_variable cv;
  void (*job)(void*) = nullptr;
  void* arg = nullptr;
  bool quit = false;

  void start() {
    quit = false;
    th = std::thread([this] {
      std::unique_lock<std::mutex> l(m);
      for (;;) {
        cv.wait(l, [this] { return job || quit; });
        if (job) {
          job(arg);
          job = nullptr;
          cv.notify_all();
        } else if (quit) {
          return;
        }
      }
    });
  }
  void run(void (*f)(void*), void* a) {
    std::unique_lock<std::mutex> l(m);
    job = f;
    arg = a;
    cv.notify_all();
    cv.wait(l, [this] { return job == nullptr; });
  }
  void stop() {
    {
      std::lock_guard<std::mutex> l(m);
      quit = true;
      cv.notify_all();
    }
    th.join();
  }
};

// Never destroyed: the workers block in their condition variables until the
// process exits (destroying them at exit would deadlock).
Worker* g_workers = nullptr;

// ---------------------------------------------------------------------------
// the interpreter

struct State {
  const uint8_t* d;
  size_t n;
  size_t pos = 0;
  int cur = 0;
  Obj tab[kTables][kSlots];
  std::map<uintptr_t, size_t> live;  // start -> requested size
  size_t live_bytes = 0;

  uint8_t u8() { return pos < n ? d[pos++] : 0; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  Obj& slot() { return tab[cur][u8() % kSlots]; }

  size_t size() {
    uint8_t k = u8();
    switch (k >> 6) {
      case 0: return k & 63;                           // 0..63
      case 1: return u8() + ((k & 3) << 8);            // 0..1023
      case 2: return u16() % 32769;                    // the whole small range
      default: return 32768 + (size_t(u16()) << 2);   // large, up to ~288 KiB
    }
  }
  size_t align() {
    uint8_t k = u8();
    return size_t{1} << (k % 17);  // 1 .. 64 KiB
  }

  void track_new(void* p, size_t n, size_t align, const char* what) {
    uintptr_t a = reinterpret_cast<uintptr_t>(p);
    if (align > 1 && a % align) fail("%s returned %p, not aligned to %zu", what, p, align);
    if (n >= 16 && a % 16) fail("%s returned %p (size %zu), not 16-byte aligned", what, p, n);
    size_t u = hk_malloc_usable_size(p);
    if (u < n) fail("%s: malloc_usable_size(%p) = %zu < %zu", what, p, u, n);
    size_t len = n ? n : 1;
    auto it = live.upper_bound(a);
    if (it != live.end() && it->first < a + len)
      fail("%s returned %p (size %zu) overlapping live block %p (size %zu)", what, p, n, (void*)it->first, it->second);
    if (it != live.begin()) {
      --it;
      if (it->first + (it->second ? it->second : 1) > a)
        fail("%s returned %p (size %zu) overlapping live block %p (size %zu)", what, p, n, (void*)it->first, it->second);
    }
    live[a] = n;
    live_bytes += n;
  }
  void untrack(const Obj& o) {
    auto it = live.find(reinterpret_cast<uintptr_t>(o.p));
    if (it == live.end()) fail("internal: %p not tracked", (void*)o.p);
    live_bytes -= it->second;
    live.erase(it);
  }
  void release(Obj& o, const char* what) {
    if (!o.p) return;
    check(o, what);
    untrack(o);
    hk_free(o.p);
    o = Obj{};
  }
  bool room(size_t n) const { return live_bytes + n <= kMaxLive; }

  // Executes one operation on the current thread.
  void step(uint8_t op) {
    switch (op % 16) {
      case 0: {  // malloc
        Obj& o = slot();
        size_t n = size();
        release(o, "free before malloc");
        if (!room(n)) return;
        void* p = hk_malloc(n);
        if (!p) fail("malloc(%zu) returned NULL", n);
        track_new(p, n, 1, "malloc");
        o = Obj{static_cast<unsigned char*>(p), n};
        fill(o.p, o.n);
        return;
      }
      case 1: {  // calloc
        Obj& o = slot();
        size_t cnt = 1 + u8() % 8;
        size_t each = size() / cnt;
        release(o, "free before calloc");
        if (!room(cnt * each)) return;
        void* p = hk_calloc(cnt, each);
        if (!p) fail("calloc(%zu, %zu) returned NULL", cnt, each);
        const unsigned char* b = static_cast<const unsigned char*>(p);
        size_t z = first_nonzero(b, cnt * each);
        if (z != cnt * each) fail("calloc(%zu, %zu) = %p: byte %zu is %02x, not zero", cnt, each, p, z, b[z]);
        track_new(p, cnt * each, 1, "calloc");
        o = Obj{static_cast<unsigned char*>(p), cnt * each};
        fill(o.p, o.n);
        return;
      }
      case 2: {  // realloc (also realloc(NULL, n) and realloc(p, 0))
        Obj& o = slot();
        size_t n = u8() & 1 ? size() : (o.n ? o.n + (u8() % 64) - 32 : size());
        if (n > (size_t{1} << 40)) n = 0;  // the subtraction wrapped
        if (!room(n)) return;
        if (!o.p) {
          void* p = hk_realloc(nullptr, n);
          if (!p) fail("realloc(NULL, %zu) returned NULL", n);
          track_new(p, n, 1, "realloc(NULL)");
          o = Obj{static_cast<unsigned char*>(p), n};
          fill(o.p, o.n);
          return;
        }
        check(o, "before realloc");
        if (n == 0) {
          untrack(o);
          if (hk_realloc(o.p, 0) != nullptr) fail("realloc(p, 0) did not free and return NULL");
          o = Obj{};
          return;
        }
        uintptr_t old = reinterpret_cast<uintptr_t>(o.p);
        size_t old_n = o.n;
        untrack(o);
        void* p = hk_realloc(o.p, n);
        if (!p) fail("realloc(%p, %zu) returned NULL", (void*)o.p, n);
        check_as(static_cast<unsigned char*>(p), old_n < n ? old_n : n, old, old_n, "after realloc");
        track_new(p, n, 1, "realloc");
        o = Obj{static_cast<unsigned char*>(p), n};
        fill(o.p, o.n);
        return;
      }
      case 3:
      case 4: {  // free
        release(slot(), "free");
        return;
      }
      case 5:
      case 6:
      case 7: {  // aligned_alloc / posix_memalign / memalign
        Obj& o = slot();
        size_t al = align();
        size_t n = size();
        release(o, "free before aligned allocation");
        if (!room(n + al)) return;
        void* p = nullptr;
        if (op % 16 == 5) {
          p = hk_aligned_alloc(al, n);
        } else if (op % 16 == 6) {
          if (al < sizeof(void*)) {
            void* q = reinterpret_cast<void*>(1);
            int rc = hk_posix_memalign(&q, al, n);
            if (rc != EINVAL) fail("posix_memalign(align %zu) returned %d, expected EINVAL", al, rc);
            if (q != reinterpret_cast<void*>(1)) fail("posix_memalign modified *out on EINVAL");
            return;
          }
          int rc = hk_posix_memalign(&p, al, n);
          if (rc) fail("posix_memalign(%zu, %zu) returned %d", al, n, rc);
        } else {
          p = hk_memalign(al, n);
        }
        if (!p) fail("aligned allocation (op %d, align %zu, size %zu) returned NULL", op % 16, al, n);
        track_new(p, n, al, "aligned allocation");
        o = Obj{static_cast<unsigned char*>(p), n};
        fill(o.p, o.n);
        return;
      }
      case 8: {  // malloc_usable_size + full check
        Obj& o = slot();
        if (!o.p) return;
        check(o, "check");
        size_t u = hk_malloc_usable_size(o.p);
        if (u < o.n) fail("malloc_usable_size(%p) = %zu < %zu", (void*)o.p, u, o.n);
        // The usable tail is writable: scribble on it, then restore nothing
        // (it is outside the requested size and never checked).
        if (u > o.n) memset(o.p + o.n, 0xEE, u - o.n);
        return;
      }
      case 9:
      case 10: {  // move an object to another table (a later free is cross-thread)
        Obj& from = slot();
        int t = u8() % kTables;
        Obj& to = tab[t][u8() % kSlots];
        if (&from == &to || !from.p) return;
        release(to, "free of the displaced object");
        to = from;
        from = Obj{};
        return;
      }
      case 11: {  // switch thread
        cur = u8() % kTables;
        return;
      }
      case 12: {  // invalid requests
        uint8_t k = u8() % 4;
        errno = 0;
        if (k == 0) {
          if (hk_malloc(SIZE_MAX - u8()) || errno != ENOMEM) fail("malloc(huge) did not fail with ENOMEM");
        } else if (k == 1) {
          if (hk_calloc(SIZE_MAX / 2 + 1 + u8(), 2) || errno != ENOMEM) fail("calloc overflow did not fail with ENOMEM");
        } else if (k == 2) {
          size_t al = 3 + 2 * size_t(u8());  // odd, never a power of two
          if (hk_aligned_alloc(al, 64) || errno != EINVAL) fail("aligned_alloc(%zu) did not fail with EINVAL", al);
        } else {
          void* q = nullptr;
          if (hk_posix_memalign(&q, 24, 64) != EINVAL) fail("posix_memalign(24) did not return EINVAL");
        }
        return;
      }
      case 13: {  // collect
        hakmem_collect(u8() & 1);
        return;
      }
      case 14: {  // check the whole current table
        for (Obj& o : tab[cur])
          if (o.p) check(o, "table check");
        return;
      }
      case 15: {  // reallocarray
        Obj& o = slot();
        size_t cnt = 1 + u8() % 16;
        size_t each = size() / cnt;
        if (!o.p || !room(cnt * each)) return;
        check(o, "before reallocarray");
        uintptr_t old = reinterpret_cast<uintptr_t>(o.p);
        size_t old_n = o.n, n = cnt * each;
        if (n == 0) return;
        untrack(o);
        void* p = hk_reallocarray(o.p, cnt, each);
        if (!p) fail("reallocarray(%p, %zu, %zu) returned NULL", (void*)o.p, cnt, each);
        check_as(static_cast<unsigned char*>(p), old_n < n ? old_n : n, old, old_n, "after reallocarray");
        track_new(p, n, 1, "reallocarray");
        o = Obj{static_cast<unsigned char*>(p), n};
        fill(o.p, o.n);
        return;
      }
    }
  }
};

alignas(64) unsigned char g_uaf_target[256];

// The child of the write-after-free op: never returns.
[[noreturn]] HK_NOCOV void uaf_child(State* s, unsigned char* p, size_t n, unsigned word, unsigned kind, uint64_t bits) {
  auto* w = reinterpret_cast<uint64_t*>(p) + word;
  switch (kind % 5) {
    case 0: *w = reinterpret_cast<uintptr_t>(g_uaf_target + 64); break;
    case 1: *w = s->live.empty() ? bits : s->live.begin()->first; break;
    case 2: *w = reinterpret_cast<uintptr_t>(p); break;
    case 3: *w ^= uint64_t{1} << (bits % 64); break;
    default: *w = bits; break;
  }
  std::set<uintptr_t> got;
  for (int i = 0; i < 64; ++i) {
    size_t want = i % 4 == 3 ? (n > 64 ? n / 2 : n + 16) : n;
    auto* y = static_cast<unsigned char*>(hk_malloc(want));
    uintptr_t a = reinterpret_cast<uintptr_t>(y);
    const char* bad = nullptr;
    if (!y) bad = "NULL";
    else if (y >= g_uaf_target && y < g_uaf_target + sizeof g_uaf_target) bad = "the forged address";
    else if (!got.insert(a).second) bad = "an address it already returned";
    auto it = s->live.upper_bound(a);
    if (!bad && it != s->live.begin()) {
      --it;
      if (it->first + (it->second ? it->second : 1) > a) bad = "a live block";
    }
    if (bad) {
      fprintf(stderr, "FOREIGN: malloc(%zu) after the write returned %p: %s\n", want, (void*)y, bad);
      _exit(3);
    }
    memset(y, 0x5c, want);
  }
  _exit(0);
}

// Frees the block in o, then, in a forked child, writes into it.
HK_NOCOV void write_after_free(State* s, Obj& o, unsigned word, unsigned kind, uint64_t bits) {
  if (!o.p || o.n < 8) return;
  unsigned char* p = o.p;
  size_t n = o.n;
  word %= static_cast<unsigned>(n / 8 < 4 ? n / 8 : 4);
  s->release(o, "free before the write after free");
  int fds[2];
  if (pipe(fds) != 0) fail("pipe: %s", strerror(errno));
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) fail("fork: %s", strerror(errno));
  if (pid == 0) {
    signal(SIGABRT, SIG_DFL);  // hakmem's abort must kill the child, not reach libFuzzer's handler
    close(fds[0]);
    dup2(fds[1], 2);
    uaf_child(s, p, n, word, kind, bits);
  }
  close(fds[1]);
  std::string err;
  char buf[512];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) err.append(buf, static_cast<size_t>(r));
  close(fds[0]);
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) fail("waitpid: %s", strerror(errno));
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0 && err.empty()) return;
  bool hakmem_line = err.rfind("hakmem: ", 0) == 0 && err.find('\n') == err.size() - 1 &&
                     (err.find("corrupted") != std::string::npos || err.find("double free") != std::string::npos ||
                      err.find("invalid") != std::string::npos);
  if (WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT && hakmem_line) return;
  fail("write after free into %p (size %zu, word %u, kind %u): child %s %d, stderr: %s", (void*)p, n, word, kind,
       WIFSIGNALED(st) ? "killed by signal" : "exited with", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
       err.c_str());
}

struct UafArg {
  State* s;
  unsigned slot, word, kind;
  uint64_t bits;
};
void run_uaf(void* a) {
  UafArg* u = static_cast<UafArg*>(a);
  write_after_free(u->s, u->s->tab[u->s->cur][u->slot], u->word, u->kind, u->bits);
}

struct StepArg {
  State* s;
  uint8_t op;
};
void run_step(void* a) {
  StepArg* sa = static_cast<StepArg*>(a);
  sa->s->step(sa->op);
}
void free_table(void* a) {
  StepArg* sa = static_cast<StepArg*>(a);
  for (Obj& o : sa->s->tab[sa->op]) sa->s->release(o, "final free");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (!g_workers) {
    g_workers = new Worker[kTables];
    for (int t = 0; t < kTables; ++t) g_workers[t].start();
  }
  State* s = new State{data, size};
  StepArg a{s, 0};
  bool uaf_done = false;  // forking is slow: once per input
  while (s->pos < s->n) {
    uint8_t op = s->u8();
    if (op == 0xFF) {
      // Retire the current thread: it exits with its objects live; a new
      // thread takes its table over (and frees them later).
      g_workers[s->cur].stop();
      g_workers[s->cur].start();
      continue;
    }
    if (op == 0xFE) {
      if (uaf_done) continue;
      uaf_done = true;
      UafArg u{s, static_cast<unsigned>(s->u8() % kSlots), s->u8(), s->u8(), 0};
      for (int i = 0; i < 8; ++i) u.bits = u.bits << 8 | s->u8();
      g_workers[s->cur].run(run_uaf, &u);
      continue;
    }
    a.op = op;
    g_workers[s->cur].run(run_step, &a);
  }
  // Free everything, each table on its own thread.
  for (int t = 0; t < kTables; ++t) {
    a.op = static_cast<uint8_t>(t);
    g_workers[t].run(free_table, &a);
  }
  if (!s->live.empty()) fail("internal: %zu blocks still tracked", s->live.size());
  // hakmem_stats reads /proc/self/smaps_rollup (slow): every 8th input.
  static unsigned runs;
  hakmem_stats_t st{};
  if (++runs % 8 == 0) hakmem_stats(&st);
  if (st.live_large_bytes != 0) fail("all blocks freed but live_large_bytes = %zu", st.live_large_bytes);
  delete s;
  return 0;
}
