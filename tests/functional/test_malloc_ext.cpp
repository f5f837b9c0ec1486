// glibc's malloc extensions as hk_* functions (core/malloc_ext.cc): the
// figures follow hakmem's own allocations, malloc_trim releases and says so,
// malloc_info/malloc_stats have glibc's shape, mallopt accepts what glibc
// documents. The program's own malloc is glibc's here (static core), so
// gtest's allocations never move hakmem's figures.
//
// HAKMEM_TEST_EXPECT=trim_threshold (registered with a decommit delay longer
// than the test) runs only TrimThreshold.*: mallopt(M_TRIM_THRESHOLD) decides
// whether freed memory goes at the free or waits for the delay.
#include <gtest/gtest.h>
#include <hakmem.h>
#include <limits.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "test_util.h"

using namespace hktest;

namespace {

constexpr size_t kMiB = size_t{1} << 20;

bool lean_mode() {
  hakmem_stats_t s;
  hakmem_stats(&s);
  return s.lean != 0;
}

std::vector<void*> alloc_small(size_t count, size_t size) {
  std::vector<void*> v(count);
  for (size_t i = 0; i < count; ++i) {
    v[i] = hk_malloc(size);
    if (!v[i]) std::abort();
    std::memset(v[i], 0x5a, size);
  }
  return v;
}

void free_all(std::vector<void*>& v) {
  for (void* p : v) hk_free(p);
  v.clear();
}

std::string read_file(FILE* f) {
  std::string s;
  std::rewind(f);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) s.append(buf, n);
  return s;
}

size_t attr(const std::string& xml, const std::string& tag, const char* name) {
  size_t at = xml.find(tag);
  if (at == std::string::npos) return SIZE_MAX;
  size_t a = xml.find(std::string(name) + "=\"", at);
  if (a == std::string::npos) return SIZE_MAX;
  return std::strtoull(xml.c_str() + a + std::strlen(name) + 2, nullptr, 10);
}

size_t rss_minus_lazyfree() {
  Rollup r = read_rollup();
  return r.rss - (r.lazyfree < r.rss ? r.lazyfree : r.rss);
}

}  // namespace

TEST(Mallinfo2, FollowsHakmemsAllocations) {
  struct mallinfo2 m0 = hk_mallinfo2();
  std::vector<void*> small = alloc_small(2000, 1000);
  void* large[3];
  for (void*& p : large) {
    p = hk_malloc(kMiB);
    ASSERT_NE(p, nullptr);
  }
  struct mallinfo2 m1 = hk_mallinfo2();
  EXPECT_GE(m1.uordblks - m0.uordblks, 2000u * 1000u);
  EXPECT_EQ(m1.hblks, m0.hblks + 3);
  EXPECT_GE(m1.hblkhd - m0.hblkhd, 3 * kMiB);
  EXPECT_GE(m1.arena, m1.uordblks);
  EXPECT_EQ(m1.arena, m1.uordblks + m1.fordblks) << "arena is what is handed out plus what is free";
  EXPECT_GE(m1.fordblks, m1.fsmblks) << "thread caches are free space";
  EXPECT_EQ(m1.usmblks, 0u);

  free_all(small);
  for (void* p : large) hk_free(p);
  struct mallinfo2 m2 = hk_mallinfo2();
  EXPECT_EQ(m2.uordblks, m0.uordblks);
  EXPECT_EQ(m2.hblks, m0.hblks);
  EXPECT_EQ(m2.hblkhd, m0.hblkhd);
  // Both modes cache freed 1 MiB mappings for reuse: that is what trim gives back.
  EXPECT_GE(m2.keepcost, 3 * kMiB);
  EXPECT_EQ(hk_malloc_trim(0), 1);
  EXPECT_EQ(hk_mallinfo2().keepcost, 0u);
}

TEST(Mallinfo, MatchesMallinfo2AndSaturates) {
  std::vector<void*> small = alloc_small(100, 200);
  struct mallinfo2 w = hk_mallinfo2();
  struct mallinfo m = hk_mallinfo();
  EXPECT_EQ(static_cast<size_t>(m.uordblks), w.uordblks);
  EXPECT_EQ(static_cast<size_t>(m.arena), w.arena);
  EXPECT_EQ(static_cast<size_t>(m.hblks), w.hblks);
  // 3 GiB, never touched: mapped, not resident, and beyond an int.
  void* huge = hk_malloc(size_t{3} << 30);
  ASSERT_NE(huge, nullptr) << "a 3 GiB mapping was refused (overcommit policy?)";
  EXPECT_GE(hk_mallinfo2().hblkhd, size_t{3} << 30);
  EXPECT_EQ(hk_mallinfo().hblkhd, INT_MAX);
  hk_free(huge);
  EXPECT_LT(hk_mallinfo().hblkhd, INT_MAX);
  free_all(small);
}

