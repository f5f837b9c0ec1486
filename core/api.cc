// The prefixed API (hk_*): glibc-compatible semantics and errno on top of the
// small-object heaps and the large allocator. The override layer
// (core/override/) forwards the malloc family here, or inlines core/api.h.
//
//   hk_malloc, hk_free, hk_calloc   core/api.h inline
//   hk_realloc                      usable_or_die; same block, large::resize, or copy
//   hk_memalign & co.               alloc_aligned: a class whose size is a multiple, else large
//   hakmem_collect                  heap_flush_all, decommit::run
#include "core/api.h"

#include <errno.h>

#include <cstring>

#include "core/budget_account.h"
#include "core/large/large.h"
#include "core/platform/platform.h"
#include "core/small/slab_lookup.h"
#include "core/small/slow_paths.h"
#include "decommit/run.h"
#include "hakmem.h"

namespace hakmem {

namespace api {

[[gnu::noinline]] void* alloc_large(size_t n, size_t align, bool zero) {
  runtime::ensure_init();
  // The budget before the block is mapped (counted whole: the program may
  // touch all of it). A block the large cache holds commits nothing, but
  // only a budget already at its target or limit asks, and then the cache
  // is given back too.
  // The reservation stands while the block is made (large::alloc counts
  // what it maps against it), so that threads mapping at once cannot pass
  // the hard limit together.
  const size_t reserved = budget::active() && n <= (size_t{1} << 47) ? (n + os::kPageSize - 1) & ~(os::kPageSize - 1) : 0;
  if (reserved && !budget_room(reserved, false)) {
    errno = ENOMEM;
    return nullptr;
  }
  size_t dirty;
  void* p = large::alloc(n, align, &dirty, reserved);
  if (!p) {
    errno = ENOMEM;
    return nullptr;
  }
  // Reused memory costs the memset of what was in use, never a fault per page.
  if (zero && dirty) std::memset(p, 0, dirty < n ? dirty : n);
  return p;
}

[[gnu::noinline]] void free_outside_arena(void* p) {
  if (!p) return;
  if (SlabMeta* s = find_slab(p)) return small_free(s, p);
  if (large::free(p)) return;
  report_not_allocated(p);
}

}  // namespace api

namespace {

// Alignment is a power of two.
void* alloc_aligned(size_t align, size_t n) {
  if (align <= 16) return api::malloc(n);
  if (align <= os::kPageSize && n <= kMaxSmallSize) {
    // Objects sit at multiples of their class size from page-aligned slab
    // starts: a class whose size is a multiple of align gives aligned objects.
    if (unsigned c = aligned_class(n, align); c < kNumClasses) return small_alloc(c);
  }
  return api::alloc_large(n, align, false);
}

bool mul_overflows(size_t a, size_t b, size_t* out) { return __builtin_mul_overflow(a, b, out); }

// Usable size of a pointer hakmem handed out; aborts on a foreign pointer.
size_t usable_or_die(const void* p, const char* op) {
  if (SlabMeta* s = find_slab(p)) {
    check_object(s, p, op);
    return s->obj_size;
  }
  size_t n = large::usable_size(p);
  if (!n) report_bad_pointer(p, op);
  return n;
}

}  // namespace

}  // namespace hakmem

using namespace hakmem;

extern "C" {

HK_HOT void* hk_malloc(size_t n) { return api::malloc(n); }
HK_HOT void hk_free(void* p) { api::free(p); }
HK_HOT void* hk_calloc(size_t count, size_t size) { return api::calloc(count, size); }

void* hk_realloc(void* p, size_t n) {
  if (!p) return api::malloc(n);
  if (n == 0) {
    hk_free(p);
    return nullptr;
  }
  size_t old = usable_or_die(p, "realloc()");
  if (old <= kMaxSmallSize) {
    // Same class, or shrinking by less than half: keep the block.
    if (n <= old && (n > old / 2 || old <= 16)) return p;
  } else if (n > kMaxSmallSize) {
    if (void* q = large::resize(p, n)) return q;
  }
  void* q = api::malloc(n);
  if (!q) return nullptr;
  std::memcpy(q, p, old < n ? old : n);
  hk_free(p);
  return q;
}

void* hk_reallocarray(void* p, size_t count, size_t size) {
  size_t n;
  if (mul_overflows(count, size, &n)) {
    errno = ENOMEM;
    return nullptr;
  }
  return hk_realloc(p, n);
}

void* hk_memalign(size_t align, size_t n) {
  if (align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  // glibc rounds an alignment that is not a power of two up to one.
  if (align & (align - 1)) align = size_t{1} << (64 - __builtin_clzll(align));
  return alloc_aligned(align, n);
}

int hk_posix_memalign(void** out, size_t align, size_t n) {
  if (align < sizeof(void*) || (align & (align - 1)) || align > (SIZE_MAX >> 1) + 1) return EINVAL;
  void* p = alloc_aligned(align, n);
  if (!p) {
    errno = ENOMEM;  // as glibc does (EINVAL above leaves errno alone, as there)
    return ENOMEM;
  }
  *out = p;
  return 0;
}

void* hk_aligned_alloc(size_t align, size_t n) {
  if (align == 0 || (align & (align - 1)) || align > (SIZE_MAX >> 1) + 1) {
    errno = EINVAL;
    return nullptr;
  }
  return alloc_aligned(align, n);
}

void* hk_valloc(size_t n) { return alloc_aligned(os::kPageSize, n); }

void* hk_pvalloc(size_t n) {
  size_t r = (n + os::kPageSize - 1) & ~(os::kPageSize - 1);
  if (r < n) {
    errno = ENOMEM;
    return nullptr;
  }
  return alloc_aligned(os::kPageSize, r ? r : os::kPageSize);
}

size_t hk_malloc_usable_size(const void* p) { return p ? usable_or_die(p, "malloc_usable_size()") : 0; }

void hakmem_collect(int force) {
  runtime::ensure_init();
  heap_flush_all(tl_heap, true);
  decommit::run(os::now_ms(), force != 0);
}

}  // extern "C"
