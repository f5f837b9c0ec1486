// Multi-threaded behaviour: orphaned objects, cross-thread frees, thread churn, fork.
#include <gtest/gtest.h>
#include <hakmem.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include "test_util.h"

using namespace hktest;

namespace {

struct Obj {
  void* p;
  size_t n;
  uint64_t id;
};

size_t pick_size(std::mt19937_64& rng) {
  unsigned r = rng() % 100;
  if (r < 70) return 1 + rng() % 256;
  if (r < 95) return 257 + rng() % 4000;
  if (r < 99) return 4097 + rng() % 28000;
  return 32769 + rng() % 100000;
}

TEST(Threads, ThreadExitsWithLiveObjectsFreedLaterElsewhere) {
  constexpr int kObjs = 20000;
  std::vector<Obj> objs(kObjs);
  std::thread t([&] {
    std::mt19937_64 rng(7);
    for (int i = 0; i < kObjs; ++i) {
      size_t n = pick_size(rng);
      void* p = hk_malloc(n);
      ASSERT_NE(p, nullptr);
      fill_sparse(p, n, i);
      objs[i] = {p, n, static_cast<uint64_t>(i)};
    }
    // Free some locally so the exiting thread has partially used slabs.
    for (int i = 0; i < kObjs; i += 5) {
      hk_free(objs[i].p);
      objs[i].p = nullptr;
    }
  });
  t.join();
  // The owner is gone. Allocate more from this thread meanwhile: the orphaned
  // blocks must not be handed out while they are still live.
  std::vector<Obj> mine;
  for (int i = 0; i < 5000; ++i) {
    size_t n = 16 + (i % 300);
    void* p = hk_malloc(n);
    ASSERT_NE(p, nullptr);
    fill(p, n, 900000 + i);
    mine.push_back({p, n, static_cast<uint64_t>(900000 + i)});
  }
  for (auto& o : objs)
    if (o.p) ASSERT_EQ(check_sparse(o.p, o.n, o.id), SIZE_MAX) << "orphaned object " << o.id;
  // Two other threads free the orphans (odd/even), the main thread frees its own.
  auto freer = [&](int parity) {
    for (int i = parity; i < kObjs; i += 2)
      if (objs[i].p) {
        EXPECT_EQ(check_sparse(objs[i].p, objs[i].n, objs[i].id), SIZE_MAX);
        hk_free(objs[i].p);
      }
  };
  std::thread a(freer, 0), b(freer, 1);
  a.join();
  b.join();
  for (auto& o : mine) {
    ASSERT_EQ(check(o.p, o.n, o.id), SIZE_MAX);
    hk_free(o.p);
  }
  // Memory is usable again from new threads.
  std::thread c([] {
    std::vector<void*> v;
    for (int i = 0; i < 20000; ++i) {
      void* p = hk_malloc(64);
      ASSERT_NE(p, nullptr);
      std::memset(p, i & 0xff, 64);
      v.push_back(p);
    }
    for (void* p : v) hk_free(p);
  });
  c.join();
}

// A bounded MPSC queue per thread.
struct Queue {
  std::mutex m;
  std::condition_variable cv;
  std::deque<Obj> q;
  void push(Obj o) {
    {
      std::lock_guard<std::mutex> g(m);
      q.push_back(o);
    }
    cv.notify_one();
  }
  bool try_pop(Obj& o) {
    std::lock_guard<std::mutex> g(m);
    if (q.empty()) return false;
    o = q.front();
    q.pop_front();
    return true;
  }
};

TEST(Threads, CrossThreadExchangeUnderContention) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 60000;
  Queue queues[kThreads];
  std::atomic<int> producers_done{0};
  std::atomic<long> freed{0}, bad{0};
  auto worker = [&](int me) {
    std::mt19937_64 rng(100 + me);
    Obj o;
    for (int i = 0; i < kPerThread; ++i) {
      size_t n = pick_size(rng);
      void* p = (i % 13 == 0) ? hk_calloc(1, n) : hk_malloc(n);
      if (!p) { bad++; continue; }
      if (i % 13 == 0 && first_nonzero(p, n) != SIZE_MAX) bad++;
      uint64_t id = (uint64_t(me) << 32) | i;
      fill_sparse(p, n, id);
      int to = (me + 1 + rng() % (kThreads - 1)) % kThreads;
      queues[to].push({p, n, id});
      // Drain some of the inbound queue, free after checking.
      for (int k = 0; k < 2 && queues[me].try_pop(o); ++k) {
        if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) bad++;
        hk_free(o.p);
        freed++;
      }
    }
    producers_done++;
    while (true) {
      if (queues[me].try_pop(o)) {
        if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) bad++;
        hk_free(o.p);
        freed++;
      } else if (producers_done.load() == kThreads) {
        if (!queues[me].try_pop(o)) break;
        if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) bad++;
        hk_free(o.p);
        freed++;
      } else {
        std::this_thread::yield();
      }
    }
  };
  std::vector<std::thread> ts;
  for (int i = 0; i < kThreads; ++i) ts.emplace_back(worker, i);
  for (auto& t : ts) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(freed.load(), long(kThreads) * kPerThread);
}

