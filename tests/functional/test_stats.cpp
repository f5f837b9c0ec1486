// hakmem_stats / hakmem_collect / hakmem_print_stats.
#include <gtest/gtest.h>
#include <hakmem.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace hktest;

namespace {

bool env_lean() {
  const char* v = std::getenv("HAKMEM_MEM_LEAN");
  return v && std::string(v) == "1";
}

size_t parse_size(const char* s) {
  char* end = nullptr;
  unsigned long long v = std::strtoull(s, &end, 10);
  switch (*end) {
    case 'k': case 'K': v <<= 10; break;
    case 'm': case 'M': v <<= 20; break;
    case 'g': case 'G': v <<= 30; break;
    case 't': case 'T': v <<= 40; break;
    default: break;
  }
  return v;
}

TEST(Collect, CallableBeforeAnyAllocation) {
  // This is the first test in the binary: the allocator may not be initialised yet.
  hakmem_collect(0);
  hakmem_collect(1);
  void* p = hk_malloc(100);
  ASSERT_NE(p, nullptr);
  hk_free(p);
}

TEST(Stats, ModeAndSuperSlabSizeMatchEnvironment) {
  void* p = hk_malloc(64);  // make sure the allocator is initialised
  hakmem_stats_t s;
  std::memset(&s, 0xff, sizeof s);
  ASSERT_EQ(hakmem_stats(&s), 0);
  ASSERT_NE(std::getenv("HAKMEM_MEM_LEAN"), nullptr) << "test must run with HAKMEM_MEM_LEAN set";
  EXPECT_EQ(s.lean, env_lean() ? 1 : 0);
  size_t expect_ss;
  if (const char* ss = std::getenv("HAKMEM_SS_SIZE")) expect_ss = parse_size(ss);
  else expect_ss = env_lean() ? (256u << 10) : (2u << 20);
  EXPECT_EQ(s.superslab_size, expect_ss);
  EXPECT_GT(s.rss, 0u);
  Rollup r = read_rollup();
  ASSERT_TRUE(r.ok);
  // The reported RSS comes from smaps_rollup: same order of magnitude as ours.
  EXPECT_LE(s.rss, r.rss * 2 + (4u << 20));
  EXPECT_GE(s.rss * 2 + (4u << 20), r.rss);
  EXPECT_GE(s.superslabs_mapped, 1u);
  EXPECT_GE(s.superslab_bytes_mapped, s.superslabs_mapped * s.superslab_size);
  // The main thread's stack is resident (the test runs on it) and bounded.
  EXPECT_GT(s.main_stack, 0u);
  EXPECT_LE(s.main_stack, s.rss);
  hk_free(p);
}

// The SuperSlab reservation: its size as asked (rounded down to SuperSlabs),
// and SuperSlabs beyond it still served (mapped on their own).
TEST(Stats, ReservationMatchesEnvironment) {
  const char* env = std::getenv("HAKMEM_ARENA_SIZE");
  size_t want = env ? parse_size(env) : size_t{32} << 30;
  std::vector<void*> blocks;
  // Blocks of at least 24 classes (16..256 in steps of 16, then +25%), so
  // at least 24 SuperSlabs.
  for (size_t c = 16; c <= 32768; c += c < 256 ? 16 : c / 4)
    for (int i = 0; i < 8; ++i) blocks.push_back(hk_malloc(c));
  hakmem_stats_t s;
  ASSERT_EQ(hakmem_stats(&s), 0);
  want -= want % s.superslab_size;
  EXPECT_EQ(s.arena_bytes, want);
  EXPECT_LE(s.arena_superslabs, s.superslabs_mapped);
  EXPECT_LE(s.arena_superslabs * s.superslab_size, s.arena_bytes);
  if (want == 0) EXPECT_EQ(s.arena_superslabs, 0u);
  // With room for them, every SuperSlab is in the reservation.
  if (want >= (size_t{1} << 30)) EXPECT_EQ(s.arena_superslabs, s.superslabs_mapped);
  // A small reservation fills up and the rest are mapped on their own.
  if (want > 0 && want < 24 * s.superslab_size) {
    EXPECT_EQ(s.arena_superslabs * s.superslab_size, want);
    EXPECT_GT(s.superslabs_mapped, s.arena_superslabs);
  }
  for (void* b : blocks) hk_free(b);
}

TEST(Stats, LiveLargeBytesTrackLargeAllocations) {
  hakmem_stats_t a, b, c;
  ASSERT_EQ(hakmem_stats(&a), 0);
  void* p = hk_malloc(8u << 20);
  ASSERT_NE(p, nullptr);
  ASSERT_EQ(hakmem_stats(&b), 0);
  EXPECT_GE(b.live_large_bytes, a.live_large_bytes + (8u << 20));
  hk_free(p);
  ASSERT_EQ(hakmem_stats(&c), 0);
  EXPECT_LT(c.live_large_bytes, b.live_large_bytes);
}

// Freed large mappings are kept for reuse, as many as the mode allows: FAST
// keeps every one up to 128 MiB (a program cycling through a few hundred
// 64 KiB buffers maps them once), LEAN at most 8 MiB while few large
// blocks are live.
TEST(Stats, FreedLargeMappingsAreCachedAndReused) {
  constexpr size_t kSize = 64 << 10, kCount = 300;
  hakmem_collect(1);
  hakmem_stats_t b, c;
  std::vector<void*> v(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    v[i] = hk_malloc(kSize);
    ASSERT_NE(v[i], nullptr);
    fill(v[i], kSize, i);
  }
  for (void* p : v) hk_free(p);
  ASSERT_EQ(hakmem_stats(&b), 0);
  for (size_t i = 0; i < kCount; ++i) {
    v[i] = hk_malloc(kSize);
    ASSERT_NE(v[i], nullptr);
    fill(v[i], kSize, 1000 + i);
  }
  ASSERT_EQ(hakmem_stats(&c), 0);
  for (size_t i = 0; i < kCount; ++i) ASSERT_EQ(check(v[i], kSize, 1000 + i), SIZE_MAX) << "block " << i;
  for (void* p : v) hk_free(p);
  EXPECT_GT(b.large_cache_bytes, 0u);
  if (env_lean()) {
    EXPECT_LE(b.large_cache_bytes, size_t{8} << 20);
  } else {
    // Earlier tests may have left mappings in the cache too: what matters is
    // that these were kept and the second round took them, not new ones.
    EXPECT_GE(b.large_cache_bytes, kCount * kSize) << "not every freed mapping was kept";
    EXPECT_EQ(c.mmap_calls, b.mmap_calls) << "mappings were made again instead of reused";
    EXPECT_LE(c.large_cache_bytes + kCount * kSize, b.large_cache_bytes) << "the reuse did not take them from the cache";
  }
}

// Pages of our own mapped right before and behind blocks, where nothing was
// mapped, so that the next block cannot be placed beside them: cached
// mappings side by side join into one (see
// BlocksCutFromACachedMappingJoinItAgainWhenFreed), and these tests count
// mappings one by one.
struct KeepApart {
  std::vector<void*> pages;
  void guard(void* block, size_t n) {
    char* b = static_cast<char*>(block);
    for (char* at : {b - 4096, b + ((n + 4095) & ~size_t{4095})}) {
      void* g = mmap(at, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (g == at) pages.push_back(g);
      else if (g != MAP_FAILED) munmap(g, 4096);  // a kernel without MAP_FIXED_NOREPLACE put it elsewhere
    }
  }
  ~KeepApart() {
    for (void* g : pages) munmap(g, 4096);
  }
};

// The cache is bounded in bytes too: the oldest mappings go first.
TEST(Stats, LargeCacheIsBoundedInBytes) {
  const size_t budget = env_lean() ? size_t{8} << 20 : size_t{128} << 20;
  const size_t size = budget / 3 + (64 << 10);  // three do not fit
  // From an empty cache: in LEAN a block that does not fit beside older
  // committed ones is kept lazily released (not counted here) rather than
  // pushing them out.
  hakmem_collect(1);
  // Freed side by side, the blocks would join into one cached mapping.
  KeepApart apart;
  void* p[3];
  for (auto& q : p) {
    q = hk_malloc(size);
    ASSERT_NE(q, nullptr);
    apart.guard(q, size);
  }
  for (void* q : p) hk_free(q);
  hakmem_stats_t s;
  ASSERT_EQ(hakmem_stats(&s), 0);
  EXPECT_LE(s.large_cache_bytes, budget);
  EXPECT_GE(s.large_cache_bytes, 2 * size) << "the two newest mappings should be kept";
  // The newest is reused first (best fit, then any of the kept ones).
  void* again = hk_malloc(size);
  EXPECT_TRUE(again == p[1] || again == p[2]) << "expected a kept mapping, got a new one";
  hk_free(again);
}

// Blocks that outgrow what the cache holds (a table resized again and
// again, one buffer size after another) push the outgrown mappings out as
// they are mapped: the cache never holds more than the program has had live
// at once. Mappings that fit are still reused.
TEST(Stats, LargeCacheGivesWayToBlocksThatOutgrowIt) {
  constexpr size_t kSmall = size_t{1} << 20, kBig = size_t{3} << 20;  // 1 MiB ones can never serve 3 MiB
  hk_malloc_trim(0);  // an empty cache (in both modes): the high-water of live large bytes starts again
  // Freed side by side, the 1 MiB blocks would join and serve a 3 MiB one.
  KeepApart apart;
  void* small[4];
  for (auto& q : small) {
    q = hk_malloc(kSmall);
    ASSERT_NE(q, nullptr);
    apart.guard(q, kSmall);
    fill(q, kSmall, 1);
  }
  for (void* q : small) hk_free(q);
  hakmem_stats_t b, c, d;
  ASSERT_EQ(hakmem_stats(&b), 0);
  ASSERT_GE(b.large_cache_bytes, 4 * kSmall) << "the freed 1 MiB blocks should be cached";
  void* big[2];
  for (auto& q : big) {
    q = hk_malloc(kBig);
    ASSERT_NE(q, nullptr);
    fill(q, kBig, 2);
  }
  ASSERT_EQ(hakmem_stats(&c), 0);
  // Live 6 MiB, more than the 4 MiB the high-water was: the four outgrown
  // mappings went as the two new ones came.
  EXPECT_EQ(c.large_cache_bytes, 0u) << "outgrown mappings stayed cached beside the new blocks";
  EXPECT_GE(c.munmap_calls, b.munmap_calls + 4);
  // A freed block of the size wanted is still taken again.
  hk_free(big[1]);
  void* again = hk_malloc(kBig);
  EXPECT_EQ(again, big[1]) << "a cached mapping of the size asked for was not reused";
  ASSERT_EQ(hakmem_stats(&d), 0);
  EXPECT_EQ(d.mmap_calls, c.mmap_calls);
  hk_free(again);
  hk_free(big[0]);
}

// Minor page faults of the process so far.
long minor_faults() {
  rusage u;
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// Live large blocks never touched (no RSS): LEAN's cache budget is a share of
// the live large bytes (a quarter), so with these it keeps what the tests free.
struct LargeBallast {
  std::vector<void*> v;
  explicit LargeBallast(size_t bytes) {
    for (size_t done = 0; done < bytes; done += size_t{32} << 20) v.push_back(hk_malloc(size_t{32} << 20));
  }
  ~LargeBallast() {
    for (void* p : v) hk_free(p);
  }
};

// What one page-table page maps on x86-64.
constexpr size_t kPageTableSpan = size_t{2} << 20;

bool all_bytes(const void* p, size_t n, unsigned char value) {
  auto* b = static_cast<const unsigned char*>(p);
  for (size_t i = 0; i < n; ++i)
    if (b[i] != value) return false;
  return true;
}

// Issue 14: a freed 24 MiB block serves a later 7 MiB request, and what is
// left of it a 10 MiB calloc: no new mapping, no page faulted in anew, and
// the calloc reads as zeros (it costs a memset).
TEST(LargeReuse, FreedBlockServesSmallerRequestsWithoutFaults) {
  LargeBallast ballast(size_t{256} << 20);
  constexpr size_t kBig = size_t{24} << 20, kPart = size_t{7} << 20, kRest = size_t{10} << 20;
  char* p = static_cast<char*>(hk_malloc(kBig));
  ASSERT_NE(p, nullptr);
  std::memset(p, 0x5a, kBig);
  hk_free(p);
  hakmem_stats_t b, c;
  ASSERT_EQ(hakmem_stats(&b), 0);
  const long f0 = minor_faults();
  char* q = static_cast<char*>(hk_malloc(kPart));
  char* r = static_cast<char*>(hk_calloc(1, kRest));
  ASSERT_NE(q, nullptr);
  ASSERT_NE(r, nullptr);
  EXPECT_TRUE(all_bytes(r, kRest, 0)) << "calloc of reused memory is not zero";
  std::memset(q, 1, kPart);
  std::memset(r, 2, kRest);
  const long faults = minor_faults() - f0;
  ASSERT_EQ(hakmem_stats(&c), 0);
  EXPECT_LT(faults, static_cast<long>((kPart + kRest) / 4096 / 8)) << "the pages were faulted in anew";
  EXPECT_EQ(c.mmap_calls, b.mmap_calls) << "a new mapping was made";
  EXPECT_TRUE(all_bytes(q, kPart, 1));
  EXPECT_TRUE(all_bytes(r, kRest, 2));
  hk_free(q);
  hk_free(r);
}

// A request larger than every cached block is made of several (moved side
// by side with mremap): the pages that were in use are used again, calloc
// zeroes them, and the block grows with realloc like any other.
TEST(LargeReuse, LargerRequestGathersCachedBlocks) {
  LargeBallast ballast(size_t{512} << 20);
  hk_malloc_trim(0);  // nothing cached that a or b could join when freed
  // Sizes off a 2 MiB multiple: the kernel does not align such mappings itself.
  constexpr size_t kA = (size_t{50} << 20) + 3 * 4096, kB = (size_t{44} << 20) + 5 * 4096,
                   kWant = (size_t{90} << 20) + 4096;
  KeepApart apart;  // a and b, freed side by side, would join
  char* a = static_cast<char*>(hk_malloc(kA));
  if (a) apart.guard(a, kA);
  char* b = static_cast<char*>(hk_malloc(kB));
  ASSERT_TRUE(a && b);
  std::memset(a, 3, kA);
  std::memset(b, 4, kB);
  hk_free(a);
  hk_free(b);
  const long f0 = minor_faults();
  char* w = static_cast<char*>(hk_calloc(1, kWant));
  ASSERT_NE(w, nullptr);
  EXPECT_TRUE(all_bytes(w, kWant, 0)) << "calloc of gathered memory is not zero";
  std::memset(w, 5, kWant);
  const long faults = minor_faults() - f0;
  // A quarter of the pages: room for ASan, whose shadow (an eighth of the
  // bytes) faults in at the block's new addresses.
  EXPECT_LT(faults, static_cast<long>(kWant / 4096 / 4)) << "the cached pages were not used again";
  // a, the largest piece, moved whole page tables: it kept its address
  // modulo what one page table maps (mremap moved 4 KiB entries one at a
  // time otherwise, each page then slow at its first write on a VM).
  EXPECT_EQ((reinterpret_cast<uintptr_t>(w) - reinterpret_cast<uintptr_t>(a)) % kPageTableSpan, 0u)
      << "the gathered block is not placed where its largest piece keeps its page tables";
  char* g = static_cast<char*>(hk_realloc(w, kWant + (size_t{8} << 20)));
  ASSERT_NE(g, nullptr);
  EXPECT_TRUE(all_bytes(g, kWant, 5)) << "realloc lost the contents";
  hk_free(g);
}

// Blocks cut from one cached mapping join it again when they are freed, in
// either order, whether the cut leaves a large tail or a few pages: the
// whole size is then served by the same memory, with no new mapping (before
// the join, every piece stayed apart and a request for the whole was a
// fresh mapping, faulted in page by page).
TEST(LargeReuse, BlocksCutFromACachedMappingJoinItAgainWhenFreed) {
  LargeBallast ballast(size_t{256} << 20);
  constexpr size_t kPage = 4096;
  // The smallest tail each mode keeps (LEAN unmaps smaller ones: they would
  // crowd its 8 MiB budget; modes/presets.h large_cache_min_tail).
  const size_t tail = env_lean() ? size_t{64} << 10 : 2 * kPage;
  struct Cut {
    size_t whole, a, b;
  };
  const Cut cuts[] = {
      {size_t{640} << 10, size_t{320} << 10, size_t{160} << 10},  // within the exact-size lists
      {size_t{1} << 20, (size_t{1} << 20) - tail - 40 * 1024, 40 * 1024},  // the smallest tail kept
      {(size_t{9} << 20) + 3 * kPage, (size_t{5} << 20) + kPage, size_t{3} << 20},  // above them
  };
  for (const Cut& cut : cuts) {
    for (bool a_first : {true, false}) {
      SCOPED_TRACE(testing::Message() << "whole " << cut.whole << " a " << cut.a << " b " << cut.b
                                      << (a_first ? " a freed first" : " b freed first"));
      hk_malloc_trim(0);  // nothing cached: the cuts come from w
      char* w = static_cast<char*>(hk_malloc(cut.whole));
      ASSERT_NE(w, nullptr);
      std::memset(w, 0x5a, cut.whole);
      hk_free(w);
      char* a = static_cast<char*>(hk_malloc(cut.a));
      char* b = static_cast<char*>(hk_malloc(cut.b));
      ASSERT_EQ(a, w) << "the first block was not cut from the cached mapping";
      ASSERT_EQ(b, w + cut.a) << "the second block was not cut from what was left";
      hakmem_stats_t before, after;
      ASSERT_EQ(hakmem_stats(&before), 0);
      hk_free(a_first ? a : b);
      hk_free(a_first ? b : a);
      char* again = static_cast<char*>(hk_calloc(1, cut.whole));
      ASSERT_EQ(hakmem_stats(&after), 0);
      ASSERT_NE(again, nullptr);
      EXPECT_EQ(again, w) << "the pieces did not join again";
      EXPECT_EQ(after.mmap_calls, before.mmap_calls) << "a new mapping was made";
      EXPECT_TRUE(all_bytes(again, cut.whole, 0)) << "calloc of joined memory is not zero";
      hk_free(again);
    }
  }
}

// A large block that realloc cannot grow in place moves to an address that
// is its own modulo what one page table maps, so that mremap moves its page
// tables whole (see os::map_congruent); its contents come along.
TEST(LargeReuse, ReallocMovesBlocksWholePageTablesAtATime) {
  constexpr size_t kOld = (size_t{8} << 20) + 5 * 4096, kNew = size_t{20} << 20;
  for (int round = 0; round < 4; ++round) {
    hk_malloc_trim(0);  // a fresh mapping, not a piece of a cached one
    char* p = static_cast<char*>(hk_malloc(kOld));
    ASSERT_NE(p, nullptr);
    std::memset(p, 7, kOld);
    // Whatever follows the block (a page of ours, or a mapping already
    // there) keeps it from growing in place.
    void* wall = mmap(p + kOld, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    char* q = static_cast<char*>(hk_realloc(p, kNew + round * 4096 * 3));
    if (wall != MAP_FAILED) munmap(wall, 4096);
    ASSERT_NE(q, nullptr);
    EXPECT_NE(q, p) << "the block grew in place past a mapping";
    EXPECT_EQ((reinterpret_cast<uintptr_t>(q) - reinterpret_cast<uintptr_t>(p)) % kPageTableSpan, 0u)
        << "realloc moved the block to " << static_cast<void*>(q) << " from " << static_cast<void*>(p);
    EXPECT_TRUE(all_bytes(q, kOld, 7)) << "realloc lost the contents";
    hk_free(q);
  }
}

TEST(Collect, LiveObjectsSurviveForcedCollect) {
  // Fragment slabs (every other object freed), force-release everything idle,
  // then check that every live object is intact and slabs are reusable.
  std::vector<std::tuple<void*, size_t, uint64_t>> live;
  std::mt19937_64 rng(3);
  std::vector<void*> dead;
  for (int i = 0; i < 60000; ++i) {
    size_t n = (i % 500 == 0) ? 40000 + rng() % 100000 : 16 + rng() % 1024;
    void* p = hk_malloc(n);
    ASSERT_NE(p, nullptr);
    fill_sparse(p, n, i);
    if (i % 2) dead.push_back(p);
    else live.emplace_back(p, n, i);
  }
  for (void* p : dead) hk_free(p);
  hakmem_collect(1);
  for (auto& [p, n, id] : live) ASSERT_EQ(check_sparse(p, n, id), SIZE_MAX) << "object " << id;
  hakmem_collect(0);
  // Allocate into the released holes; fresh objects are correct, calloc is zero.
  std::vector<std::tuple<void*, size_t, uint64_t>> again;
  for (int i = 0; i < 30000; ++i) {
    size_t n = 16 + rng() % 1024;
    void* p = (i % 2) ? hk_calloc(1, n) : hk_malloc(n);
    ASSERT_NE(p, nullptr);
    if (i % 2) ASSERT_EQ(first_nonzero(p, n), SIZE_MAX) << "calloc after collect not zero";
    fill_sparse(p, n, 1000000 + i);
    again.emplace_back(p, n, 1000000 + i);
  }
  for (auto& [p, n, id] : live) ASSERT_EQ(check_sparse(p, n, id), SIZE_MAX);
  for (auto& [p, n, id] : again) ASSERT_EQ(check_sparse(p, n, id), SIZE_MAX);
  for (auto& [p, n, id] : live) hk_free(p);
  for (auto& [p, n, id] : again) hk_free(p);
  hakmem_collect(1);
  hakmem_collect(0);
}

TEST(Collect, FromThreadsThatNeverAllocated) {
  std::thread t([] {
    hakmem_collect(1);
    hakmem_collect(0);
  });
  t.join();
  hakmem_stats_t s;
  std::thread u([&] { EXPECT_EQ(hakmem_stats(&s), 0); });
  u.join();
}

// Thread caches are bounded: freeing many objects of one class leaves at
// most the per-class budget in this thread's cache (64 KiB, at least 16 and
// at most 1024 objects, in both modes; bins grow only up to 1024
// objects, and 64 B objects start there), the rest goes back to the slabs.
TEST(Stats, ThreadCacheIsBoundedPerClass) {
  hakmem_collect(1);  // start with empty caches
  const size_t size = 64, count = 20000;
  std::vector<void*> v(count);
  for (auto& p : v) p = hk_malloc(size);
  for (void* p : v) hk_free(p);
  hakmem_stats_t s;
  ASSERT_EQ(hakmem_stats(&s), 0);
  const size_t budget = 64 * 1024;
  EXPECT_GT(s.thread_cache_bytes, 0u) << "frees did not go through the cache";
  std::fprintf(stderr, "thread cache after the frees: %zu bytes\n", s.thread_cache_bytes);
  // Other classes hold a few KiB from gtest's own allocations.
  EXPECT_LE(s.thread_cache_bytes, budget + 8 * 1024) << "cache of " << s.thread_cache_bytes << " bytes";
}

// Light activity in another class (16 B), every 10 ms for at most 3 s,
// until this thread's cache holds at most limit bytes: LEAN's ticks come
// when the background thread moves the tick epoch, every half delay while
// the process is active (or every few dozen frees without that thread).
// Returns the cache's bytes at the end.
static size_t light_activity_until_cache_at_most(size_t limit) {
  hakmem_stats_t s{};
  for (int round = 0; round < 300; ++round) {
    for (int i = 0; i < 100; ++i) hk_free(hk_malloc(16));
    EXPECT_EQ(hakmem_stats(&s), 0);
    if (s.thread_cache_bytes <= limit) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return s.thread_cache_bytes;
}

// A bin that overflows again after refilling cycles more objects than it
// holds: it doubles (up to 8 times its 64 KiB in FAST, 4 in LEAN, at most
// 1024 objects), so a loop allocating and freeing 200 objects of 1 KiB
// keeps them all in its cache instead of moving half a bin to the slabs and
// back each time. LEAN then gives an idle bin back and starts it again at
// 64 KiB: a later burst of 200 frees keeps at most one doubling of that
// (FAST keeps its bins).
TEST(Stats, BinGrowsWhenItCyclesMoreThanItHoldsAndLeanShrinksItWhenIdle) {
  const char* d = std::getenv("HAKMEM_DECOMMIT_DELAY_MS");
  const long delay_ms = env_lean() ? (d ? std::atol(d) : 200) : 0;
  if (delay_ms > 5000) GTEST_SKIP() << "delay of " << delay_ms << " ms: too long to wait for here";
  size_t before = 0, grown = 0, idle = 0, burst = 0;
  std::thread([&] {
    hakmem_stats_t s;
    ASSERT_EQ(hakmem_stats(&s), 0);
    before = s.thread_cache_bytes;
    std::vector<void*> v(200);
    for (int round = 0; round < 6; ++round) {
      for (auto& p : v) p = hk_malloc(1000);
      for (void* p : v) hk_free(p);
    }
    ASSERT_EQ(hakmem_stats(&s), 0);
    grown = s.thread_cache_bytes;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms + 100));
    idle = env_lean() ? light_activity_until_cache_at_most(before + (size_t{8} << 10)) : grown;
    for (auto& p : v) p = hk_malloc(1000);
    for (void* p : v) hk_free(p);
    ASSERT_EQ(hakmem_stats(&s), 0);
    burst = s.thread_cache_bytes;
  }).join();
  auto more = [&](size_t x) { return x > before ? x - before : 0; };
  std::fprintf(stderr, "200 objects of 1 KiB cycled: %zu bytes more cached; idle: %zu; one more burst: %zu\n",
               more(grown), more(idle), more(burst));
  // Other classes hold a few KiB from gtest's own allocations.
  EXPECT_GE(more(grown), size_t{200} * 1024 - (size_t{8} << 10)) << "the bin did not grow to hold the 200 objects";
  if (env_lean()) {
    EXPECT_LE(more(idle), size_t{8} << 10) << "the idle bin was not given back";
    EXPECT_LE(more(burst), (size_t{128} << 10) + (size_t{8} << 10)) << "the bin given back did not start again at 64 KiB";
  } else {
    EXPECT_GE(more(burst), size_t{200} * 1024 - (size_t{8} << 10)) << "FAST's grown bin shrank";
  }
}

// LEAN gives a thread's cached objects back to their slabs once per decommit
// delay (on the thread's own next frees), so a thread that has gone quiet
// does not pin the pages they sit on. FAST keeps them.
TEST(Stats, LeanReturnsTheThreadCacheAfterTheDelay) {
  const char* d = std::getenv("HAKMEM_DECOMMIT_DELAY_MS");
  const long delay_ms = env_lean() ? (d ? std::atol(d) : 200) : 0;
  if (delay_ms > 5000) GTEST_SKIP() << "delay of " << delay_ms << " ms: too long to wait for here";
  hakmem_collect(1);
  std::vector<void*> v(4000);
  for (auto& p : v) p = hk_malloc(64);
  for (void* p : v) hk_free(p);
  hakmem_stats_t before, after;
  ASSERT_EQ(hakmem_stats(&before), 0);
  ASSERT_GE(before.thread_cache_bytes, size_t{32} << 10) << "the frees should leave half a bin or more cached";
  std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms + 100));
  // What stays is the 16-byte class in use: a refill of at most a page of
  // fresh objects (4 KiB) and gtest's odd object.
  if (env_lean()) {
    const size_t left = light_activity_until_cache_at_most(size_t{8} << 10);
    EXPECT_LE(left, size_t{8} << 10) << "cache still holds " << left << " bytes after 3 s of light activity";
  } else {
    for (int i = 0; i < 1000; ++i) hk_free(hk_malloc(16));
    ASSERT_EQ(hakmem_stats(&after), 0);
    EXPECT_GE(after.thread_cache_bytes, before.thread_cache_bytes);
  }
}

TEST(PrintStats, WritesToFd) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  hakmem_print_stats(fds[1]);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, r);
  close(fds[0]);
  EXPECT_GT(out.size(), 20u);
  EXPECT_NE(out.find("HAKMEM_SS_SIZE"), std::string::npos) << out;
  for (const char* row : {"rss ", "lazyfree ", "allocator_committed ", "main_stack ", "unaccounted ", "% of rss)"})
    EXPECT_NE(out.find(row), std::string::npos) << row << " missing in:\n" << out;
}

}  // namespace
