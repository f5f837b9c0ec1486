// LEAN gives back what a burst freed, whatever the pattern: the size range,
// how many survive, the order of the frees, which thread allocated, freed,
// exited or went idle, and whether any class stays in use. After the burst,
// RSS - LazyFree and then RSS itself (once MADV_FREE escalated to DONTNEED)
// must come down to the pages that still hold a survivor plus a margin,
// within a bounded time and without hakmem_collect.
//
// The floor is computed here from the survivors' addresses (4 KiB pages any
// survivor overlaps), not taken from the allocator. The margin covers what
// LEAN may keep by design: 2 MiB (the program's own pages, each class's
// current slab, the idle cap) and the allocator's metadata. After 3 s every
// pattern here is within 1.1 MiB of the floor (2.3 MiB with 64 KiB
// SuperSlabs, metadata included; measured on 681ea24).
//
// "One class active": the main thread does free(malloc(64)) every 10 ms,
// as an idle service's timer would. "All classes active": every 10 ms one
// malloc/free of each class the burst used. "No class active":
// no allocator call at all; the background thread (HAKMEM_DECOMMIT_THREAD=1,
// registered as its own test) must do the work. Threads: one, or 2 and 4
// threads that each free another's blocks, then stay idle or exit.
#include <gtest/gtest.h>
#include <hakmem.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../functional/test_util.h"