// Threads freeing objects of one owner at once set bits in the same words of
// its slabs' remote bitmaps (64 objects of 16 bytes per word): no bit may be
// lost and none taken twice. Each round every object the other threads freed
// must come back to the owner's mallocs exactly once. One object in 64 stays
// live, so no slab empties: an empty slab may go back to the pool (LEAN
// releases it at once past the idle cap) and the owner's mallocs would then
// come from another one.
TEST(Threads, ConcurrentRemoteFreesIntoOneSlabAllComeBackOnce) {
  constexpr int kFreers = 4;
  for (size_t n : {size_t{16}, size_t{48}, size_t{1000}}) {
    const size_t count = n == 1000 ? 512 : 4096;
    std::vector<void*> anchors, v;
    for (size_t i = 0; i < count; ++i) (i % 64 == 0 ? anchors : v).push_back(hk_malloc(n));
    for (int round = 0; round < 20; ++round) {
      std::atomic<int> go{0};
      std::vector<std::thread> ts;
      for (int t = 0; t < kFreers; ++t)
        ts.emplace_back([&, t] {
          go.fetch_add(1);
          while (go.load() < kFreers) std::this_thread::yield();
          for (size_t i = t; i < v.size(); i += kFreers) hk_free(v[i]);  // interleaved: the same words
        });
      for (auto& th : ts) th.join();
      std::vector<void*> sorted = v;
      std::sort(sorted.begin(), sorted.end());
      std::vector<void*> got, others;
      for (size_t i = 0; i < 4 * count && got.size() < v.size(); ++i) {
        void* p = hk_malloc(n);
        ASSERT_NE(p, nullptr);
        (std::binary_search(sorted.begin(), sorted.end(), p) ? got : others).push_back(p);
      }
      std::vector<void*> g = got;
      std::sort(g.begin(), g.end());
      ASSERT_EQ(std::adjacent_find(g.begin(), g.end()), g.end()) << "an object came back twice, size " << n;
      ASSERT_EQ(got.size(), v.size()) << "objects freed by other threads never came back, size " << n
                                      << ", round " << round;
      for (void* p : others) hk_free(p);
      v = got;
    }
    for (void* p : v) hk_free(p);
    for (void* p : anchors) hk_free(p);
  }
}