TEST(MallocTrim, ReleasesIdleMemoryAndSaysWhenNothingWent) {
  const bool lean = lean_mode();
  hk_malloc_trim(0);  // what earlier tests left idle
  std::vector<void*> small = alloc_small(32 * 1024, 512);  // 16 MiB
  hakmem_stats_t full;
  hakmem_stats(&full);
  free_all(small);
  int first = hk_malloc_trim(0);
  hakmem_stats_t after;
  hakmem_stats(&after);
  if (lean) {
    EXPECT_EQ(first, 1);
    EXPECT_LE(after.slab_bytes_committed + 12 * kMiB, full.slab_bytes_committed)
        << "trim left " << after.slab_bytes_committed << " of " << full.slab_bytes_committed << " committed";
  } else {
    // FAST keeps its slabs resident; with no freed large mapping cached
    // there is nothing to give back.
    EXPECT_EQ(first, 0);
    EXPECT_GE(after.slab_bytes_committed, full.slab_bytes_committed);
  }
  // Once everything idle is gone, trim reports that nothing went.
  int last = 1;
  for (int i = 0; i < 5 && last; ++i) last = hk_malloc_trim(0);
  EXPECT_EQ(last, 0) << "malloc_trim reports a release on every call";
  // A freed large mapping is released in both modes.
  hk_free(hk_malloc(4 * kMiB));
  EXPECT_EQ(hk_malloc_trim(0), 1);
  EXPECT_EQ(hk_malloc_trim(0), 0);
}

TEST(MallocStats, PrintsGlibcsSummaryToStderr) {
  void* large = hk_malloc(2 * kMiB);
  std::vector<void*> small = alloc_small(1000, 100);
  FILE* cap = std::tmpfile();
  ASSERT_NE(cap, nullptr);
  std::fflush(stderr);
  int saved = dup(2);
  dup2(fileno(cap), 2);
  hk_malloc_stats();
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::string out = read_file(cap);
  std::fclose(cap);
  size_t arena_sys = 0, arena_use = 0, total_sys = 0, total_use = 0, regions = 0;
  int got = std::sscanf(out.c_str(),
                        "Arena 0:\nsystem bytes = %zu\nin use bytes = %zu\nTotal (incl. mmap):\n"
                        "system bytes = %zu\nin use bytes = %zu\nmmap regions = %zu\n",
                        &arena_sys, &arena_use, &total_sys, &total_use, &regions);
  ASSERT_EQ(got, 5) << out;
  struct mallinfo2 m = hk_mallinfo2();
  EXPECT_EQ(arena_sys, m.arena);
  EXPECT_EQ(arena_use, m.uordblks);
  EXPECT_GE(total_use, arena_use + 2 * kMiB);
  EXPECT_GE(total_sys, total_use);
  EXPECT_EQ(regions, m.hblks);
  hk_free(large);
  free_all(small);
}

TEST(MallocInfo, GlibcsXmlWithHakmemsFigures) {
  FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  errno = 0;
  EXPECT_EQ(hk_malloc_info(1, f), -1);
  EXPECT_EQ(errno, EINVAL);
  EXPECT_EQ(read_file(f), "") << "nothing is written when options is not 0";

  void* large[2] = {hk_malloc(kMiB), hk_malloc(3 * kMiB)};
  std::vector<void*> small = alloc_small(4000, 48);
  for (size_t i = 0; i < small.size(); i += 2) hk_free(small[i]);  // free objects of one class
  ASSERT_EQ(hk_malloc_info(0, f), 0);
  std::string xml = read_file(f);
  std::fclose(f);
  struct mallinfo2 m = hk_mallinfo2();
  ASSERT_EQ(xml.rfind("<malloc version=\"1\">\n<heap nr=\"0\">\n<sizes>\n", 0), 0u) << xml;
  ASSERT_GE(xml.size(), 10u);
  EXPECT_EQ(xml.substr(xml.size() - 10), "</malloc>\n");
  size_t total_tag = xml.find("</heap>");
  ASSERT_NE(total_tag, std::string::npos);
  std::string totals = xml.substr(total_tag);
  EXPECT_EQ(attr(totals, "<total type=\"mmap\"", "count"), m.hblks);
  EXPECT_EQ(attr(totals, "<total type=\"mmap\"", "size"), m.hblkhd);
  EXPECT_EQ(attr(totals, "<total type=\"rest\"", "count"), m.ordblks);
  EXPECT_EQ(attr(totals, "<total type=\"fast\"", "size"), m.fsmblks);
  EXPECT_EQ(attr(xml, "<system type=\"current\"", "size"), m.arena);
  // The <size> rows add up to the "rest" total, and the 48-byte class is there.
  size_t sum = 0, rows = 0;
  bool class48 = false;
  for (size_t at = xml.find("<size "); at < total_tag; at = xml.find("<size ", at + 1)) {
    std::string row = xml.substr(at, xml.find('\n', at) - at);
    sum += attr(row, "<size", "total");
    rows++;
    if (attr(row, "<size", "to") == 48 && attr(row, "<size", "count") >= 1) class48 = true;
  }
  EXPECT_GT(rows, 0u);
  EXPECT_EQ(sum, attr(totals, "<total type=\"rest\"", "size"));
  EXPECT_TRUE(class48) << xml;
  hk_free(large[0]);
  hk_free(large[1]);
  for (size_t i = 1; i < small.size(); i += 2) hk_free(small[i]);
}

