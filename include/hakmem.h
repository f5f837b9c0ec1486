/* hakmem public API.
 *
 * Two ways to use hakmem:
 *  - LD_PRELOAD=libhakmem.so: the malloc family, operator new/delete and the
 *    __libc_* aliases are replaced; nothing here needs to be called.
 *  - Link the prefixed API (hk_*) from libhakmem.so or the hakmem_core static
 *    library: the same allocator without interposing on the process malloc.
 *
 * hakmem_collect() and hakmem_stats() work in both cases, and so do glibc's
 * malloc extensions (malloc_trim, mallinfo2, mallopt, ...): under LD_PRELOAD
 * under their own names, and here as hk_malloc_trim() and so on.
 */
#ifndef HAKMEM_H
#define HAKMEM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>

/* The version; CMake refuses to configure when these differ from
 * project(hakmem VERSION ...), which also names the soname (libhakmem.so.MAJOR). */
#define HAKMEM_VERSION_MAJOR 0
#define HAKMEM_VERSION_MINOR 1
#define HAKMEM_VERSION_PATCH 0
#define HAKMEM_VERSION_STRING "0.1.0"
/* One number that compares in order: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define HAKMEM_VERSION (HAKMEM_VERSION_MAJOR * 10000 + HAKMEM_VERSION_MINOR * 100 + HAKMEM_VERSION_PATCH)

#if defined(__GNUC__)
#define HAKMEM_API __attribute__((visibility("default")))
#else
#define HAKMEM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

HAKMEM_API void*  hk_malloc(size_t size);
HAKMEM_API void   hk_free(void* ptr);
HAKMEM_API void*  hk_calloc(size_t count, size_t size);
HAKMEM_API void*  hk_realloc(void* ptr, size_t size);
HAKMEM_API void*  hk_reallocarray(void* ptr, size_t count, size_t size);
HAKMEM_API void*  hk_memalign(size_t alignment, size_t size);
HAKMEM_API int    hk_posix_memalign(void** out, size_t alignment, size_t size);
HAKMEM_API void*  hk_aligned_alloc(size_t alignment, size_t size);
HAKMEM_API void*  hk_valloc(size_t size);
HAKMEM_API void*  hk_pvalloc(size_t size);
HAKMEM_API size_t hk_malloc_usable_size(const void* ptr);

/* The library's version: HAKMEM_VERSION and HAKMEM_VERSION_STRING of the
 * build that is running, which may be newer than the header a program was
 * compiled with (same major version: same soname). */
HAKMEM_API int hakmem_version(void);
HAKMEM_API const char* hakmem_version_string(void);

/* glibc's malloc extensions on hakmem's own memory (see hakmem(3)).
 * hk_malloc_trim: releases idle memory now (as hakmem_collect(1), and the
 *   cached freed large mappings in FAST too); 1 if any went back to the kernel.
 * hk_mallinfo2 / hk_mallinfo: arena = committed small-object slabs,
 *   uordblks = bytes handed out in them, fordblks = their free bytes (thread
 *   caches included, also in fsmblks/smblks), hblks/hblkhd = live large
 *   mappings, keepcost = cached freed large mappings; mallinfo's ints saturate.
 * hk_malloc_stats: glibc's summary on stderr.
 * hk_malloc_info: glibc's XML; options must be 0 (else -1 with EINVAL).
 * hk_mallopt: 1 for glibc's documented parameters with valid values, 0 for
 *   the rest; M_TRIM_THRESHOLD sets LEAN's idle cap, the others change nothing. */
HAKMEM_API int hk_malloc_trim(size_t pad);
HAKMEM_API struct mallinfo2 hk_mallinfo2(void);
HAKMEM_API struct mallinfo hk_mallinfo(void);
HAKMEM_API void hk_malloc_stats(void);
HAKMEM_API int hk_malloc_info(int options, FILE* fp);
HAKMEM_API int hk_mallopt(int param, int value);

/* Release idle memory now.
 * force == 0: apply the decommit policy at the current time (what is due).
 * force != 0: release all idle memory immediately with MADV_DONTNEED (LEAN),
 *             ignoring the delay. In FAST mode only the calling thread's
 *             caches are flushed; FAST never returns memory to the OS.
 * Also flushes the calling thread's caches so its idle slabs can be released. */
HAKMEM_API void hakmem_collect(int force);

/* Statistics snapshot. Byte counts are bytes; *_calls are syscall counts. */
typedef struct hakmem_stats {
  int      lean;                 /* 1 in LEAN mode, 0 in FAST */
  size_t   superslab_size;       /* HAKMEM_SS_SIZE as used */
  /* from /proc/self/smaps_rollup (0 when unreadable) */
  size_t   rss;
  size_t   lazyfree;
  size_t   anon_huge;
  /* allocator accounting */
  size_t   live_small_bytes;     /* bytes in small objects handed out to the program */
  size_t   thread_cache_bytes;   /* bytes parked in thread caches */
  size_t   live_large_bytes;     /* bytes mapped for live large allocations */
  size_t   large_cache_bytes;    /* bytes of freed large mappings kept for reuse */
  size_t   superslabs_mapped;    /* count */
  size_t   superslab_bytes_mapped;
  size_t   slab_bytes_committed; /* slabs in use or idle but not yet released */
  size_t   slab_bytes_lazyfree;  /* idle slabs released with MADV_FREE */
  size_t   slab_bytes_dontneed;  /* idle slabs released with MADV_DONTNEED */
  size_t   metadata_bytes;
  uint64_t mmap_calls;
  uint64_t munmap_calls;
  uint64_t madvise_free_calls;
  uint64_t madvise_dontneed_calls;
  size_t   anonymous;            /* Anonymous from smaps_rollup: RSS not backed by files */
  size_t   arena_bytes;          /* address space reserved for SuperSlabs (HAKMEM_ARENA_SIZE; 0: none) */
  size_t   arena_superslabs;     /* SuperSlabs in the reservation (the rest are mapped on their own) */
  size_t   main_stack;           /* resident bytes of the main thread's stack ([stack] in smaps) */
  /* The floor of what the allocator can keep resident: bytes of the pages that
     hold a live object (small objects' 4 KiB pages, live large mappings).
     Objects in other threads' caches count as live. */
  size_t   live_object_page_bytes;
  /* The committed-bytes account the budget and the hard limit act on: slab
     pages touched and not given back with MADV_DONTNEED (MADV_FREE pages
     count: they stay in RSS), SuperSlab headers, large blocks and the large
     cache. */
  size_t   committed_bytes;
  uint64_t limit_failures;          /* allocations refused by HAKMEM_MEM_LEAN_LIMIT_MB (ENOMEM) */
  uint64_t budget_forced_releases;  /* releases of everything idle: over the target or at the limit */
  uint64_t budget_quiet_releases;   /* releases of quiet classes' free pages before a commit */
} hakmem_stats_t;

/* Fill *out; returns 0. */
HAKMEM_API int hakmem_stats(hakmem_stats_t* out);

/* Print the options as used and the statistics / RSS breakdown to fd. */
HAKMEM_API void hakmem_print_stats(int fd);

#ifdef __cplusplus
}
#endif
#endif /* HAKMEM_H */