TEST(Threads, ManyShortLivedThreadsDoNotLeak) {
  // Threads that allocate, pass a few objects on, free the rest, and exit.
  // Memory mapped must not grow with the number of threads that have lived.
  std::mutex m;
  std::vector<Obj> handed;
  auto run_batch = [&](int first, int count) {
    for (int base = first; base < first + count; base += 8) {
      std::vector<std::thread> ts;
      for (int k = 0; k < 8; ++k)
        ts.emplace_back([&, id = base + k] {
          std::mt19937_64 rng(id);
          std::vector<Obj> v;
          for (int i = 0; i < 200; ++i) {
            size_t n = 16 + rng() % 2000;
            void* p = hk_malloc(n);
            ASSERT_NE(p, nullptr);
            uint64_t oid = uint64_t(id) * 1000 + i;
            fill(p, n, oid);
            v.push_back({p, n, oid});
          }
          std::lock_guard<std::mutex> g(m);
          for (size_t i = 0; i < v.size(); ++i) {
            if (i % 50 == 0) handed.push_back(v[i]);
            else hk_free(v[i].p);
          }
        });
      for (auto& t : ts) t.join();
    }
    // Free what was handed on, from the main thread.
    for (auto& o : handed) {
      ASSERT_EQ(check(o.p, o.n, o.id), SIZE_MAX);
      hk_free(o.p);
    }
    handed.clear();
  };
  run_batch(0, 96);
  hakmem_collect(0);
  hakmem_stats_t s1{};
  ASSERT_EQ(hakmem_stats(&s1), 0);
  run_batch(96, 800);
  hakmem_collect(0);
  hakmem_stats_t s2{};
  ASSERT_EQ(hakmem_stats(&s2), 0);
  // 800 more threads, each touching ~10 size classes. A per-thread leak of
  // even one 64 KiB slab per thread would add 50 MiB.
  size_t slack = 16u << 20;
  EXPECT_LE(s2.superslab_bytes_mapped, s1.superslab_bytes_mapped * 2 + slack)
      << "SuperSlab memory grew from " << s1.superslab_bytes_mapped << " to " << s2.superslab_bytes_mapped
      << " over 800 short-lived threads";
  // Allocator-owned memory only: process RSS also counts thread stacks and,
  // under the asan preset, the sanitizer's quarantine.
  EXPECT_LE(s2.slab_bytes_committed, s1.slab_bytes_committed + slack)
      << "committed slab memory grew from " << s1.slab_bytes_committed << " to " << s2.slab_bytes_committed;
  EXPECT_LE(s2.metadata_bytes, s1.metadata_bytes * 2 + (1u << 20))
      << "metadata grew from " << s1.metadata_bytes << " to " << s2.metadata_bytes
      << " over 800 short-lived threads (per-thread heaps not reused?)";
  std::fprintf(stderr, "after 96 threads: mapped %zu committed %zu metadata %zu; after 896: %zu %zu %zu\n",
               s1.superslab_bytes_mapped, s1.slab_bytes_committed, s1.metadata_bytes, s2.superslab_bytes_mapped,
               s2.slab_bytes_committed, s2.metadata_bytes);
}

TEST(Threads, ForkWhileOtherThreadsAllocate) {
  std::atomic<bool> stop{false};
  std::atomic<long> ops{0};
  // Fork only once every worker runs its loop. A thread still starting is
  // inside the C library or the sanitizer runtime, which allocate with their
  // own malloc: under the asan preset that allocator is not fork-safe, and a
  // child forked while a starting thread held one of its locks hangs in the
  // sanitizer (seen under parallel ctest; the child's stack was all in
  // __sanitizer::SizeClassAllocator64), not in hakmem.
  std::atomic<int> running{0};
  std::vector<std::thread> ts;
  // Slot arrays are static (not on the glibc heap): in a forked child the
  // threads are gone, and LeakSanitizer (asan preset) would report a vector
  // owned by a vanished thread as leaked at exit(0).
  static void* slots[3][256];
  std::memset(slots, 0, sizeof slots);
  for (int t = 0; t < 3; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(t);
      void* (&v)[256] = slots[t];
      running.fetch_add(1);
      while (!stop.load(std::memory_order_relaxed)) {
        size_t i = rng() % 256;
        if (v[i]) hk_free(v[i]);
        v[i] = hk_malloc(pick_size(rng));
        ops++;
      }
      for (void* p : v) hk_free(p);
    });
  while (running.load() < 3 || ops.load() < 10000) std::this_thread::yield();

  int failures = 0;
  for (int round = 0; round < 30; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: only this thread exists; the allocator must be usable.
      std::vector<Obj> v;
      for (int i = 0; i < 2000; ++i) {
        size_t n = (i % 100 == 0) ? 100000 : 1 + (i * 37) % 3000;
        void* p = (i % 3) ? hk_malloc(n) : hk_calloc(1, n);
        if (!p) _exit(2);
        if (i % 3 == 0 && first_nonzero(p, n) != SIZE_MAX) _exit(3);
        fill_sparse(p, n, i);
        v.push_back({p, n, uint64_t(i)});
      }
      for (auto& o : v) {
        if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) _exit(4);
        hk_free(o.p);
      }
      std::thread th([] {
        void* p = hk_malloc(1000);
        hk_free(p);
      });
      th.join();
      hakmem_collect(1);
      exit(0);
    }
    // Parent: wait with a timeout so a deadlocked child fails instead of hanging.
    int status = 0;
    pid_t r = 0;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while ((r = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    if (r == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "fork round " << round << ": child hung (deadlock in the allocator?)";
      ++failures;
      break;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ADD_FAILURE() << "fork round " << round << ": child status " << status
                    << (WIFSIGNALED(status) ? " signal " + std::to_string(WTERMSIG(status))
                                            : " exit " + std::to_string(WEXITSTATUS(status)));
      ++failures;
    }
  }
  stop = true;
  for (auto& t : ts) t.join();
  EXPECT_EQ(failures, 0);
  // Parent allocator still fine after the forks.
  void* p = hk_malloc(5000);
  ASSERT_NE(p, nullptr);
  fill(p, 5000, 1);
  EXPECT_EQ(check(p, 5000, 1), SIZE_MAX);
  hk_free(p);
}

