// Links of the small-object free lists that live in the objects: each
// slab's free list, stored in the first word of each free
// object. (Thread cache bins hold no links: they are arrays of pointers of
// the heap's own, core/small/thread_heap.h.)
//
// A link stored raw lets one write after free choose what malloc returns
// next. So every link is stored encoded with per-process secrets and the
// address of the word that holds it:
//     stored  = ((next ^ link_key) * link_mul) ^ at
//     decoded = ((stored ^ at) * link_mul_inv) ^ link_key
// The multiply spreads any change of the stored word over all bits of the
// decoded one: a forged word, a link copied from another object, even one
// flipped bit decodes to an address that is, but for odds of 2^-40 or so,
// not a free object of the list's slab (an XOR alone would turn a flipped
// bit into a neighbouring object of the same slab, handed out twice). Each
// decoded link is then checked before it is followed: it must be null or a
// carved object of the list's slab carrying its guard word. A failed check
// aborts with one line naming the object whose link was forged. These lists
// are read on the slow paths only (refill, flush, the decommit sweep), so
// the multiply costs malloc nothing.
//
// -DHAKMEM_ENCODE_LINKS=OFF stores links raw and skips the checks, for
// measuring what they cost.
#pragma once
#include <cstdint>

#include "core/error_report.h"
#include "core/runtime.h"
#include "core/small/slab.h"

#ifndef HAKMEM_ENCODE_LINKS
#define HAKMEM_ENCODE_LINKS 1
#endif

namespace hakmem {

inline constexpr bool kEncodeLinks = HAKMEM_ENCODE_LINKS;

[[gnu::always_inline]] inline uintptr_t link_encode(const FreeNode* at, const FreeNode* next) {
  uintptr_t n = reinterpret_cast<uintptr_t>(next);
  if constexpr (!kEncodeLinks) return n;
  return ((n ^ g_rt.link_key) * g_rt.link_mul) ^ reinterpret_cast<uintptr_t>(at);
}

// The link of free object at, decoded but not checked.
[[gnu::always_inline]] inline FreeNode* link_decode(const FreeNode* at) {
  uintptr_t v = at->link;
  if constexpr (!kEncodeLinks) return reinterpret_cast<FreeNode*>(v);
  return reinterpret_cast<FreeNode*>(((v ^ reinterpret_cast<uintptr_t>(at)) * g_rt.link_mul_inv) ^ g_rt.link_key);
}

// A relaxed atomic store is a plain store; it keeps the compiler from
// pairing it with the guard word's store into one vector store (a remote
// free writes both), which costs instructions more.
[[gnu::always_inline]] inline void link_set(FreeNode* at, const FreeNode* next) {
  __atomic_store_n(&at->link, link_encode(at, next), __ATOMIC_RELAXED);
}

// Whether a is the start of an object carved in slab s.
[[gnu::always_inline]] inline bool object_carved(const SlabMeta* s, uintptr_t a) {
  return object_check(object_offset(s, a), s->size_inverse, s->size_shift) < __atomic_load_n(&s->carved, __ATOMIC_RELAXED);
}

// The next object after at on slab s's free list, checked: null, or a
// carved object of s carrying its guard.
[[gnu::always_inline]] inline FreeNode* link_next_in_slab(const SlabMeta* s, const FreeNode* at) {
  FreeNode* next = link_decode(at);
  if constexpr (!kEncodeLinks) return next;
  if (!next) return next;
  if (__builtin_expect(!object_carved(s, reinterpret_cast<uintptr_t>(next)) || next->guard != s->guard, 0))
    report_corrupted_link(at);
  return next;
}

}  // namespace hakmem
