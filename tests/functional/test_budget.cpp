// The memory budget and the hard limit (LEAN), through the prefixed API.
//
// HAKMEM_TEST_EXPECT selects what is checked (set by CMake with the matching
// variables, so a test registered without them fails instead of passing):
//   threads HAKMEM_MEM_LEAN_LIMIT_MB=32: four threads allocating until
//           refused at once never take the account past the limit; it comes
//           back down when all is freed (also run under TSan: label stress).
//   limit   HAKMEM_MEM_LEAN_LIMIT_MB=24: allocation past the limit fails with
//           ENOMEM and is counted; the account never passes the limit; what
//           was freed is given back and usable again, small for large and
//           large for small.
//   target  HAKMEM_MEM_LEAN_TARGET_MB=16: a program moving from one set of
//           sizes to another, whose live data fits, stays within the target
//           + 2 MiB (the account and RSS - LazyFree from smaps_rollup).
//   quiet   no setting: a program moving from one set of sizes to another
//           gives back the old sizes' free pages before it commits more, so
//           its peak is the new live data, not old + new. Varied: the size
//           ranges, the keep ratio, the order of the phases, the thread that
//           did the first phase (exited or idle).
#include <gtest/gtest.h>
#include <hakmem.h>
#include <sys/mman.h>

#include <condition_variable>
#include <mutex>
#include <algorithm>
#include <atomic>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "test_util.h"

using namespace hktest;

