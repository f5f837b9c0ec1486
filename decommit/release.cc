#include "decommit/release.h"

#include "core/platform/memory.h"
#include "core/runtime.h"
#include "core/small/free_link.h"

namespace hakmem::decommit {

std::atomic<size_t> g_idle_committed{0};

namespace {
// Object area of a slab, page aligned: what the decommit mechanism releases.
void slab_object_area(SuperSlab* ss, SlabMeta* s, char** begin, size_t* len) {
  char* b = ss->obj_begin(s);
  char* e = ss->slab_base(s) + kSlabSize;
  *begin = b;
  *len = static_cast<size_t>(e - b);
}
}  // namespace

void idle_leave(const SlabMeta* s) {
  if (s->release_state == ReleaseState::Committed) g_idle_committed.fetch_sub(kSlabSize, std::memory_order_relaxed);
}

std::atomic<size_t> g_idle_cap_stretch{0};
namespace {
std::atomic<uint64_t> g_stretch_decayed_ms{0};
}

// (Threads race on the stretch harmlessly: it is a hint of how much to keep.)
void note_empty_reused(const SlabMeta* s, uint64_t now) {
  const DecommitConfig& cfg = g_rt.decommit;
  if (!reused_early(cfg, s->release_state, s->idle_since_ms, now)) return;
  if (g_idle_cap_stretch.load(std::memory_order_relaxed) < cfg.idle_cap_stretch_max)
    g_idle_cap_stretch.fetch_add(kSlabSize, std::memory_order_relaxed);
}

void decay_idle_cap_stretch(uint64_t now) {
  const uint64_t at = g_stretch_decayed_ms.load(std::memory_order_relaxed);
  if (now < at + g_rt.decommit.delay_ms) return;
  g_stretch_decayed_ms.store(now, std::memory_order_relaxed);
  g_idle_cap_stretch.store(g_idle_cap_stretch.load(std::memory_order_relaxed) / 2, std::memory_order_relaxed);
}

// The one place where an action becomes a platform call.
void release_range(char* p, size_t len, DecommitAction how) {
  if (how == DecommitAction::ReleaseLazily) os::release_lazily(p, len);
  else os::release_now(p, len);
}

void release_pages(SlabMeta* s, uint32_t mask, DecommitAction how) {
  char* base = SuperSlab::obj_begin(s);
  for (unsigned i = 0; i < kMaxSlabPages;) {
    if (!(mask >> i & 1)) {
      ++i;
      continue;
    }
    unsigned j = i;
    while (j < kMaxSlabPages && (mask >> j & 1)) ++j;
    release_range(base + size_t{i} * os::kPageSize, size_t{j - i} * os::kPageSize, how);
    i = j;
  }
  if (how == DecommitAction::ReleaseNow) slab_drop_resident(s, mask);
}

// The objects on released pages are not on any list: the slab's
// released_pages says which they are (slab_reclaim_pages puts them back).
void release_free_pages(SlabMeta* s, DecommitAction how) {
  if (!s->local_free) return;
  // Only pages wholly inside the carved area: objects carved later must
  // never overlap a released page. Once all is carved, the last page too
  // (past the last object it holds nothing).
  const uint64_t carved_bytes = uint64_t{s->carved} * s->obj_size;
  unsigned full_pages = static_cast<unsigned>(s->carved == s->capacity ? (carved_bytes + os::kPageSize - 1) / os::kPageSize
                                                                      : carved_bytes / os::kPageSize);
  if (full_pages == 0) return;
  if (full_pages > kMaxSlabPages) full_pages = kMaxSlabPages;
  const uint64_t size = s->obj_size;
  uint16_t free_objs[kMaxSlabPages] = {};
  unsigned first, last;
  // Objects on the free list, counted per page they overlap (from their
  // offset: the list was just checked, so each is the start of an object).
  for (FreeNode* f = s->local_free; f; f = link_next_in_slab(s, f)) {
    const uint64_t b = object_offset(s, reinterpret_cast<uintptr_t>(f));
    first = static_cast<unsigned>(b / os::kPageSize);
    last = static_cast<unsigned>((b + size - 1) / os::kPageSize);
    for (unsigned p = first; p <= last && p < kMaxSlabPages; ++p) free_objs[p]++;
  }
  // A page is all free when every carved object overlapping it is: those
  // are the objects from the one holding its first byte to the one holding
  // its last carved byte. Counting them per page, not walking every carved
  // object, took the sweep of compare/'s phases from a quarter of LEAN's
  // instructions (2,048 objects per 32 B slab, mostly without a free page).
  uint32_t mask = 0;
  for (unsigned p = 0; p < full_pages; ++p) {
    const uint64_t begin = uint64_t{p} * os::kPageSize;
    if (begin >= carved_bytes || (s->released_pages >> p & 1) || !free_objs[p]) continue;
    const uint64_t end = begin + os::kPageSize < carved_bytes ? begin + os::kPageSize : carved_bytes;
    const uint64_t total = (end - 1) / size - begin / size + 1;
    if (total == free_objs[p]) mask |= uint32_t{1} << p;
  }
  if (!mask) return;
  uint32_t parked = s->released_pages | mask;
  // Unlink the objects on those pages (the list was checked just above).
  FreeNode* kept = nullptr;  // the last object kept so far
  for (FreeNode* f = s->local_free; f;) {
    FreeNode* next = link_decode(f);
    object_pages(s, object_index_of(s, f), &first, &last);
    if (!(pages_mask(first, last) & parked)) {
      if (kept) link_set(kept, f);
      else s->local_free = f;
      kept = f;
    }
    f = next;
  }
  if (kept) link_set(kept, nullptr);
  else s->local_free = nullptr;
  release_pages(s, mask, how);
  set_released_pages(s, parked);
  retag_owner(s);
  if (how == DecommitAction::ReleaseLazily) s->lazy_pages = static_cast<uint16_t>(s->lazy_pages | mask);
}

void release_empty_slab_memory(SlabMeta* s, DecommitAction a) {
  char* b;
  size_t len;
  slab_object_area(superslab_of_slab(s), s, &b, &len);
  release_range(b, len, a);
}

namespace {
// After its memory went: the free list lived in it, so the slab starts afresh.
void release_empty_slab_settle(SlabMeta* s, DecommitAction a) {
  if (a == DecommitAction::ReleaseNow) slab_drop_resident(s, ~uint32_t{0});
  slab_reset_fresh(s);
  s->release_state = decommit::state_after(s->release_state, a);
}
}  // namespace

void release_empty_slab_locked(SlabMeta* s, DecommitAction a) {
  release_empty_slab_memory(s, a);
  idle_leave(s);
  release_empty_slab_settle(s, a);
}

void release_empty_slab_detach_locked(SlabMeta* s) {
  idle_leave(s);
  superslab_of_slab(s)->active++;
}

void release_empty_slab_settle_locked(SlabMeta* s, DecommitAction a) {
  release_empty_slab_settle(s, a);
  superslab_of_slab(s)->active--;
}

// s is owned or orphaned; its owner's or the pool's lock is held. An
// unswept slab (Committed) releases its free pages with the first stage; the
// pages an earlier sweep released with MADV_FREE go with DONTNEED then: the
// slab gained objects after that sweep and has been idle a delay since, so
// they have been idle for a delay too. A LazyFree slab's pages escalate.
uint64_t sweep_slab(SlabMeta* s, uint64_t now, bool over) {
  const DecommitConfig& cfg = g_rt.decommit;
  DecommitAction a = decommit::decide(cfg, s->release_state, s->idle_since_ms, now, over);
  if (a != DecommitAction::None) {
    if (s->lazy_pages) {
      release_pages(s, s->lazy_pages, DecommitAction::ReleaseNow);
      s->lazy_pages = 0;
    }
    if (s->release_state == ReleaseState::Committed) release_free_pages(s, a);
    s->release_state = s->lazy_pages ? ReleaseState::LazyFree : ReleaseState::Released;
  }
  return next_deadline(cfg, s->release_state, s->idle_since_ms);
}

}  // namespace hakmem::decommit