namespace {

enum class Order { Forward, Reverse, Random };
enum class Threads {
  Same,         // allocated and freed by the main thread
  CrossIdle,    // allocated by A, freed by the main thread; A stays alive and idle
  Orphans,      // allocated and freed by A, which exits: survivors in orphaned slabs
  OrphanRemote, // allocated by A, which exits; freed by the main thread
  IdleOwner,    // allocated and freed by A, which stays alive and idle
  Ring,         // Pattern::ring threads each allocate a slice and free the next
                // thread's slice (every free remote), then stay alive and idle
  RingExit,     // the same, then the threads exit (orphans with remote frees)
};
enum class Active { One, All, None };

struct Pattern {
  const char* name;
  size_t min_size, max_size;
  size_t keep_every;  // 0: nothing survives
  Order order;
  Threads threads;
  Active active;
  unsigned ring = 0;  // threads of Threads::Ring / RingExit
};

constexpr size_t kBurstBytes = size_t{24} << 20;
constexpr size_t kMiB = size_t{1} << 20;

size_t rss_minus_lazyfree(const hktest::Rollup& r) { return r.rss - (r.lazyfree < r.rss ? r.lazyfree : r.rss); }

// Waits on a flag without calling the allocator under test (std::condition_variable
// does not allocate once constructed).
class Gate {
 public:
  void open() {
    std::lock_guard<std::mutex> g(m_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock<std::mutex> g(m_);
    cv_.wait(g, [this] { return open_; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  bool open_ = false;
};

int tag(size_t i) { return static_cast<int>((i * 0x9E3779B97F4A7C15ull) >> 56) | 1; }
bool intact(const void* q, size_t n, size_t i) {
  auto* c = static_cast<const unsigned char*>(q);
  return c[0] == tag(i) && c[n / 2] == tag(i) && c[n - 1] == tag(i);
}

struct Burst {
  std::vector<void*> blocks;
  std::vector<size_t> sizes;
  std::vector<uintptr_t> pages;  // scratch for survivor_pages_bytes
  std::vector<size_t> order;     // the order of the frees
};

size_t block_size(const Pattern& p, size_t i) { return p.min_size + (37 * i) % (p.max_size - p.min_size + 1); }

// The test's own arrays are sized and written before the baseline is read,
// so they do not count against the allocator.
void prepare(const Pattern& p, Burst& b) {
  size_t count = 0;
  for (size_t total = 0; total < kBurstBytes; ++count) total += block_size(p, count);
  b.blocks.assign(count, nullptr);
  b.sizes.assign(count, 0);
  b.order.assign(count, 0);
  // Pages per block: at most 9 (32 KiB + a partial page at each end).
  b.pages.assign(count * (p.max_size / 4096 + 2), 0);
}

void allocate_range(const Pattern& p, Burst& b, size_t lo, size_t hi) {
  for (size_t i = lo; i < hi; ++i) {
    size_t n = block_size(p, i);
    void* q = hk_malloc(n);
    ASSERT_NE(q, nullptr);
    std::memset(q, tag(i), n);
    b.blocks[i] = q;
    b.sizes[i] = n;
  }
}

void allocate(const Pattern& p, Burst& b) { allocate_range(p, b, 0, b.blocks.size()); }

bool survives(const Pattern& p, size_t i) { return p.keep_every && i % p.keep_every == 0; }

// Blocks [lo, hi) in the pattern's order (b.order[lo, hi) is the scratch, so
// threads freeing disjoint ranges do not share it).
void free_range(const Pattern& p, Burst& b, size_t lo, size_t hi) {
  auto first = b.order.begin() + static_cast<ptrdiff_t>(lo), last = b.order.begin() + static_cast<ptrdiff_t>(hi);
  for (size_t i = lo; i < hi; ++i) b.order[i] = i;
  if (p.order == Order::Reverse) std::reverse(first, last);
  if (p.order == Order::Random) std::shuffle(first, last, std::mt19937_64(42 + lo));
  for (auto it = first; it != last; ++it) {
    const size_t i = *it;
    if (survives(p, i)) continue;
    ASSERT_TRUE(intact(b.blocks[i], b.sizes[i], i)) << "block " << i;
    hk_free(b.blocks[i]);
    b.blocks[i] = nullptr;
  }
}

void free_in_order(const Pattern& p, Burst& b) { free_range(p, b, 0, b.blocks.size()); }

// Every thread waits until all have arrived (no allocator call).
class Latch {
 public:
  explicit Latch(unsigned n) : left_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> g(m_);
    if (--left_ == 0) cv_.notify_all();
    cv_.wait(g, [this] { return left_ == 0; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned left_;
};

// One request size per class the pattern's range touches: 16-byte steps up
// to 256, then an eighth of the size (four classes per doubling, so every
// class gets at least one).
template <class F>
void each_class_size(const Pattern& p, F f) {
  for (size_t n = p.min_size; n <= p.max_size; n += n < 256 ? 16 : n / 8) f(n);
}

// In b.pages (sized by prepare, so no allocation here).
size_t survivor_pages_bytes(Burst& b) {
  size_t n = 0;
  for (size_t i = 0; i < b.blocks.size(); ++i) {
    if (!b.blocks[i]) continue;  // freed
    uintptr_t a = reinterpret_cast<uintptr_t>(b.blocks[i]);
    for (uintptr_t pg = a / 4096; pg <= (a + b.sizes[i] - 1) / 4096; ++pg) b.pages[n++] = pg;
  }
  std::sort(b.pages.begin(), b.pages.begin() + n);
  return static_cast<size_t>(std::unique(b.pages.begin(), b.pages.begin() + n) - b.pages.begin()) * 4096;
}

class ReleasePattern : public ::testing::TestWithParam<Pattern> {};

TEST_P(ReleasePattern, FreedPagesLeaveRss) {
  const Pattern& p = GetParam();
  hakmem_stats_t st{};
  hakmem_stats(&st);
  ASSERT_TRUE(st.lean) << "a LEAN test";
  if (p.active == Active::None) {
    const char* t = std::getenv("HAKMEM_DECOMMIT_THREAD");
    ASSERT_TRUE(t && t[0] == '1') << "'no class active' needs HAKMEM_DECOMMIT_THREAD=1 (see CMakeLists.txt)";
  }
  Burst b;
  prepare(p, b);
  // What earlier tests left is gone first: the baseline is the allocator's low.
  hakmem_collect(1);
  const hktest::Rollup before = hktest::read_rollup();
  ASSERT_TRUE(before.ok);

  Gate done;
  std::thread worker;
  // The ring's threads use these until they are joined at the end.
  std::vector<std::thread> ring;
  ring.reserve(p.ring);
  const unsigned n = p.ring ? p.ring : 1;
  const size_t count = b.blocks.size();
  auto lo = [&](unsigned w) { return count * w / n; };
  Latch allocated(n), freed(n + 1);
  auto in_worker = [&](auto body, bool stay) {
    Gate ready;
    worker = std::thread([&, body, stay] {
      body();
      ready.open();
      if (stay) done.wait();  // alive, no allocator call
    });
    ready.wait();
    if (!stay) worker.join();
  };
  switch (p.threads) {
    case Threads::Same:
      allocate(p, b);
      free_in_order(p, b);
      break;
    case Threads::CrossIdle:
      in_worker([&] { allocate(p, b); }, true);
      free_in_order(p, b);
      break;
    case Threads::Orphans:
      in_worker([&] { allocate(p, b), free_in_order(p, b); }, false);
      break;
    case Threads::OrphanRemote:
      in_worker([&] { allocate(p, b); }, false);
      free_in_order(p, b);
      break;
    case Threads::IdleOwner:
      in_worker([&] { allocate(p, b), free_in_order(p, b); }, true);
      break;
    case Threads::Ring:
    case Threads::RingExit:
      for (unsigned w = 0; w < n; ++w) {
        ring.emplace_back([&, w] {
          allocate_range(p, b, lo(w), lo(w + 1));
          allocated.arrive_and_wait();
          const unsigned next = (w + 1) % n;
          free_range(p, b, lo(next), lo(next + 1));
          freed.arrive_and_wait();
          if (p.threads == Threads::Ring) done.wait();  // alive, no allocator call
        });
      }
      freed.arrive_and_wait();
      if (p.threads == Threads::RingExit)
        for (auto& t : ring) t.join();
      break;
  }
  ASSERT_FALSE(HasFatalFailure());
  const size_t floor = survivor_pages_bytes(b);
  const hktest::Rollup after_free = hktest::read_rollup();
  // No allowance for cache bins: LEAN returns a thread's bins once per
  // delay, and an idle thread's after half a delay (the background thread or
  // any other thread's sweep takes them), so an idle thread pins no pages.
  // SuperSlabs mapped on their own (HAKMEM_ARENA_SIZE small) carry their
  // slab metadata in their first page: resident while they hold survivors.
  hakmem_stats_t meta{};
  hakmem_stats(&meta);
  const size_t margin = 2 * kMiB + meta.metadata_bytes;
  const size_t base_net = rss_minus_lazyfree(before), base_rss = before.rss;

  // Idle: poll until both figures are within the floor, for at most 3 s
  // (15 decommit delays of 200 ms; the benchmark reports how fast it is).
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  hktest::Rollup now{};
  bool net_ok = false, rss_ok = false;
  double net_secs = -1, rss_secs = -1;
  while (clock::now() - start < std::chrono::seconds(3)) {
    if (p.active == Active::One) {
      void* q = hk_malloc(64);
      ASSERT_NE(q, nullptr);
      std::memset(q, 0x5a, 64);
      hk_free(q);
    }
    if (p.active == Active::All) {
      each_class_size(p, [&](size_t n) {
        void* q = hk_malloc(n);
        ASSERT_NE(q, nullptr);
        std::memset(q, 0x5a, n);
        hk_free(q);
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    now = hktest::read_rollup();
    double t = std::chrono::duration<double>(clock::now() - start).count();
    if (!net_ok && rss_minus_lazyfree(now) <= base_net + floor + margin) net_ok = true, net_secs = t;
    if (!rss_ok && now.rss <= base_rss + floor + margin) rss_ok = true, rss_secs = t;
    if (net_ok && rss_ok) break;
  }
  std::printf("%s: floor %zu KiB, after free +%zd KiB net, then +%zd KiB net (%.2f s) +%zd KiB rss (%.2f s)\n", p.name,
              floor >> 10, static_cast<ssize_t>(rss_minus_lazyfree(after_free) - base_net) / 1024,
              static_cast<ssize_t>(rss_minus_lazyfree(now) - base_net) / 1024, net_secs,
              static_cast<ssize_t>(now.rss - base_rss) / 1024, rss_secs);
  EXPECT_TRUE(net_ok) << "RSS - LazyFree stayed at +" << (rss_minus_lazyfree(now) - base_net) / 1024 << " KiB, floor "
                      << floor / 1024 << " KiB + margin " << margin / 1024 << " KiB";
  EXPECT_TRUE(rss_ok) << "RSS stayed at +" << (now.rss - base_rss) / 1024 << " KiB (MADV_FREE not escalated?), floor "
                      << floor / 1024 << " KiB + margin " << margin / 1024 << " KiB";

  done.open();
  if (worker.joinable()) worker.join();
  for (auto& t : ring)
    if (t.joinable()) t.join();
  // The survivors are intact and free normally afterwards.
  for (size_t i = 0; i < b.blocks.size(); ++i) {
    if (!b.blocks[i]) continue;
    ASSERT_TRUE(intact(b.blocks[i], b.sizes[i], i)) << "survivor " << i;
    hk_free(b.blocks[i]);
  }
}

// One dimension at a time from the pattern (16-1024 B, one in 64
// kept, forward, one thread, one class active), then a few combinations.
const Pattern kPatterns[] = {
    {"Base", 16, 1024, 64, Order::Forward, Threads::Same, Active::One},
    {"Small16to256", 16, 256, 64, Order::Forward, Threads::Same, Active::One},
    {"Mid256to1024", 256, 1024, 64, Order::Forward, Threads::Same, Active::One},
    {"Large1Kto32K", 1024, 32768, 64, Order::Forward, Threads::Same, Active::One},
    {"KeepHalf", 16, 1024, 2, Order::Forward, Threads::Same, Active::One},
    {"KeepEighth", 16, 1024, 8, Order::Forward, Threads::Same, Active::One},
    {"KeepNothing", 16, 1024, 0, Order::Forward, Threads::Same, Active::One},
    {"Reverse", 16, 1024, 64, Order::Reverse, Threads::Same, Active::One},
    {"Random", 16, 1024, 64, Order::Random, Threads::Same, Active::One},
    {"CrossThreadIdleOwner", 16, 1024, 64, Order::Forward, Threads::CrossIdle, Active::One},
    {"OrphansAfterExit", 16, 1024, 64, Order::Forward, Threads::Orphans, Active::One},
    {"OrphansFreedRemotely", 16, 1024, 64, Order::Random, Threads::OrphanRemote, Active::One},
    {"IdleThread", 16, 1024, 64, Order::Forward, Threads::IdleOwner, Active::One},
    {"SmallRandomKeep8", 16, 256, 8, Order::Random, Threads::Same, Active::One},
    {"LargeReverseCross", 1024, 32768, 8, Order::Reverse, Threads::CrossIdle, Active::One},
    {"KeepOneIn512", 16, 1024, 512, Order::Forward, Threads::Same, Active::One},
    {"LargeKeep512Random", 1024, 32768, 512, Order::Random, Threads::Same, Active::One},
    {"TwoThreadsFreeEachOther", 16, 1024, 64, Order::Random, Threads::Ring, Active::One, 2},
    {"FourThreadsFreeEachOther", 16, 1024, 64, Order::Forward, Threads::Ring, Active::One, 4},
    {"FourThreadsFreeEachOtherExit", 16, 1024, 8, Order::Reverse, Threads::RingExit, Active::One, 4},
    {"AllClassesActive", 16, 1024, 64, Order::Forward, Threads::Same, Active::All},
    {"AllClassesActiveSmallRandom", 16, 256, 8, Order::Random, Threads::Same, Active::All},
    {"AllClassesActiveLargeRing", 1024, 32768, 64, Order::Random, Threads::Ring, Active::All, 2},
    {"NoCallsBase", 16, 1024, 64, Order::Forward, Threads::Same, Active::None},
    {"NoCallsSmallKeep8", 16, 256, 8, Order::Random, Threads::Same, Active::None},
    {"NoCallsOrphans", 16, 1024, 64, Order::Forward, Threads::Orphans, Active::None},
    {"NoCallsCrossThread", 256, 1024, 64, Order::Reverse, Threads::CrossIdle, Active::None},
    {"NoCallsIdleThread", 16, 1024, 64, Order::Forward, Threads::IdleOwner, Active::None},
    {"NoCallsFourThreadsFreeEachOther", 16, 1024, 64, Order::Random, Threads::Ring, Active::None, 4},
    {"NoCallsKeepOneIn512", 16, 1024, 512, Order::Forward, Threads::Same, Active::None},
};

INSTANTIATE_TEST_SUITE_P(Lean, ReleasePattern, ::testing::ValuesIn(kPatterns),
                         [](const ::testing::TestParamInfo<Pattern>& i) { return std::string(i.param.name); });

}  // namespace
