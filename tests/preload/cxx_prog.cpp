// A C++ program run with LD_PRELOAD=libhakmem.so. It is NOT linked with hakmem.
// It checks its own results and prints "cxx_prog: ok <checksum>" on success.
// With --expect-hakmem it also checks that malloc and operator new resolve to
// libhakmem.so and that hakmem owns the blocks that new returns.
#include <dlfcn.h>
#include <malloc.h>

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

static int failures = 0;
#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "cxx_prog: check failed at line %d: %s\n", __LINE__, #cond); \
      ++failures;                                                            \
    }                                                                        \
  } while (0)

struct alignas(64) Line64 {
  unsigned char b[64];
};
struct alignas(256) Big256 {
  uint64_t v[40];
};
struct alignas(4096) Page {
  char c[100];
};

static bool aligned(const void* p, size_t a) { return (reinterpret_cast<uintptr_t>(p) & (a - 1)) == 0; }

static const char* lib_of(const char* sym) {
  void* f = dlsym(RTLD_DEFAULT, sym);
  Dl_info info{};
  if (!f || !dladdr(f, &info) || !info.dli_fname) return "";
  return info.dli_fname;
}

static volatile size_t g_huge = SIZE_MAX / 2;
static int g_handler_calls = 0;
static void counting_handler() {
  if (++g_handler_calls == 3) std::set_new_handler(nullptr);
}

static int new_handler_protocol() {
  // operator new calls the installed handler until it is removed, then throws.
  g_handler_calls = 0;
  std::set_new_handler(counting_handler);
  bool caught = false;
  try {
    void* h = ::operator new(g_huge);
    std::printf("huge new returned %p\n", h);
  } catch (const std::bad_alloc&) {
    caught = true;
  }
  std::set_new_handler(nullptr);
  CHECK(caught);
  if (g_handler_calls != 3) {
    std::fprintf(stderr, "cxx_prog: new_handler called %d times, want 3\n", g_handler_calls);
    ++failures;
  }
  if (failures) return 1;
  std::printf("cxx_prog: new_handler ok\n");
  return 0;
}

static int new_handler_aligned() {
  // The aligned forms too: a size that wraps when rounded up to the
  // alignment must still throw, not return a small block. (libstdc++ 12's
  // own aligned operator new rounds and wraps: this runs under hakmem only.)
  bool caught = false;
  for (size_t align : {size_t{64}, size_t{4096}, size_t{1} << 20}) {
    for (size_t n : {SIZE_MAX - 10, SIZE_MAX - align + 2, SIZE_MAX / 2}) {
      g_handler_calls = 0;
      std::set_new_handler(counting_handler);
      caught = false;
      try {
        void* h = ::operator new(n, std::align_val_t(align));
        std::fprintf(stderr, "cxx_prog: operator new(%zu, align %zu) returned %p\n", n, align, h);
        ++failures;
      } catch (const std::bad_alloc&) {
        caught = true;
      }
      CHECK(caught);
      if (g_handler_calls != 3) {
        std::fprintf(stderr, "cxx_prog: aligned new: new_handler called %d times, want 3\n", g_handler_calls);
        ++failures;
      }
      g_handler_calls = 0;
      std::set_new_handler(counting_handler);
      void* q = ::operator new[](n, std::align_val_t(align), std::nothrow);
      if (q) {
        std::fprintf(stderr, "cxx_prog: nothrow new[](%zu, align %zu) returned %p\n", n, align, q);
        ++failures;
      }
      std::set_new_handler(nullptr);
    }
  }
  if (failures) return 1;
  std::printf("cxx_prog: aligned new_handler ok\n");
  return 0;
}

