// Bad input must abort (SIGABRT) with one line on stderr:
//   "hakmem: ... invalid|double free ... 0x<address> ..."
// (see death_util.h for how the line and the address are checked).
#include <gtest/gtest.h>
#include <hakmem.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "death_util.h"

namespace {

using namespace hktest;

TEST(DeathMatcher, SelfTest) {
  auto ok = [](const char* what, const std::string& err) { return msg(what).Matches(err); };
  EXPECT_TRUE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): invalid pointer 0x1234\n"));
  EXPECT_TRUE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): invalid pointer 0x1234 (x)"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): invalid pointer 0x12345\n"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): invalid pointer 0x9999\n"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): invalid pointer 0x1234\nmore\n"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\nhakmem: free(): bad pointer 0x1234\n"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\nfree(): invalid pointer 0x1234\n"));
  EXPECT_FALSE(ok(kAny, "hk-test-addr 0x1234\n"));
  EXPECT_TRUE(ok(kAny, "hk-test-addr 0x10 0x20\nhakmem: x double free of 0x20 (y)\n"));
  EXPECT_TRUE(ok(kAny, "hakmem: x double free of 0x20 (y)\n"));
  EXPECT_FALSE(ok("double free", "hk-test-addr 0x20\nhakmem: invalid pointer 0x20\n"));
}

TEST_F(Death, FreeStackPointer) {
  EXPECT_HK_ABORT(
      {
        alignas(16) char buf[64];
        std::memset(buf, 0, sizeof buf);
        void* volatile p = buf;
        mark(p);
        hk_free(p);
      },
      msg(kAny));
}

TEST_F(Death, FreeGlobalPointer) {
  alignas(64) static char g[4096];
  EXPECT_HK_ABORT(
      {
        mark(g + 64);
        hk_free(g + 64);
      },
      msg(kAny));
}

TEST_F(Death, FreeForeignGlibcPointer) {
  for (size_t n : {size_t{64}, size_t{1000}, size_t{200000}}) {
    EXPECT_HK_ABORT(
        {
          void* p = std::malloc(n);
          mark(p);
          hk_free(p);
        },
        msg(kAny))
        << "glibc block of " << n;
  }
}

TEST_F(Death, FreeInteriorPointerPlus16) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        mark2(p + 16, p);
        hk_free(p + 16);
      },
      msg(kAny));
}

TEST_F(Death, FreeInteriorPointerPlus8) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        mark2(p + 8, p);
        hk_free(p + 8);
      },
      msg(kAny));
}

TEST_F(Death, FreeInteriorPointerOfLarge) {
  for (size_t off : {size_t{16}, size_t{4096}}) {
    EXPECT_HK_ABORT(
        {
          char* p = static_cast<char*>(hk_malloc(100000));
          mark2(p + off, p);
          hk_free(p + off);
        },
        msg(kAny))
        << "offset " << off;
  }
}

TEST_F(Death, DoubleFreeSmall) {
  for (size_t n : {size_t{16}, size_t{48}, size_t{64}, size_t{1000}, size_t{32768}}) {
    EXPECT_HK_ABORT(
        {
          void* p = hk_malloc(n);
          mark(p);
          hk_free(p);
          hk_free(p);
        },
        msg("double free"))
        << "size " << n;
  }
}

TEST_F(Death, DoubleFreeSmallAfterOtherActivity) {
  // The block is no longer at the head of the free list when freed again.
  EXPECT_HK_ABORT(
      {
        void* p = hk_malloc(64);
        mark(p);
        hk_free(p);
        void* a = hk_malloc(128);
        void* b = hk_malloc(32);
        void* c = hk_malloc(16);
        hk_free(a);
        hk_free(p);
        hk_free(b);
        hk_free(c);
      },
      msg(kAny));
}

