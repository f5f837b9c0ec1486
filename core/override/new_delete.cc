// The override layer for C++: every operator new/delete form as a forwarder
// to the hk_* API, built only into libhakmem.so. Kept apart from the C
// family (malloc.cc): a C program never needs the new-handler machinery.
#include <stddef.h>

#include <new>

#include "core/platform/log.h"
#include "hakmem.h"

// ---------------------------------------------------------------------------
// operator new / delete. libhakmem.so must not depend on libstdc++, so
// std::bad_alloc is thrown through weak references to the C++ runtime that
// any program calling operator new has loaded; without one, we abort.

extern "C" {
__attribute__((weak)) void* __cxa_allocate_exception(size_t);
__attribute__((weak)) void __cxa_throw(void*, void*, void (*)(void*));
__attribute__((weak)) extern char _ZTISt9bad_alloc[];             // typeinfo for std::bad_alloc
__attribute__((weak)) extern void* _ZTVSt9bad_alloc[];            // vtable for std::bad_alloc
__attribute__((weak)) void _ZNSt9bad_allocD1Ev(void*);            // std::bad_alloc::~bad_alloc()
__attribute__((weak)) std::new_handler _ZSt15get_new_handlerv();  // std::get_new_handler()
}

namespace {

[[noreturn]] void throw_bad_alloc() {
  if (__cxa_allocate_exception && __cxa_throw && _ZTISt9bad_alloc && _ZTVSt9bad_alloc && _ZNSt9bad_allocD1Ev) {
    void** obj = static_cast<void**>(__cxa_allocate_exception(sizeof(void*)));
    *obj = &_ZTVSt9bad_alloc[2];  // the vtable's address point
    __cxa_throw(obj, _ZTISt9bad_alloc, _ZNSt9bad_allocD1Ev);
  }
  static const char msg[] = "hakmem: operator new: out of memory and no C++ runtime to throw std::bad_alloc\n";
  hakmem::os::write_fd(2, msg, sizeof msg - 1);
  __builtin_trap();
}

std::new_handler current_new_handler() { return _ZSt15get_new_handlerv ? _ZSt15get_new_handlerv() : nullptr; }

// Retries through the new handler as the standard requires.
void* new_slow(size_t n, size_t align, bool nothrow) {
  for (;;) {
    std::new_handler h = current_new_handler();
    if (!h) {
      if (nothrow) return nullptr;
      throw_bad_alloc();
    }
    h();  // may throw
    // The same request as the first attempt (rounding n up to the alignment
    // here once wrapped a huge n to a small block).
    void* p = align ? hk_memalign(align, n) : hk_malloc(n);
    if (p) return p;
  }
}

inline void* do_new(size_t n) {
  void* p = hk_malloc(n);
  return __builtin_expect(p != nullptr, 1) ? p : new_slow(n, 0, false);
}
inline void* do_new_nothrow(size_t n) {
  void* p = hk_malloc(n);
  return p ? p : new_slow(n, 0, true);
}
inline void* do_new_aligned(size_t n, std::align_val_t a, bool nothrow) {
  size_t al = static_cast<size_t>(a);
  void* p = hk_memalign(al, n);
  return p ? p : new_slow(n, al, nothrow);
}

}  // namespace

#define HK_CXX __attribute__((visibility("default")))

HK_CXX void* operator new(size_t n) { return do_new(n); }
HK_CXX void* operator new[](size_t n) { return do_new(n); }
HK_CXX void* operator new(size_t n, const std::nothrow_t&) noexcept { return do_new_nothrow(n); }
HK_CXX void* operator new[](size_t n, const std::nothrow_t&) noexcept { return do_new_nothrow(n); }
HK_CXX void* operator new(size_t n, std::align_val_t a) { return do_new_aligned(n, a, false); }
HK_CXX void* operator new[](size_t n, std::align_val_t a) { return do_new_aligned(n, a, false); }
HK_CXX void* operator new(size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return do_new_aligned(n, a, true);
}
HK_CXX void* operator new[](size_t n, std::align_val_t a, const std::nothrow_t&) noexcept {
  return do_new_aligned(n, a, true);
}

HK_CXX void operator delete(void* p) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, size_t) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, size_t) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, size_t, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, size_t, std::align_val_t) noexcept { hk_free(p); }
HK_CXX void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk_free(p); }
HK_CXX void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { hk_free(p); }