namespace {

constexpr size_t kMiB = size_t{1} << 20;

std::string expect() {
  const char* e = std::getenv("HAKMEM_TEST_EXPECT");
  return e ? e : "";
}

hakmem_stats_t stats() {
  hakmem_stats_t s;
  hakmem_stats(&s);
  return s;
}

size_t rss_minus_lazyfree(const hakmem_stats_t& s) { return s.rss - (s.lazyfree < s.rss ? s.lazyfree : s.rss); }

std::string mib(size_t b) { return std::to_string(double(b) / kMiB) + " MiB"; }

// Pointers live in their own mapping, touched before any baseline.
struct PtrTable {
  void** p;
  size_t cap;
  explicit PtrTable(size_t n) : cap(n) {
    p = static_cast<void**>(mmap(nullptr, n * sizeof(void*), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) std::abort();
    std::memset(p, 0, n * sizeof(void*));
  }
  ~PtrTable() { munmap(p, cap * sizeof(void*)); }
};

size_t spread(size_t i, size_t lo, size_t hi) { return lo + (i * 2654435761u) % (hi - lo + 1); }

// ---------------------------------------------------------------------------
// limit

// Allocates blocks of lo..hi bytes until the allocator refuses; returns how
// many bytes it got. Each block is written and checked before it is freed.
size_t until_refused(PtrTable& t, size_t lo, size_t hi, size_t* count) {
  size_t total = 0, i = 0;
  for (;; ++i) {
    if (i == t.cap) ADD_FAILURE() << "no refusal after " << mib(total);
    if (i == t.cap) break;
    size_t n = spread(i, lo, hi);
    errno = 0;
    void* p = hk_malloc(n);
    if (!p) {
      EXPECT_EQ(errno, ENOMEM) << "malloc(" << n << ") refused with errno " << errno;
      break;
    }
    fill_sparse(p, n, i);
    t.p[i] = p;
    total += n;
  }
  *count = i;
  return total;
}

void free_checked(PtrTable& t, size_t count, size_t lo, size_t hi) {
  for (size_t i = 0; i < count; ++i) {
    size_t n = spread(i, lo, hi);
    ASSERT_EQ(check_sparse(t.p[i], n, i), SIZE_MAX) << "block " << i << " of " << n << " bytes";
    hk_free(t.p[i]);
    t.p[i] = nullptr;
  }
}

TEST(Budget, LimitRefusesPastItAndGivesBackWhatWasFreed) {
  if (expect() != "limit") GTEST_FAIL() << "registered without HAKMEM_TEST_EXPECT=limit";
  const size_t limit = 24 * kMiB;
  PtrTable t(1 << 22);
  const hakmem_stats_t s0 = stats();
  ASSERT_TRUE(s0.lean);
  struct Range {
    size_t lo, hi;
  } ranges[] = {{16, 1024}, {40000, 300000}, {16, 64}, {2048, 32768}, {16, 1024}};
  uint64_t failures = s0.limit_failures;
  for (Range r : ranges) {
    size_t count;
    size_t got = until_refused(t, r.lo, r.hi, &count);
    hakmem_stats_t s = stats();
    // The account holds everything hakmem committed: never past the limit.
    EXPECT_LE(s.committed_bytes, limit) << r.lo << ".." << r.hi;
    EXPECT_GT(s.limit_failures, failures) << "the refusal was not counted";
    failures = s.limit_failures;
    // What the earlier ranges freed came back: most of the limit was usable
    // (rounding and the slabs partly filled take the rest).
    EXPECT_GE(got, limit / 10 * 7) << r.lo << ".." << r.hi << ": only " << mib(got) << " before the refusal";
    // RSS follows: no more than the limit above what was there before.
    EXPECT_LE(rss_minus_lazyfree(s), rss_minus_lazyfree(s0) + limit + 2 * kMiB) << r.lo << ".." << r.hi;
    free_checked(t, count, r.lo, r.hi);
  }
  // calloc and realloc refuse the same way.
  std::vector<void*> held;
  while (void* p = hk_malloc(1 << 20)) held.push_back(p);
  errno = 0;
  EXPECT_EQ(hk_calloc(1, 1 << 20), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  void* small = hk_malloc(100);
  if (small) {
    errno = 0;
    EXPECT_EQ(hk_realloc(small, 4 << 20), nullptr);
    EXPECT_EQ(errno, ENOMEM);
    hk_free(small);  // realloc that fails leaves the block alone
  }
  for (void* p : held) hk_free(p);
  void* after = hk_malloc(4 << 20);
  EXPECT_NE(after, nullptr) << "freed large blocks must make room";
  hk_free(after);
}

// threads: the limit's check and commit are one step (budget::reserve), so
// threads that reach the limit together never pass it; and the account
// comes back down when everything is freed (no count lost or doubled).
TEST(Budget, ThreadsReachTheCapTogether) {
  if (expect() != "threads") GTEST_FAIL() << "registered without HAKMEM_TEST_EXPECT=threads";
  const size_t limit = 32 * kMiB;
  hakmem_collect(1);
  const hakmem_stats_t s0 = stats();
  ASSERT_TRUE(s0.lean);
  constexpr int kThreads = 4, kRounds = 3;
  std::atomic<size_t> worst{0};
  std::atomic<int> at_limit{0}, sampled{0};
  std::atomic<bool> bad_errno{false};
  auto worker = [&](int t) {
    std::vector<std::pair<void*, size_t>> held;
    held.reserve(1 << 16);
    for (int round = 0; round < kRounds; ++round) {
      for (size_t i = 0;; ++i) {
        // Mostly small blocks, a large one in 64: both commit paths race.
        const size_t n = i % 64 == 63 ? spread(i + t, 40000, 300000) : spread(i * 7 + t, 16, 4096);
        errno = 0;
        void* p = hk_malloc(n);
        if (!p) {
          if (errno != ENOMEM) bad_errno = true;
          break;
        }
        fill_sparse(p, n, i);
        held.emplace_back(p, n);
      }
      // Everyone at the limit at once: what passed it would be held now.
      // The account is read only here, while no thread allocates (the
      // statistics walk other threads' slabs without their locks: under
      // TSan, reading them while they allocate is a race by design).
      at_limit.fetch_add(1);
      while (at_limit.load() < kThreads * (round + 1)) std::this_thread::yield();
      if (t == 0) {
        worst = std::max(worst.load(), stats().committed_bytes);
        sampled.fetch_add(1);
      }
      while (sampled.load() < round + 1) std::this_thread::yield();
      // Then free (half the rounds in the other order).
      for (size_t k = 0; k < held.size(); ++k) {
        auto [p, n] = held[round % 2 ? held.size() - 1 - k : k];
        EXPECT_EQ(check_sparse(p, n, round % 2 ? held.size() - 1 - k : k), SIZE_MAX);
        hk_free(p);
      }
      held.clear();
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) ts.emplace_back(worker, t);
  for (auto& th : ts) th.join();
  EXPECT_FALSE(bad_errno.load()) << "a refusal without ENOMEM";
  EXPECT_LE(worst.load(), limit) << "the account passed the limit: " << mib(worst.load());
  const hakmem_stats_t s1 = stats();
  EXPECT_GE(s1.limit_failures, s0.limit_failures + kThreads * kRounds);
  hakmem_collect(1);
  const hakmem_stats_t s2 = stats();
  // Everything was freed and the threads have exited: what stays counted is
  // at most what was there before plus the pools' kept SuperSlab headers
  // (a size_t that went below zero would be far above this).
  EXPECT_LE(s2.committed_bytes, s0.committed_bytes + 2 * kMiB)
      << "from " << mib(s0.committed_bytes) << " to " << mib(s2.committed_bytes);
}

// ---------------------------------------------------------------------------
// target and quiet: one program, two phases of different sizes

struct Phase {
  size_t lo, hi;   // sizes
  size_t bytes;    // allocated in all
  size_t keep;     // every keep-th block stays (0: all stay)
};

struct TwoPhases {
  PtrTable t{1 << 21};
  size_t n[2] = {0, 0};
  size_t live = 0;  // bytes handed out now
  size_t peak_committed = 0, peak_rss = 0;

  void sample() {
    hakmem_stats_t s = stats();
    peak_committed = s.committed_bytes > peak_committed ? s.committed_bytes : peak_committed;
    size_t r = rss_minus_lazyfree(s);
    peak_rss = r > peak_rss ? r : peak_rss;
  }
  // Allocates the phase into slots from base; samples every MiB.
  void alloc(int ph, const Phase& p, size_t base) {
    size_t total = 0, i = 0, next = kMiB;
    while (total < p.bytes) {
      size_t sz = spread(base + i, p.lo, p.hi);
      void* q = hk_malloc(sz);
      ASSERT_NE(q, nullptr);
      fill_sparse(q, sz, base + i);
      t.p[base + i++] = q;
      total += sz;
      if (total >= next) sample(), next += kMiB;
    }
    n[ph] = i;
    live += total;
  }
  void thin(const Phase& p, size_t base, size_t count) {
    for (size_t i = 0; i < count; ++i) {
      if (p.keep && i % p.keep == 0) continue;
      size_t sz = spread(base + i, p.lo, p.hi);
      ASSERT_EQ(check_sparse(t.p[base + i], sz, base + i), SIZE_MAX);
      hk_free(t.p[base + i]);
      t.p[base + i] = nullptr;
      live -= sz;
    }
  }
  void free_all(const Phase& p, size_t base, size_t count) {
    for (size_t i = 0; i < count; ++i)
      if (void* q = t.p[base + i]) {
        size_t sz = spread(base + i, p.lo, p.hi);
        ASSERT_EQ(check_sparse(q, sz, base + i), SIZE_MAX);
        hk_free(q);
        t.p[base + i] = nullptr;
      }
  }
};

constexpr size_t kSecond = size_t{1} << 20;  // slots of the second phase start here

// Phase a, thinned, then phase b, on the calling thread (or a in a thread
// that then exits or stays idle). Returns the peaks against the baseline.
enum class First { Here, ThreadExits, ThreadIdles };
void two_phases(const Phase& a, const Phase& b, First where, size_t allowance, const char* what) {
  TwoPhases r;
  hakmem_collect(1);
  const hakmem_stats_t s0 = stats();
  std::mutex m;
  std::condition_variable cv;
  bool done = false, go_home = false;
  std::thread idle;
  auto first = [&] {
    r.alloc(0, a, 0);
    r.thin(a, 0, r.n[0]);
  };
  if (where == First::Here) {
    first();
  } else if (where == First::ThreadExits) {
    std::thread(first).join();
  } else {
    idle = std::thread([&] {
      first();
      std::unique_lock<std::mutex> l(m);
      done = true;
      cv.notify_all();
      cv.wait(l, [&] { return go_home; });
    });
    std::unique_lock<std::mutex> l(m);
    cv.wait(l, [&] { return done; });
  }
  const size_t kept = r.live;
  // The peaks of the second phase: the first phase's own is its live data.
  r.peak_committed = r.peak_rss = 0;
  r.alloc(1, b, kSecond);
  r.sample();
  const hakmem_stats_t s1 = stats();
  // The floor: pages holding a live object (the first phase's survivors pin
  // theirs), plus rounding to the class sizes.
  const size_t floor = s1.live_object_page_bytes;
  EXPECT_LE(r.peak_committed, s0.committed_bytes + floor + allowance)
      << what << ": committed peak " << mib(r.peak_committed) << ", live pages " << mib(floor) << ", kept " << mib(kept)
      << ", second phase " << mib(b.bytes);
  EXPECT_LE(r.peak_rss, rss_minus_lazyfree(s0) + floor + allowance + kMiB)
      << what << ": RSS - LazyFree peak " << mib(r.peak_rss) << " from " << mib(rss_minus_lazyfree(s0));
  r.free_all(b, kSecond, r.n[1]);
  r.free_all(a, 0, r.n[0]);
  if (idle.joinable()) {
    {
      std::lock_guard<std::mutex> l(m);
      go_home = true;
    }
    cv.notify_all();
    idle.join();
  }
}

TEST(Budget, TargetHoldsWhenTheLiveDataFits) {
  if (expect() != "target") GTEST_FAIL() << "registered without HAKMEM_TEST_EXPECT=target";
  const size_t target = 16 * kMiB;
  struct Case {
    Phase a, b;
    const char* what;
  } cases[] = {
      {{16, 1024, 12 * kMiB, 64}, {512, 1023, 12 * kMiB, 0}, "pattern 2 at a third"},
      {{2048, 8192, 12 * kMiB, 16}, {16, 256, 12 * kMiB, 0}, "large to small, keep 1/16"},
      {{16, 512, 12 * kMiB, 64}, {40000, 200000, 8 * kMiB, 0}, "small to large blocks"},
  };
  for (const Case& c : cases) {
    TwoPhases r;
    hakmem_collect(1);
    const hakmem_stats_t s0 = stats();
    r.alloc(0, c.a, 0);
    r.thin(c.a, 0, r.n[0]);
    r.alloc(1, c.b, kSecond);
    const hakmem_stats_t s1 = stats();
    ASSERT_LE(s1.live_object_page_bytes, target - 2 * kMiB) << c.what << ": the live data must fit for this to hold";
    EXPECT_LE(r.peak_committed, target + 2 * kMiB) << c.what << ": committed peak " << mib(r.peak_committed);
    EXPECT_LE(r.peak_rss, rss_minus_lazyfree(s0) + target + 2 * kMiB)
        << c.what << ": RSS - LazyFree peak " << mib(r.peak_rss) << " from " << mib(rss_minus_lazyfree(s0));
    r.free_all(c.b, kSecond, r.n[1]);
    r.free_all(c.a, 0, r.n[0]);
  }
}

// Without any setting. The allowance: the current slab of each class in use
// (64 KiB each) and the thread caches of a thread that stays alive but idle
// (their bins have no lock: only their owner returns them).
TEST(Budget, QuietClassesGiveBackBeforeMoreIsCommitted) {
  if (expect() != "quiet") GTEST_FAIL() << "registered without HAKMEM_TEST_EXPECT=quiet";
  const size_t slabs = 64 * (64 << 10);
  two_phases({16, 1024, 24 * kMiB, 64}, {512, 1023, 24 * kMiB, 0}, First::Here, slabs, "pattern 2");
  two_phases({16, 480, 24 * kMiB, 16}, {600, 1000, 24 * kMiB, 0}, First::Here, slabs, "disjoint ranges, keep 1/16");
  two_phases({1024, 4096, 24 * kMiB, 256}, {16, 200, 24 * kMiB, 0}, First::Here, slabs, "large sizes first, keep 1/256");
  two_phases({16, 1024, 24 * kMiB, 64}, {512, 1023, 24 * kMiB, 0}, First::ThreadExits, slabs, "first phase in a thread that exited");
  // (A thread that stays alive but idle commits nothing, so its classes are
  // never quiet by its own clock: a thread that is merely descheduled must
  // not lose its pages. Its free pages go with the timed sweep, tests/lean.)
}

}  // namespace