TEST(Mallopt, AcceptsGlibcsParametersAndRejectsTheRest) {
  EXPECT_EQ(hk_mallopt(M_MXFAST, 64), 1);
  EXPECT_EQ(hk_mallopt(M_MXFAST, 80 * sizeof(size_t) / 4), 1);
  EXPECT_EQ(hk_mallopt(M_MXFAST, 80 * sizeof(size_t) / 4 + 1), 0);
  EXPECT_EQ(hk_mallopt(M_MXFAST, -1), 0);
  EXPECT_EQ(hk_mallopt(M_MMAP_THRESHOLD, 128 * 1024), 1);
  EXPECT_EQ(hk_mallopt(M_MMAP_THRESHOLD, 64 << 20), 0) << "glibc's limit is 32 MiB on 64-bit";
  EXPECT_EQ(hk_mallopt(M_MMAP_THRESHOLD, -1), 0);
  EXPECT_EQ(hk_mallopt(M_ARENA_MAX, 2), 1);
  EXPECT_EQ(hk_mallopt(M_ARENA_TEST, 8), 1);
  EXPECT_EQ(hk_mallopt(M_TOP_PAD, 4096), 1);
  EXPECT_EQ(hk_mallopt(M_MMAP_MAX, 0), 1);
  EXPECT_EQ(hk_mallopt(M_CHECK_ACTION, 3), 1);
  EXPECT_EQ(hk_mallopt(M_PERTURB, 0), 1);
  EXPECT_EQ(hk_mallopt(12345, 1), 0) << "an unknown parameter";
  EXPECT_EQ(hk_mallopt(M_ARENA_MAX, -2), 0);
  // The allocator still works after all of them.
  void* p = hk_malloc(100);
  ASSERT_NE(p, nullptr);
  hk_free(p);
}

// Registered on its own (HAKMEM_TEST_EXPECT=trim_threshold) with a decommit
// delay longer than the test: whatever goes back to the kernel goes at the
// free, through the idle cap M_TRIM_THRESHOLD sets.
TEST(TrimThreshold, DecidesWhatGoesAtTheFree) {
  ASSERT_STREQ(env_or("HAKMEM_TEST_EXPECT", ""), "trim_threshold") << "run through its own registration";
  const bool lean = lean_mode();
  constexpr size_t kBurst = 48 * kMiB;
  constexpr size_t kTolerance = 8 * kMiB;
  for (int i = 0; i < 100; ++i) hk_free(hk_malloc(64 + i * 8));
  size_t base = rss_minus_lazyfree();

  // No cap: the freed burst waits for the (long) delay.
  ASSERT_EQ(hk_mallopt(M_TRIM_THRESHOLD, -1), 1);
  std::vector<void*> v = alloc_small(kBurst / 1024, 1024);
  size_t peak = rss_minus_lazyfree();
  ASSERT_GE(peak, base + kBurst - kTolerance) << "the burst was not resident";
  free_all(v);
  size_t kept = rss_minus_lazyfree();
  EXPECT_GE(kept, base + kBurst - 2 * kTolerance) << "released at the free although M_TRIM_THRESHOLD is -1";

  // Threshold 0: every slab that empties goes at once (LEAN); FAST keeps it all.
  ASSERT_EQ(hk_mallopt(M_TRIM_THRESHOLD, 0), 1);
  v = alloc_small(kBurst / 1024, 1024);
  free_all(v);
  hakmem_collect(0);  // flushes this thread's cache into its slabs; nothing is due yet
  size_t after = rss_minus_lazyfree();
  if (lean)
    EXPECT_LE(after, base + kTolerance) << "base " << base << " peak " << peak << " after " << after;
  else
    EXPECT_GE(after, base + kBurst - 2 * kTolerance) << "FAST released memory";
}
