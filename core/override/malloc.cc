// The override layer for C: the malloc family and the __libc_* aliases,
// built only into libhakmem.so. Forwarders: malloc, free and calloc inline
// the fast path (core/api.h), so they cost what hk_malloc costs; the rest
// jump to their hk_* function.
#include "core/api.h"
#include "hakmem.h"

#define HK_EXPORT extern "C" __attribute__((visibility("default")))
// Several names for one function: an alias must live in its target's
// translation unit, so the aliases of the hot three are defined here.
#define HK_ALIAS(name) __attribute__((alias(#name), used, visibility("default")))
// glibc's declarations give malloc & co. attributes (malloc, alloc_size,
// nothrow) that the __libc_* names, declared here, do not repeat.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmissing-attributes"
#endif

HK_EXPORT HK_HOT void* malloc(size_t n) { return hakmem::api::malloc(n); }
HK_EXPORT HK_HOT void free(void* p) { hakmem::api::free(p); }
HK_EXPORT HK_HOT void* calloc(size_t c, size_t n) { return hakmem::api::calloc(c, n); }
HK_EXPORT void* realloc(void* p, size_t n) { return hk_realloc(p, n); }
HK_EXPORT void* reallocarray(void* p, size_t c, size_t n) { return hk_reallocarray(p, c, n); }
HK_EXPORT void* memalign(size_t a, size_t n) { return hk_memalign(a, n); }
HK_EXPORT int posix_memalign(void** out, size_t a, size_t n) { return hk_posix_memalign(out, a, n); }
HK_EXPORT void* aligned_alloc(size_t a, size_t n) { return hk_aligned_alloc(a, n); }
HK_EXPORT void* valloc(size_t n) { return hk_valloc(n); }
HK_EXPORT void* pvalloc(size_t n) { return hk_pvalloc(n); }
HK_EXPORT size_t malloc_usable_size(void* p) { return hk_malloc_usable_size(p); }

HK_EXPORT void cfree(void* p) HK_ALIAS(free);
HK_EXPORT void* __libc_malloc(size_t n) HK_ALIAS(malloc);
HK_EXPORT void __libc_free(void* p) HK_ALIAS(free);
HK_EXPORT void* __libc_calloc(size_t c, size_t n) HK_ALIAS(calloc);
HK_EXPORT void* __libc_realloc(void* p, size_t n) HK_ALIAS(realloc);
HK_EXPORT void* __libc_memalign(size_t a, size_t n) HK_ALIAS(memalign);
HK_EXPORT void* __libc_valloc(size_t n) HK_ALIAS(valloc);
HK_EXPORT void* __libc_pvalloc(size_t n) HK_ALIAS(pvalloc);
HK_EXPORT int __posix_memalign(void** out, size_t a, size_t n) HK_ALIAS(posix_memalign);