TEST_F(Death, DoubleFreeLarge) {
  for (size_t n : {size_t{32769}, size_t{100000}, size_t{4u << 20}}) {
    EXPECT_HK_ABORT(
        {
          void* p = hk_malloc(n);
          mark(p);
          hk_free(p);
          hk_free(p);
        },
        msg(kAny))
        << "size " << n;
  }
}

TEST_F(Death, ReallocOfFreedPointer) {
  for (size_t n : {size_t{64}, size_t{100000}}) {
    EXPECT_HK_ABORT(
        {
          void* p = hk_malloc(n);
          mark(p);
          hk_free(p);
          void* q = hk_realloc(p, 2 * n);
          std::fprintf(stderr, "realloc of freed pointer returned %p\n", q);
        },
        msg(kAny))
        << "size " << n;
  }
}

TEST_F(Death, ReallocOfForeignPointer) {
  EXPECT_HK_ABORT(
      {
        void* p = std::malloc(100);
        mark(p);
        void* q = hk_realloc(p, 200);
        std::fprintf(stderr, "realloc of foreign pointer returned %p\n", q);
      },
      msg(kAny));
}

TEST_F(Death, FreeWildUnmappedPointer) {
  // Not part of the abort contract, but it must not crash with SIGSEGV:
  // freeing a wild pointer into unmapped memory still reports cleanly.
  EXPECT_HK_ABORT(
      {
        void* p = reinterpret_cast<void*>(uintptr_t{0x10000000000});  // unmapped
        mark(p);
        hk_free(p);
      },
      msg(kAny));
}

TEST_F(Death, DoubleFreeCrossThread) {
  // Allocated by a thread that has exited; freed twice elsewhere.
  EXPECT_HK_ABORT(
      {
        void* p = nullptr;
        std::thread t([&] { p = hk_malloc(64); });
        t.join();
        mark(p);
        hk_free(p);
        hk_free(p);
      },
      msg(kAny));
  // Owner alive; another thread frees twice (remote free path).
  EXPECT_HK_ABORT(
      {
        void* p = hk_malloc(64);
        mark(p);
        std::thread t([&] {
          hk_free(p);
          hk_free(p);
        });
        t.join();
      },
      msg(kAny));
  // Freed remotely once, then by the owner again.
  EXPECT_HK_ABORT(
      {
        void* p = hk_malloc(200);
        mark(p);
        std::thread t([&] { hk_free(p); });
        t.join();
        hk_free(p);
      },
      msg(kAny));
}

TEST_F(Death, DoubleFreeAligned) {
  for (size_t a : {size_t{256}, size_t{65536}}) {
    EXPECT_HK_ABORT(
        {
          void* p = hk_memalign(a, 100);
          mark(p);
          hk_free(p);
          hk_free(p);
        },
        msg(kAny))
        << "alignment " << a;
  }
}

TEST_F(Death, DoubleFreeAfterCacheFlushAndCollect) {
  // The first free has long left the thread cache (other classes churned,
  // caches flushed, idle memory released) when the block is freed again.
  EXPECT_HK_ABORT(
      {
        std::vector<void*> v;
        for (int i = 0; i < 1000; ++i) v.push_back(hk_malloc(64));
        void* p = v[500];
        mark(p);
        for (void* q : v) hk_free(q);
        std::vector<void*> w;
        for (int i = 0; i < 20000; ++i) w.push_back(hk_malloc(128));
        for (void* q : w) hk_free(q);
        hakmem_collect(1);
        hk_free(p);
      },
      msg(kAny));
}

TEST_F(Death, DoubleFreeLargeAfterOtherLargeReuse) {
  EXPECT_HK_ABORT(
      {
        void* p = hk_malloc(100000);
        mark(p);
        hk_free(p);
        void* q = hk_malloc(50000);
        if (q == p) hk_free(q);  // the cached mapping was reused: free it legitimately first
        hk_free(p);
      },
      msg(kAny));
}

TEST_F(Death, FreeBeforeBlockStart) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        p = static_cast<char*>(hk_malloc(64));  // not the first block of its slab
        mark(p - 8);
        hk_free(p - 8);
      },
      msg(kAny));
}