// free() recognises its own slabs by the thread pointer of their owner.
// glibc gives a forked child's new threads the stacks, and so the thread
// pointers, of the parent's other threads, whose heaps still own slabs in
// the child: a child thread on such a stack must free those objects as a
// foreign thread, not into its own (still empty) thread cache.
TEST(Threads, ForkChildThreadOnAParentThreadsStackFreesItsObjects) {
  constexpr int kObjs = 3000;
  static void* objs[kObjs];
  static uintptr_t owner_id;
  std::atomic<int> phase{0};
  std::thread owner([&] {
    for (int i = 0; i < kObjs; ++i) {
      size_t n = 16 + (i * 37) % 1500;
      objs[i] = hk_malloc(n);
      ASSERT_NE(objs[i], nullptr);
      fill(objs[i], 16, i);
    }
    owner_id = reinterpret_cast<uintptr_t>(pthread_self());
    phase = 1;
    while (phase.load() != 2) std::this_thread::yield();  // alive (owning its slabs) across the fork
  });
  while (phase.load() != 1) std::this_thread::yield();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Start threads, keeping each alive, until one runs on the owner's stack.
    static std::atomic<int> found{0};
    static std::atomic<bool> release{false};
    std::vector<pthread_t> started;
    for (int t = 0; t < 64 && !found.load(); ++t) {
      pthread_t th;
      std::atomic<bool> checked{false};
      auto body = [](void* arg) -> void* {
        auto* done = static_cast<std::atomic<bool>*>(arg);
        if (reinterpret_cast<uintptr_t>(pthread_self()) == owner_id) {
          for (int i = 0; i < kObjs; ++i) {
            if (check(objs[i], 16, i) != SIZE_MAX) _exit(4);
            hk_free(objs[i]);
          }
          // Its own allocations work as usual.
          for (int i = 0; i < 10000; ++i) hk_free(hk_malloc(16 + i % 1000));
          found = 1;
        }
        done->store(true);
        while (!release.load()) sched_yield();
        return nullptr;
      };
      if (pthread_create(&th, nullptr, body, &checked) != 0) _exit(2);
      while (!checked.load()) sched_yield();
      started.push_back(th);
    }
    release = true;
    for (pthread_t th : started) pthread_join(th, nullptr);
    _exit(found.load() ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  phase = 2;
  owner.join();
  ASSERT_TRUE(WIFEXITED(status)) << "child killed by signal " << (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  ASSERT_NE(WEXITSTATUS(status), 5) << "no thread of the child got the parent thread's stack: the C library no "
                                       "longer reuses stacks, and this test must find another way to provoke it";
  EXPECT_EQ(WEXITSTATUS(status), 0);
  for (void* p : objs) hk_free(p);
}

// Starts threads one after the other until one runs with the thread id
// (glibc: the thread pointer) of a thread that exited, and runs body on it.
// Returns false if none did (glibc reuses a cached stack for the next thread).
template <typename F>
bool run_on_thread_with_id(uintptr_t id, F body) {
  bool reused = false;
  for (int t = 0; t < 16 && !reused; ++t)
    std::thread([&] {
      if (reinterpret_cast<uintptr_t>(pthread_self()) != id) return;
      reused = true;
      body();
    }).join();
  return reused;
}

// A thread on the stack of a thread that exited frees what that thread left.
TEST(Threads, ThreadOnAnExitedThreadsStackFreesItsObjects) {
  constexpr int kObjs = 3000;
  static void* objs[kObjs];
  uintptr_t first_id = 0;
  std::thread([&] {
    for (int i = 0; i < kObjs; ++i) {
      objs[i] = hk_malloc(16 + (i * 37) % 1500);
      ASSERT_NE(objs[i], nullptr);
      fill(objs[i], 16, i);
    }
    first_id = reinterpret_cast<uintptr_t>(pthread_self());
  }).join();
  bool reused = run_on_thread_with_id(first_id, [] {
    for (int i = 0; i < kObjs; ++i) {
      ASSERT_EQ(check(objs[i], 16, i), SIZE_MAX) << "object " << i;
      hk_free(objs[i]);
    }
    for (int i = 0; i < 10000; ++i) hk_free(hk_malloc(16 + i % 1000));
  });
  ASSERT_TRUE(reused) << "no new thread got the exited thread's stack: the C library no longer reuses stacks, "
                         "and this test must find another way to provoke it";
}

// A key destructor that allocates in every destructor round: the heap made
// for it in the last round is never torn down. A later thread on the same
// stack must still free what that heap's slabs hold, as a foreign thread.
namespace late_alloc {
constexpr int kObjs = 500;
void* objs[kObjs];
int rounds;
pthread_key_t key;
void destructor(void*) {
  for (int i = 0; i < kObjs; ++i) {
    if (objs[i]) hk_free(objs[i]);
    objs[i] = hk_malloc(16 + (i * 37) % 1500);
    if (!objs[i]) abort();
    fill(objs[i], 16, i + rounds * kObjs);
  }
  ++rounds;
  pthread_setspecific(key, &rounds);  // once more, as long as the C library allows
}
}  // namespace late_alloc

TEST(Threads, HeapMadeInTheLastDestructorRoundDoesNotClaimTheStack) {
  using namespace late_alloc;
  hk_free(hk_malloc(1));  // hakmem's own key first: it runs before ours in each round
  ASSERT_EQ(pthread_key_create(&key, destructor), 0);
  uintptr_t first_id = 0;
  std::thread([&] {
    first_id = reinterpret_cast<uintptr_t>(pthread_self());
    pthread_setspecific(key, &rounds);
  }).join();
  ASSERT_GE(rounds, 2) << "the destructor ran " << rounds << " times";
  const int last = rounds - 1;
  bool reused = run_on_thread_with_id(first_id, [last] {
    for (int i = 0; i < kObjs; ++i) {
      ASSERT_EQ(check(objs[i], 16, i + last * kObjs), SIZE_MAX) << "object " << i;
      hk_free(objs[i]);
      objs[i] = nullptr;
    }
    for (int i = 0; i < 10000; ++i) hk_free(hk_malloc(16 + i % 1000));
  });
  pthread_key_delete(key);
  ASSERT_TRUE(reused) << "no new thread got the exited thread's stack: the C library no longer reuses stacks, "
                         "and this test must find another way to provoke it";
}

TEST(Threads, CollectConcurrentWithAllocation) {
  std::atomic<bool> stop{false};
  std::atomic<long> bad{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 2; ++t)
    ts.emplace_back([&, t] {
      std::mt19937_64 rng(50 + t);
      std::vector<Obj> v(512, Obj{nullptr, 0, 0});
      uint64_t id = uint64_t(t) << 40;
      for (int i = 0; i < 150000; ++i) {
        Obj& o = v[rng() % v.size()];
        if (o.p) {
          if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) bad++;
          hk_free(o.p);
        }
        o.n = pick_size(rng);
        o.p = hk_malloc(o.n);
        o.id = ++id;
        fill_sparse(o.p, o.n, o.id);
      }
      for (auto& o : v) {
        if (check_sparse(o.p, o.n, o.id) != SIZE_MAX) bad++;
        hk_free(o.p);
      }
    });
  std::thread collector([&] {
    int i = 0;
    while (!stop.load()) {
      hakmem_collect(i++ & 1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (auto& t : ts) t.join();
  stop = true;
  collector.join();
  EXPECT_EQ(bad.load(), 0);
}

}  // namespace

// Threads that run one after the other get the heap the last one left
// (heaps are recycled), each using other size classes: a recycled heap must
// set up every class afresh, and a class's first refills (which move few
// objects) must not lose or double-count any. Each thread keeps some
// objects of each of its classes (orphaned at its exit) and frees those the
// thread before it kept; the live bytes the statistics count must then be
// exactly what the main thread holds.
TEST(Threads, SuccessiveThreadsReuseHeapsAcrossClasses) {
  constexpr int kThreads = 48, kPerClass = 7, kClassesPerThread = 5;
  constexpr size_t kSizes[] = {16, 48, 128, 200, 256, 320, 700, 1024, 1500, 3000, 5000, 9000, 17000, 32768};
  constexpr int kNumSizes = sizeof(kSizes) / sizeof(kSizes[0]);
  struct Kept {
    void* p;
    size_t n;
    uint64_t id;
  };
  static Kept kept[2][kClassesPerThread * kPerClass];
  static int kept_count[2];
  std::atomic<int> bad{0};
  hakmem_collect(0);
  hakmem_stats_t before{};
  ASSERT_EQ(hakmem_stats(&before), 0);
  for (int t = 0; t < kThreads; ++t) {
    std::thread([&, t] {
      Kept* prev = kept[(t + 1) % 2];
      Kept* mine = kept[t % 2];
      int n = 0;
      for (int k = 0; k < kClassesPerThread; ++k) {
        const size_t size = kSizes[(t * 3 + k * 5) % kNumSizes];
        // More than the first refills hand out, fewer than a bin holds.
        void* tmp[40];
        for (int i = 0; i < 40; ++i) {
          tmp[i] = hk_malloc(size);
          if (!tmp[i]) {
            bad++;
            return;
          }
          fill(tmp[i], size < 64 ? size : 64, uint64_t(t) << 32 | uint64_t(k) << 16 | i);
        }
        for (int i = 0; i < 40; ++i) {
          const uint64_t id = uint64_t(t) << 32 | uint64_t(k) << 16 | i;
          if (i < kPerClass) {
            mine[n++] = {tmp[i], size, id};
          } else {
            if (check(tmp[i], size < 64 ? size : 64, id) != SIZE_MAX) bad++;
            hk_free(tmp[i]);
          }
        }
      }
      for (int i = 0; i < kept_count[(t + 1) % 2]; ++i) {
        if (check(prev[i].p, prev[i].n < 64 ? prev[i].n : 64, prev[i].id) != SIZE_MAX) bad++;
        hk_free(prev[i].p);
      }
      kept_count[t % 2] = n;
    }).join();
  }
  size_t held = 0;
  const Kept* last = kept[(kThreads - 1) % 2];
  for (int i = 0; i < kept_count[(kThreads - 1) % 2]; ++i) held += hk_malloc_usable_size(last[i].p);
  hakmem_collect(0);
  hakmem_stats_t after{};
  ASSERT_EQ(hakmem_stats(&after), 0);
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(after.live_small_bytes - before.live_small_bytes, held)
      << "live small bytes before " << before.live_small_bytes << ", after " << after.live_small_bytes;
  // Slabs a heap still held when it was recycled would be lost: each thread
  // touches 5 classes, 48 threads would leak 240 slabs (15 MiB). Without a
  // leak the 14 classes used need a few slabs each.
  EXPECT_LE(after.slab_bytes_committed, before.slab_bytes_committed + (size_t{4} << 20))
      << "committed slab bytes grew from " << before.slab_bytes_committed << " to " << after.slab_bytes_committed;
  std::fprintf(stderr, "committed slab bytes: %zu before, %zu after %d threads\n", before.slab_bytes_committed,
               after.slab_bytes_committed, kThreads);
  for (int i = 0; i < kept_count[(kThreads - 1) % 2]; ++i) {
    EXPECT_EQ(check(last[i].p, last[i].n < 64 ? last[i].n : 64, last[i].id), SIZE_MAX);
    hk_free(last[i].p);
  }
}