int main(int argc, char** argv) {
  bool expect_hakmem = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--expect-hakmem") == 0) expect_hakmem = true;
    else if (std::strcmp(argv[i], "--new-handler") == 0) return new_handler_protocol();
    else if (std::strcmp(argv[i], "--new-handler-aligned") == 0) return new_handler_aligned();
    else {
      std::fprintf(stderr, "cxx_prog: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  uint64_t checksum = 1469598103934665603ull;
  auto mix = [&](uint64_t v) { checksum = (checksum ^ v) * 1099511628211ull; };

  if (expect_hakmem) {
    for (const char* s : {"malloc", "free", "calloc", "realloc", "_Znwm", "_ZdlPv", "_ZdlPvm",
                          "_ZnwmSt11align_val_t", "_Znam", "_ZdaPv", "posix_memalign"}) {
      const char* lib = lib_of(s);
      if (!std::strstr(lib, "libhakmem")) {
        std::fprintf(stderr, "cxx_prog: %s resolves to '%s', not libhakmem\n", s, lib);
        ++failures;
      }
    }
    // hakmem must own what operator new returns: its prefixed usable-size agrees.
    using usable_fn = size_t (*)(const void*);
    auto hk_usable = reinterpret_cast<usable_fn>(dlsym(RTLD_DEFAULT, "hk_malloc_usable_size"));
    CHECK(hk_usable != nullptr);
    if (hk_usable) {
      char* a = new char[1000];
      CHECK(hk_usable(a) >= 1000);
      CHECK(hk_usable(a) == malloc_usable_size(a));
      delete[] a;
      auto* l = new Line64;
      CHECK(hk_usable(l) >= sizeof(Line64));
      delete l;
    }
  }

  // std::string / std::map / std::unordered_map churn.
  {
    std::map<std::string, std::string> m;
    for (int i = 0; i < 50000; ++i) {
      std::string k = "key-" + std::to_string(i * 7919 % 50000);
      m[k] = std::string(static_cast<size_t>(i % 300), static_cast<char>('a' + i % 26));
    }
    CHECK(m.size() == 50000);
    for (auto& [k, v] : m) {
      mix(k.size());
      mix(v.size());
      if (!v.empty()) mix(static_cast<unsigned char>(v[0]));
    }
    for (int i = 0; i < 50000; i += 2) m.erase("key-" + std::to_string(i));
    CHECK(m.size() == 25000);
    std::unordered_map<uint64_t, std::vector<int>> um;
    for (int i = 0; i < 20000; ++i) um[i].assign(i % 50, i);
    uint64_t sum = 0;
    for (auto& [k, v] : um)
      for (int x : v) sum += x;
    mix(sum);
  }

  // Threads: each builds strings and hands them to the main thread.
  {
    std::vector<std::unique_ptr<std::vector<std::string>>> results(4);
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t)
      ts.emplace_back([t, &results] {
        auto v = std::make_unique<std::vector<std::string>>();
        for (int i = 0; i < 20000; ++i) v->push_back(std::to_string(t) + ":" + std::string(i % 100, 'x'));
        results[t] = std::move(v);
      });
    for (auto& t : ts) t.join();
    size_t total = 0;
    for (auto& r : results) {
      CHECK(r->size() == 20000);
      for (auto& s : *r) total += s.size();
    }
    mix(total);
    results.clear();  // freed by the main thread, allocated by others
  }

  // Every new/delete form.
  {
    int* a = new int(42);
    CHECK(*a == 42);
    delete a;
    int* arr = new int[1000]();
    for (int i = 0; i < 1000; ++i) CHECK(arr[i] == 0);
    delete[] arr;
    auto* n = new (std::nothrow) double[100];
    CHECK(n != nullptr);
    delete[] n;
    auto* l = new Line64[33];
    CHECK(aligned(l, 64));
    std::memset(l, 1, sizeof(Line64) * 33);
    delete[] l;
    for (int i = 0; i < 1000; ++i) {
      auto* x = new Line64;
      CHECK(aligned(x, 64));
      auto* y = new Big256;
      CHECK(aligned(y, 256));
      auto* z = new Page;
      CHECK(aligned(z, 4096));
      auto* w = new (std::nothrow) Big256;
      CHECK(w && aligned(w, 256));
      delete x;
      delete y;
      delete z;
      delete w;
    }
    // Sized delete, called explicitly.
    void* p = ::operator new(100);
    std::memset(p, 3, 100);
    ::operator delete(p, 100);
    void* q = ::operator new(5000, std::align_val_t{512});
    CHECK(aligned(q, 512));
    ::operator delete(q, 5000, std::align_val_t{512});
    void* r = ::operator new[](70000, std::align_val_t{1024});
    CHECK(aligned(r, 1024));
    ::operator delete[](r, std::align_val_t{1024});
    void* s = ::operator new(64, std::nothrow);
    CHECK(s != nullptr);
    ::operator delete(s, std::nothrow);
  }

  // Huge new: bad_alloc, catchable; nothrow forms return nullptr.
  {
    bool caught = false;
    try {
      char* h = new char[g_huge];
      h[0] = 1;
      std::printf("huge new returned %p\n", static_cast<void*>(h));
    } catch (const std::bad_alloc&) {
      caught = true;
    }
    CHECK(caught);
    caught = false;
    try {
      void* h = ::operator new(g_huge, std::align_val_t{64});
      std::printf("huge aligned new returned %p\n", h);
    } catch (const std::bad_alloc&) {
      caught = true;
    }
    CHECK(caught);
    CHECK(::operator new(g_huge, std::nothrow) == nullptr);
    CHECK(::operator new[](g_huge, std::align_val_t{64}, std::nothrow) == nullptr);
    // std::vector growth beyond memory also surfaces as bad_alloc (or length_error).
    caught = false;
    try {
      std::vector<char> v;
      v.reserve(g_huge / 2);
    } catch (const std::bad_alloc&) {
      caught = true;
    } catch (const std::length_error&) {
      caught = true;
    }
    CHECK(caught);
  }

  // C allocation family through the preloaded library.
  {
    void* p = nullptr;
    CHECK(posix_memalign(&p, 128, 1000) == 0 && aligned(p, 128));
    free(p);
    p = aligned_alloc(4096, 8192);
    CHECK(p && aligned(p, 4096));
    free(p);
    p = memalign(64, 10);
    CHECK(p && aligned(p, 64));
    free(p);
    char* c = static_cast<char*>(calloc(1000, 10));
    bool zero = true;
    for (int i = 0; i < 10000; ++i) zero &= c[i] == 0;
    CHECK(zero);
    c = static_cast<char*>(realloc(c, 100000));
    CHECK(c != nullptr);
    free(c);
    CHECK(malloc_usable_size(nullptr) == 0);
  }

  if (failures) {
    std::fprintf(stderr, "cxx_prog: %d failures\n", failures);
    return 1;
  }
  std::printf("cxx_prog: ok %llu\n", static_cast<unsigned long long>(checksum));
  return 0;
}
