// LEAN's size classes between 512 and 1024: 32 bytes apart until the first
// free of an object by a thread that does not own it, 64 from then on (finer
// classes cost memory once objects cross threads: core/small/size_classes.h).
// FAST's are four per doubling throughout. One test per process: the switch
// is one-way, so it must be the first cross-thread free the process makes.
#include <gtest/gtest.h>
#include <hakmem.h>

#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

bool lean_mode() {
  const char* v = std::getenv("HAKMEM_MEM_LEAN");
  return v && std::strcmp(v, "1") == 0;
}

// The usable size of an n-byte request, 512 < n <= 1024: LEAN's class with
// step-byte steps, or FAST's four per doubling.
size_t class_of(size_t n, bool lean, size_t step) {
  if (lean) return (n + step - 1) / step * step;
  return n <= 640 ? 640 : n <= 768 ? 768 : n <= 896 ? 896 : 1024;
}

TEST(LeanClasses, FineUntilAnObjectCrossesThreads) {
  const bool lean = lean_mode();
  // The process's first malloc starts hakmem up, with FAST's lookup read
  // before the mode chose its own.
  hk_free(hk_malloc(16));
  // Objects of the fine classes, kept across the switch.
  std::vector<void*> before;
  for (size_t n = 513; n <= 1024; n += 7) {
    void* p = hk_malloc(n);
    ASSERT_NE(p, nullptr);
    ASSERT_EQ(hk_malloc_usable_size(p), class_of(n, lean, 32)) << "n=" << n;
    std::memset(p, 0x5A, n);
    before.push_back(p);
  }
  // Single-threaded frees and mallocs keep the fine classes.
  hk_free(hk_malloc(600));
  EXPECT_EQ(hk_malloc_usable_size(before[0]), lean ? 544u : 640u);
  void* p = hk_malloc(530);
  EXPECT_EQ(hk_malloc_usable_size(p), lean ? 544u : 640u);
  hk_free(p);

  // Another thread frees an object this one allocated.
  void* crossing = hk_malloc(100);
  std::thread([crossing] { hk_free(crossing); }).join();

  void* q = hk_malloc(530);
  EXPECT_EQ(hk_malloc_usable_size(q), lean ? 576u : 640u);
  // The fine classes' objects stay what they were, and free as usual.
  for (size_t i = 0; i < before.size(); ++i) {
    const size_t n = 513 + 7 * i;
    EXPECT_EQ(hk_malloc_usable_size(before[i]), class_of(n, lean, 32)) << "n=" << n;
    hk_free(before[i]);
  }
  // A fine class's freed objects are not handed out for other sizes: 544
  // is no class of the coarser set, so no request lands there any more.
  for (size_t n = 513; n <= 1024; ++n) {
    void* r = hk_malloc(n);
    ASSERT_NE(r, nullptr);
    ASSERT_EQ(hk_malloc_usable_size(r), class_of(n, lean, 64)) << "n=" << n;
    hk_free(r);
  }
  hk_free(q);
}

}  // namespace