TEST_F(Death, ReallocOfInteriorPointer) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        mark2(p + 16, p);
        void* q = hk_realloc(p + 16, 100);
        std::fprintf(stderr, "realloc of interior pointer returned %p\n", q);
      },
      msg(kAny));
}

// An object-aligned address in the block's slab that was never handed out
// (objects are carved a page at a time).
TEST_F(Death, FreePastCarvedObjects) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        mark(p + 64 * 512);
        hk_free(p + 64 * 512);
      },
      msg("invalid"));
}

// Far beyond any block: inside the SuperSlab reservation (which reads as
// zeros there) or, without one, at an address nothing maps.
TEST_F(Death, FreeFarPastBlocks) {
  EXPECT_HK_ABORT(
      {
        char* p = static_cast<char*>(hk_malloc(64));
        mark(p + (size_t{1} << 30));
        hk_free(p + (size_t{1} << 30));
      },
      msg("invalid"));
}

// A stale pointer after its SuperSlab was given back (LEAN unmaps empty
// SuperSlabs beyond its reserve; FAST keeps them, and the block is then a
// double free).
TEST_F(Death, FreeAfterSuperSlabReleased) {
  EXPECT_HK_ABORT(
      {
        std::vector<void*> v;
        for (int i = 0; i < 200000; ++i) v.push_back(hk_malloc(48));
        void* stale = v[v.size() / 2];
        for (void* q : v) hk_free(q);
        hakmem_collect(1);
        mark(stale);
        hk_free(stale);
      },
      msg(kAny));
}

// LEAN releases whole free pages of a slab that still has live objects;
// the objects on them are free but on no list, and their guard words are
// gone with the page. Freeing one again must still be caught (FAST keeps
// the page, and the guard word catches it).
TEST_F(Death, DoubleFreeOfObjectOnReleasedPage) {
  EXPECT_HK_ABORT(
      {
        std::vector<char*> v;
        for (int i = 0; i < 2048; ++i) v.push_back(static_cast<char*>(hk_malloc(64)));
        // An object in the same 64 KiB slab as v[0], pages away from it.
        char* victim = nullptr;
        for (char* p : v) {
          uintptr_t a = reinterpret_cast<uintptr_t>(p);
          uintptr_t b = reinterpret_cast<uintptr_t>(v[0]);
          if ((a >> 16) == (b >> 16) && (a > b ? a - b : b - a) > 16384) victim = p;
        }
        if (!victim) std::exit(3);
        for (size_t i = 1; i < v.size(); ++i) hk_free(v[i]);
        hakmem_collect(1);  // flush caches, release free pages now
        mark(victim);
        hk_free(victim);
      },
      msg("double free"));
}

// An empty slab released whole forgets what it carved: a second free of its
// object is then refused as invalid (or, before the release, a double free).
TEST_F(Death, DoubleFreeAfterSlabReleased) {
  EXPECT_HK_ABORT(
      {
        char* x = static_cast<char*>(hk_malloc(4000));
        hk_free(x);
        hakmem_collect(1);
        mark(x);
        hk_free(x);
      },
      msg(kAny));
}

// Control: the same sequences without the error must not abort, so the death
// tests above cannot pass merely because every free aborts.
TEST(DeathControl, ValidFreesDoNotAbort) {
  for (size_t n : {size_t{16}, size_t{64}, size_t{1000}, size_t{32768}, size_t{100000}}) {
    void* p = hk_malloc(n);
    ASSERT_NE(p, nullptr);
    hk_free(p);
    void* q = hk_malloc(n);
    q = hk_realloc(q, 2 * n);
    hk_free(q);
  }
  void* p = hk_malloc(64);
  hk_free(p);
  void* a = hk_malloc(128);
  void* b = hk_malloc(32);
  hk_free(a);
  hk_free(b);
  SUCCEED();
}

}  // namespace
