// The override layer for glibc's malloc extensions: malloc_trim, mallinfo2,
// mallinfo, malloc_stats, malloc_info and mallopt forward to the hk_*
// functions (core/malloc_ext.cc), so that under LD_PRELOAD they act on
// hakmem's memory. Built only into libhakmem.so.
#include <malloc.h>
#include <stdio.h>

#include "hakmem.h"

#define HK_EXPORT extern "C" __attribute__((visibility("default")))

HK_EXPORT int malloc_trim(size_t pad) { return hk_malloc_trim(pad); }
HK_EXPORT struct mallinfo2 mallinfo2(void) { return hk_mallinfo2(); }
HK_EXPORT struct mallinfo mallinfo(void) { return hk_mallinfo(); }
HK_EXPORT void malloc_stats(void) { hk_malloc_stats(); }
HK_EXPORT int malloc_info(int options, FILE* fp) { return hk_malloc_info(options, fp); }
HK_EXPORT int mallopt(int param, int value) { return hk_mallopt(param, value); }
