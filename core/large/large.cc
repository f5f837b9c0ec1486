#include "core/large/large.h"

#include <cstring>

#include "core/budget_account.h"
#include "core/large/cached_bounds.h"
#include "core/error_report.h"
#include "core/intrusive_list.h"
#include "core/platform/spin_lock.h"
#include "core/platform/platform.h"
#include "core/runtime.h"
#include "decommit/deadline.h"

namespace hakmem::large {

namespace {

struct Entry {
  uintptr_t base;  // 0: empty, 1: deleted
  size_t len;
};
constexpr uintptr_t kEmpty = 0, kDeleted = 1;

}  // namespace

// Where mappings that joined into one cached mapping began (see
// join_neighbours_locked), ascending: each still holds its canary, checked
// when the memory there is taken, so a write after free into any of the
// blocks is caught as it was before they joined. A mapping joins only while
// there is room for its seams.
constexpr size_t kMaxSeams = 4;
struct Seams {
  uint32_t n = 0;
  uintptr_t at[kMaxSeams] = {};
};

// A freed mapping kept for reuse. Its record lives in hakmem's own memory,
// never in the mapping: a program writing into a block it freed must not
// choose what the cache hands out, writes to or unmaps. Mappings are on a
// list per size (exact page count up to kBucketPages, one list for
// everything larger) and on one list in the order they were freed, for
// eviction and for the decommit delay. The records are a fixed array of the
// preset's entry limit, mapped on first use.
//
// LEAN keeps two kinds: committed mappings, within the byte budget, and
// beyond it lazily freed ones (MADV_FREE, the decommit's first stage),
// within the preset's lazy budget. A phase that frees more large blocks
// than the budget and allocates them again within the delay finds them
// without a page fault, while what it does not reuse is no longer counted
// in RSS − LazyFree and is unmapped once the delay has passed, like all of
// the cache.
struct CachedMap {
  CachedMap* next;   // same bucket; the free records while unused
  CachedMap* prev;
  CachedMap* newer;  // freed order
  CachedMap* older;
  uintptr_t base;
  size_t len;
  uint64_t freed_ms;  // for the decommit delay (LEAN)
  bool lazy;          // released lazily when cached: its pages may read as zero
  Seams seams;
};

namespace {

constexpr size_t kBucketPages = 256;  // 1 MiB: exact-size lists below, one shared list above
using BucketList = IntrusiveList<CachedMap, &CachedMap::prev, &CachedMap::next>;
using AgeList = IntrusiveList<CachedMap, &CachedMap::older, &CachedMap::newer>;  // first: the oldest

struct State {
  SpinLock lock;
  Entry* table = nullptr;
  size_t cap = 0;       // power of two
  size_t count = 0;     // live entries
  size_t deleted = 0;
  size_t live_bytes = 0;
  size_t peak_live = 0;  // most live_bytes since the cache was last empty
  BucketList bucket[kBucketPages + 1];  // [pages - 1], [kBucketPages]: larger
  AgeList by_age;
  CachedMap* records = nullptr;  // the array of records
  size_t records_bytes = 0;
  CachedMap* spare = nullptr;    // unused records, linked through next
  size_t cached = 0;
  size_t cache_bytes = 0;  // committed cached mappings (the byte budget counts these)
  size_t lazy_bytes = 0;   // lazily released cached mappings
  CachedBounds bounds;     // cached mappings by where they begin and end
} g_large;

size_t slot_of(uintptr_t base, size_t cap) {
  return static_cast<size_t>(((base >> 12) * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

Entry* find_locked(uintptr_t base) {
  if (!g_large.cap) return nullptr;
  for (size_t i = slot_of(base, g_large.cap);; i = (i + 1) & (g_large.cap - 1)) {
    Entry& e = g_large.table[i];
    if (e.base == base) return &e;
    if (e.base == kEmpty) return nullptr;
  }
}

bool grow_locked() {
  size_t cap = g_large.cap ? g_large.cap * 2 : 512;
  if (g_large.cap && g_large.count * 4 < g_large.cap) cap = g_large.cap;  // mostly tombstones: rehash in place size
  auto* t = static_cast<Entry*>(os::map(cap * sizeof(Entry)));
  if (!t) return false;
  for (size_t i = 0; i < g_large.cap; ++i) {
    uintptr_t b = g_large.table[i].base;
    if (b == kEmpty || b == kDeleted) continue;
    size_t j = slot_of(b, cap);
    while (t[j].base != kEmpty) j = (j + 1) & (cap - 1);
    t[j] = g_large.table[i];
  }
  if (g_large.table) os::unreserve(g_large.table, g_large.cap * sizeof(Entry));
  g_large.table = t;
  g_large.cap = cap;
  g_large.deleted = 0;
  return true;
}

bool insert_locked(uintptr_t base, size_t len) {
  if ((g_large.count + g_large.deleted + 1) * 2 > g_large.cap && !grow_locked()) return false;
  size_t i = slot_of(base, g_large.cap);
  while (g_large.table[i].base != kEmpty && g_large.table[i].base != kDeleted) i = (i + 1) & (g_large.cap - 1);
  if (g_large.table[i].base == kDeleted) g_large.deleted--;
  g_large.table[i] = Entry{base, len};
  g_large.count++;
  g_large.live_bytes += len;
  if (g_large.live_bytes > g_large.peak_live) g_large.peak_live = g_large.live_bytes;
  return true;
}

void erase_locked(Entry* e) {
  g_large.live_bytes -= e->len;
  e->base = kDeleted;
  g_large.count--;
  g_large.deleted++;
}

size_t bucket_of(size_t len) {
  size_t pages = len / os::kPageSize;
  return pages <= kBucketPages ? pages - 1 : kBucketPages;
}

// The first word of a cached mapping holds a keyed value of its address: a
// write after free that reaches it is reported when the mapping is reused.
uintptr_t cached_canary(uintptr_t base) { return ((base ^ g_rt.link_key) * g_rt.link_mul) | 1; }


// Maps the records on first use. False if they cannot be mapped (the
// mapping is then not cached).
bool records_ready_locked(size_t limit) {
  if (g_large.records) return true;
  size_t bytes = (limit * sizeof(CachedMap) + os::kPageSize - 1) & ~(os::kPageSize - 1);
  auto* r = static_cast<CachedMap*>(os::map(bytes));
  if (!r) return false;
  for (size_t i = limit; i-- > 0;) r[i].next = i + 1 < limit ? &r[i + 1] : nullptr;
  g_large.records = r;
  g_large.records_bytes = bytes;
  g_large.spare = r;
  return true;
}

// Adds (sign 1) or removes (-1) m's bytes from the budget it counts in.
void account_locked(const CachedMap* m, int sign) {
  size_t& total = m->lazy ? g_large.lazy_bytes : g_large.cache_bytes;
  if (sign > 0) total += m->len;
  else total -= m->len;
}

void cache_unlink_locked(CachedMap* m) {
  g_large.bounds.remove(m->base, m->base + m->len);
  g_large.bucket[bucket_of(m->len)].remove(m);
  g_large.by_age.remove(m);
  g_large.cached--;
  account_locked(m, -1);
}

void record_release_locked(CachedMap* m) {
  m->next = g_large.spare;
  g_large.spare = m;
}

// A mapping to unmap outside the lock.
struct Victim {
  uintptr_t base;
  size_t len;
};
constexpr size_t kMaxVictims = 64;
struct Victims {
  Victim v[kMaxVictims];
  size_t n = 0;
};

// Moves the oldest cached mapping to victims, to be unmapped outside the
// lock; false when victims is full.
bool cache_evict_oldest_locked(Victims& victims) {
  if (victims.n == kMaxVictims) return false;
  CachedMap* m = g_large.by_age.first;
  cache_unlink_locked(m);
  victims.v[victims.n++] = Victim{m->base, m->len};
  record_release_locked(m);
  return true;
}

// Every unmap of a block, live or cached, goes through here: it leaves the
// committed-bytes account (core/budget_account.h).
void unmap_block(void* p, size_t len) {
  os::unreserve(p, len);
  budget::note_release(len);
}

// New memory for a block enters the account first against what the caller
// reserved for it (budget_room in api.cc: the hard limit's check and count
// in one step), then beyond; what is left of the reservation goes at the end.
struct Credit {
  size_t left;
  void commit(size_t bytes) {
    const size_t used = bytes < left ? bytes : left;
    left -= used;
    if (bytes > used) budget::note_commit(bytes - used);
  }
  ~Credit() {
    if (left) budget::note_release(left);
  }
};

void unmap_victims(const Victims& victims) {
  for (size_t i = 0; i < victims.n; ++i) unmap_block(reinterpret_cast<void*>(victims.v[i].base), victims.v[i].len);
}

// A cached mapping (or its first len bytes) taken for a new block.
struct Piece {
  uintptr_t base;
  size_t len;
};
constexpr size_t kMaxPieces = 4;

// What cache_take_locked found: pieces to become the new block, in order
// (got bytes in all; below the request the rest comes fresh), and a tail too
// small to keep, to unmap outside the lock.
struct Taken {
  Piece piece[kMaxPieces];
  size_t pieces = 0;
  size_t got = 0;
  uintptr_t tail = 0;
  size_t tail_len = 0;
};

// A cached mapping of exactly len bytes, if its size has a list of its own.
CachedMap* exact_fit_locked(size_t len) {
  const size_t pages = len / os::kPageSize;
  return pages <= kBucketPages ? g_large.bucket[pages - 1].first : nullptr;
}

// The smallest cached mapping of at least len bytes.
CachedMap* best_fit_locked(size_t len) {
  for (size_t p = len / os::kPageSize; p <= kBucketPages; ++p)
    if (CachedMap* m = g_large.bucket[p - 1].first) return m;
  CachedMap* m = nullptr;
  for (CachedMap* c = g_large.bucket[kBucketPages].first; c; c = c->next)
    if (c->len >= len && (!m || c->len < m->len)) m = c;
  return m;
}

// The largest cached mapping above the exact-size lists.
CachedMap* largest_big_locked() {
  CachedMap* m = nullptr;
  for (CachedMap* c = g_large.bucket[kBucketPages].first; c; c = c->next)
    if (!m || c->len > m->len) m = c;
  return m;
}

// A lazily released mapping's first page may have been taken by the kernel
// (it then reads as zero): there only a write of a non-zero value is caught.
void check_canary(const CachedMap* m, uintptr_t base) {
  const uintptr_t word = *reinterpret_cast<const uintptr_t*>(base);
  if (word != cached_canary(base) && !(m->lazy && word == 0)) report_cached_written(base);
}

// Checks the canaries of m's seams up to upto (memory being taken, and the
// start of what stays cached, whose canary is written anew) and drops them.
void check_seams_locked(CachedMap* m, uintptr_t upto) {
  Seams& s = m->seams;
  uint32_t checked = 0;
  while (checked < s.n && s.at[checked] <= upto) check_canary(m, s.at[checked++]);
  for (uint32_t i = checked; i < s.n; ++i) s.at[i - checked] = s.at[i];
  s.n -= checked;
}

// Takes the first len bytes of cached mapping m into t. The excess stays
// cached as a mapping of its own with its own canary, keeping m's place in
// the freed order (it has been idle as long), unless it is below the
// preset's large_cache_min_tail (then unmapped); it joins the block again
// when the block is freed (see free).
void take_prefix_locked(CachedMap* m, size_t len, Taken& t) {
  const uintptr_t base = m->base;
  check_canary(m, base);
  check_seams_locked(m, base + len);
  t.piece[t.pieces++] = Piece{base, len};
  t.got += len;
  const size_t tail_len = m->len - len;
  if (tail_len == 0 || tail_len < g_rt.preset->large_cache_min_tail) {
    cache_unlink_locked(m);
    record_release_locked(m);
    t.tail = base + len;
    t.tail_len = tail_len;
    return;
  }
  const uintptr_t end = base + m->len;
  g_large.bounds.remove(base, end);
  g_large.bucket[bucket_of(m->len)].remove(m);
  account_locked(m, -1);
  m->base = base + len;
  m->len = tail_len;
  *reinterpret_cast<uintptr_t*>(m->base) = cached_canary(m->base);
  g_large.bucket[bucket_of(tail_len)].push_front(m);
  account_locked(m, 1);
  g_large.bounds.add(m->base, end, m);
}

void take_whole_locked(CachedMap* m, Taken& t) {
  check_canary(m, m->base);
  check_seams_locked(m, m->base + m->len);
  t.piece[t.pieces++] = Piece{m->base, m->len};
  t.got += m->len;
  cache_unlink_locked(m);
  record_release_locked(m);
}

// Cached memory for a len-byte block, so that a program replacing large
// buffers with ones of other sizes does not fault their pages in anew: the
// best fit of at least len bytes (split); without one, for a block above
// the exact-size lists, up to kMaxPieces cached mappings, the largest
// first, to be moved side by side with mremap (pages move, nothing is
// copied); the last may be split.
Taken cache_take_locked(size_t len) {
  Taken t;
  if (!g_large.cached) return t;
  if (CachedMap* m = best_fit_locked(len)) {
    take_prefix_locked(m, len, t);
    return t;
  }
  if (len <= kBucketPages * os::kPageSize) return t;
  while (t.got < len && t.pieces < kMaxPieces) {
    const size_t need = len - t.got;
    if (CachedMap* m = best_fit_locked(need)) {
      take_prefix_locked(m, need, t);
      break;
    }
    CachedMap* m = largest_big_locked();
    if (!m) break;
    take_whole_locked(m, t);
  }
  return t;
}

// Makes one block of len bytes from the pieces taken. One piece that was
// one mapping grows in place or moves with mremap; otherwise a new mapping
// receives each piece moved into place (a piece that cannot move, a block
// gathered earlier on a kernel that moves one mapping at a time, is
// unmapped: its part stays fresh). *dirty: the bytes from the start that
// may be non-zero. A gathered block spans several kernel mappings, which
// mremap cannot grow: realloc copies it.
void* assemble(const Taken& t, size_t len, size_t* dirty, Credit& credit) {
  void* first = reinterpret_cast<void*>(t.piece[0].base);
  if (t.pieces == 1 && t.got == len) {
    *dirty = len;
    return first;
  }
  if (t.pieces == 1) {
    if (void* q = os::remap_congruent(first, t.got, len)) {
      credit.commit(len - t.got);
      *dirty = t.got;
      return q;
    }
  }
  // The pieces leave the account (moved into the block or unmapped), the
  // block enters it whole.
  budget::note_release(t.got);
  // The largest piece keeps its offset within its page tables (see
  // os::map_congruent): on this project's VM, large-replace's gathered
  // blocks took 2.5 us a page at their first write, 4 times what all of a
  // replacement costs under tcmalloc.
  uintptr_t like = t.piece[0].base;
  size_t biggest = 0;
  for (size_t i = 0, at = 0; i < t.pieces; at += t.piece[i].len, ++i) {
    if (t.piece[i].len <= biggest) continue;
    biggest = t.piece[i].len;
    like = t.piece[i].base - at;
  }
  auto* block = static_cast<char*>(os::map_congruent(len, like));
  if (block) credit.commit(len);
  size_t off = 0;
  for (size_t i = 0; i < t.pieces; ++i) {
    void* piece = reinterpret_cast<void*>(t.piece[i].base);
    if (!block || !os::move_to(piece, t.piece[i].len, block + off)) os::unreserve(piece, t.piece[i].len);
    off += t.piece[i].len;
  }
  *dirty = block ? off : 0;
  if (block && g_rt.refuse_huge_pages) os::no_huge_pages(block, len);
  return block;
}

// The cache's byte budget: the preset's, or a share of the live large
// blocks when that is more (LEAN: a program replacing 300 MB of buffers
// reuses each freed one, while what stays idle is a bounded share, for at
// most the decommit delay).
size_t cache_budget_locked() {
  const ModePreset& p = *g_rt.preset;
  size_t share = p.large_cache_live_shift ? g_large.live_bytes >> p.large_cache_live_shift : 0;
  return share > p.large_cache_bytes ? share : p.large_cache_bytes;
}

// How many bytes the cache may hold lazily released: the preset's, and no
// more than keeps live, cached and lazily cached large memory within the
// most there has been live since the cache was last empty. A phase freed and
// allocated again fits (its blocks were live together); a program whose
// large blocks come and go a few at a time keeps little beyond the committed
// budget, so the cache never raises its peak RSS (which counts lazily freed
// pages).
size_t lazy_budget_locked() {
  const size_t cap = g_rt.preset->large_cache_lazy_bytes;
  const size_t held = g_large.live_bytes + g_large.cache_bytes;
  const size_t room = g_large.peak_live > held ? g_large.peak_live - held : 0;
  return room < cap ? room : cap;
}

enum class Put : uint8_t { Kept, Unmap, ReleaseFirst };

// Caches the mapping in a spare record: there is one, and room.
Put cache_keep_locked(void* base, size_t len, uint64_t now, bool lazy, const Seams& seams) {
  CachedMap* m = g_large.spare;
  g_large.spare = m->next;
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  if (!lazy) *reinterpret_cast<uintptr_t*>(b) = cached_canary(b);
  *m = CachedMap{nullptr, nullptr, nullptr, nullptr, b, len, now, lazy, seams};
  g_large.bucket[bucket_of(len)].push_front(m);
  g_large.by_age.push_back(m);
  g_large.cached++;
  account_locked(m, 1);
  g_large.bounds.add(b, b + len, m);
  return Put::Kept;
}

// Offers a freed mapping to the cache, evicting the oldest entries to make
// room (a program moving to another size must not find the cache full of the
// old one). Evicted mappings go to victims. Unmap: the mapping itself must
// be unmapped. ReleaseFirst: the policy keeps it lazily released (the
// caller releases it, with no lock: it is the caller's alone, and offers
// it again with lazy set, its canary written before the release).
Put cache_put_locked(void* base, size_t len, uint64_t now, bool lazy, const Seams& seams, Victims& victims) {
  const ModePreset& p = *g_rt.preset;
  size_t limit = p.large_cache_entries;
  // A spare record (fewer than the preset's entries cached) and room within
  // its committed bytes (the least the budget is): kept committed, nothing
  // to weigh or evict.
  if (!lazy && g_large.spare && g_large.cache_bytes + len <= p.large_cache_bytes)
    return cache_keep_locked(base, len, now, false, seams);
  size_t budget = lazy ? lazy_budget_locked() : cache_budget_locked();
  size_t& used = lazy ? g_large.lazy_bytes : g_large.cache_bytes;
  if (limit == 0 || !records_ready_locked(limit)) return Put::Unmap;
  if (!lazy && decommit::large_keep(g_rt.decommit, used, len, budget, lazy_budget_locked()) ==
                   decommit::LargeKeep::Lazily)
    return Put::ReleaseFirst;
  if (len > budget) return Put::Unmap;
  while (g_large.cached >= limit || used + len > budget)
    if (!cache_evict_oldest_locked(victims)) return Put::Unmap;
  return cache_keep_locked(base, len, now, lazy, seams);
}

// The block [*base, *base + *len), just freed, joins the cached mappings
// right before and right behind it, when they are committed (a lazily
// released one may have lost its pages; it stays apart), the block fits in
// the cache's byte budget beside what is cached (so the joined mapping is
// kept as it is: joining never makes the cache release or push out more) and
// the seams fit: split-off tails become whole mappings again whatever order
// their blocks are freed in. *seams:
// where the joined parts begin after the first; the freed block's canary is
// written at its own address when that is a seam (the others are in place).
void join_neighbours_locked(uintptr_t* base, size_t* len, Seams* seams) {
  if (!g_large.cached || g_large.cache_bytes + *len > cache_budget_locked()) return;
  CachedMap* before = g_large.bounds.ending_at(*base);
  CachedMap* behind = g_large.bounds.starting_at(*base + *len);
  if (before && (before->lazy || before->seams.n + 1 > kMaxSeams)) before = nullptr;
  const uint32_t seams_before = before ? before->seams.n + 1 : 0;
  if (behind && (behind->lazy || seams_before + behind->seams.n + 1 > kMaxSeams)) behind = nullptr;
  const uintptr_t block = *base;
  if (before) {
    check_canary(before, before->base);  // (the joined mapping's is written anew there)
    *seams = before->seams;
    seams->at[seams->n++] = block;
    *reinterpret_cast<uintptr_t*>(block) = cached_canary(block);
    *base = before->base;
    *len += before->len;
    cache_unlink_locked(before);
    record_release_locked(before);
  }
  if (behind) {
    seams->at[seams->n++] = behind->base;
    for (uint32_t i = 0; i < behind->seams.n; ++i) seams->at[seams->n++] = behind->seams.at[i];
    *len += behind->len;
    cache_unlink_locked(behind);
    record_release_locked(behind);
  }
}

// A block mapped fresh because nothing cached could serve it: if live,
// cached and the new block together pass the most that has been live (since
// the cache was last empty), the oldest cached mappings go, up to the new
// block's size. The cache then never holds more than the program has had
// live: a program whose blocks grow (a table resized again and again, a
// buffer per size in turn) no longer keeps every smaller one it outgrew
// next to the new one (size-sweep's 4 MiB ring kept the 1 MiB, 256 KiB and
// 64 KiB rings cached: 21 MiB over what glibc holds), while one whose
// blocks come and go within that high-water keeps its whole cache.
void evict_for_fresh_locked(size_t len, Victims& victims) {
  const size_t live_after = g_large.live_bytes + len;
  const size_t high = g_large.peak_live > live_after ? g_large.peak_live : live_after;
  const size_t held = live_after + g_large.cache_bytes + g_large.lazy_bytes;
  if (held <= high) return;
  size_t excess = held - high;
  if (excess > len) excess = len;
  for (size_t evicted = 0; evicted < excess && g_large.by_age.first;) {
    const size_t n = g_large.by_age.first->len;
    if (!cache_evict_oldest_locked(victims)) break;
    evicted += n;
  }
}

size_t page_round(size_t n, bool* overflow) {
  size_t r = (n + os::kPageSize - 1) & ~(os::kPageSize - 1);
  *overflow = r < n;
  return r;
}

}  // namespace

void* alloc(size_t size, size_t align, size_t* dirty, size_t reserved) {
  Credit credit{reserved};
  bool overflow;
  size_t len = page_round(size ? size : 1, &overflow);
  if (overflow || len > (size_t{1} << 47)) return nullptr;
  *dirty = 0;
  void* p = nullptr;
  if (align <= os::kPageSize) {
    Taken t;
    {
      LockGuard lg(g_large.lock);
      if (CachedMap* m = exact_fit_locked(len)) {
        // The common reuse, a cached mapping of exactly len bytes, is the
        // block as it is: taken and made live in one lock. (Without room
        // in the table it is unmapped below, as any block would be.)
        take_whole_locked(m, t);
        if (insert_locked(t.piece[0].base, len)) {
          *dirty = len;
          return reinterpret_cast<void*>(t.piece[0].base);
        }
      } else {
        t = cache_take_locked(len);
      }
    }
    if (t.tail_len) unmap_block(reinterpret_cast<void*>(t.tail), t.tail_len);
    if (t.pieces) p = assemble(t, len, dirty, credit);
  }
  bool fresh = false;
  if (!p) {
    p = os::map_aligned(len, align);
    if (!p) return nullptr;
    credit.commit(len);  // counted whole: the program may touch all of it
    if (g_rt.refuse_huge_pages) os::no_huge_pages(p, len);
    fresh = true;
  }
  Victims victims;
  bool live;
  {
    LockGuard lg(g_large.lock);
    if (fresh) evict_for_fresh_locked(len, victims);
    live = insert_locked(reinterpret_cast<uintptr_t>(p), len);
  }
  unmap_victims(victims);
  if (!live) {
    unmap_block(p, len);
    return nullptr;
  }
  return p;
}

bool free(void* block) {
  void* p = block;  // the freed block, or the cached memory it joined
  Seams seams;
  size_t len;
  Put put;
  Victims victims;
  uint64_t now = 0;
  {
    LockGuard lg(g_large.lock);
    Entry* e = find_locked(reinterpret_cast<uintptr_t>(block));
    if (!e) return false;
    len = e->len;
    erase_locked(e);
    now = g_rt.releases ? os::now_ms() : 0;
    uintptr_t base = reinterpret_cast<uintptr_t>(block);
    join_neighbours_locked(&base, &len, &seams);
    p = reinterpret_cast<void*>(base);
    put = cache_put_locked(p, len, now, false, seams, victims);
  }
  unmap_victims(victims);
  if (put == Put::ReleaseFirst) {
    // The canary first: the release leaves the page clean, so the kernel
    // either keeps it as written or takes it (zero).
    const uintptr_t b = reinterpret_cast<uintptr_t>(p);
    *reinterpret_cast<uintptr_t*>(b) = cached_canary(b);
    os::release_lazily(p, len);  // (decommit::large_keep: only when the first stage is MADV_FREE)
    victims.n = 0;
    {
      LockGuard lg(g_large.lock);
      put = cache_put_locked(p, len, now, true, seams, victims);
    }
    unmap_victims(victims);
  }
  if (put != Put::Kept) unmap_block(p, len);
  // The background thread is woken only for a deadline earlier than the
  // one it sleeps until (a futex call per large free otherwise).
  else if (g_rt.releases && decommit::note_deadline(os::now_ms() + g_rt.decommit.delay_ms))
    decommit::wake_background();
  return true;
}

size_t usable_size(const void* p) {
  LockGuard lg(g_large.lock);
  Entry* e = find_locked(reinterpret_cast<uintptr_t>(p));
  return e ? e->len : 0;
}

void* resize(void* p, size_t new_size) {
  bool overflow;
  size_t len = page_round(new_size, &overflow);
  if (overflow) return nullptr;
  LockGuard lg(g_large.lock);
  Entry* e = find_locked(reinterpret_cast<uintptr_t>(p));
  if (!e) return nullptr;
  if (e->len == len) return p;
  size_t old = e->len;
  // Growing commits more. The budget's release cannot run here (under the
  // lock: it trims this cache), so past the hard limit the grow fails and
  // realloc takes the malloc, copy, free path, whose malloc makes room.
  if (len > old && !decommit::commit_allowed(budget::g_config, budget::committed(), len - old)) return nullptr;
  void* q = os::remap_congruent(p, old, len);
  if (!q) return nullptr;
  if (len > old) budget::note_commit(len - old);
  else budget::note_release(old - len);
  erase_locked(e);
  insert_locked(reinterpret_cast<uintptr_t>(q), len);  // the erase freed a slot: cannot fail to grow
  return q;
}

uint64_t trim_cache(uint64_t now, bool force) {
  uint64_t next = UINT64_MAX;
  for (bool more = true; more;) {
    Victims victims;
    {
      LockGuard lg(g_large.lock);
      // (idle_for_delay: a coarse clock may read a little before freed_ms.)
      while (g_large.by_age.first && decommit::idle_for_delay(g_rt.decommit, g_large.by_age.first->freed_ms, now, force))
        if (!cache_evict_oldest_locked(victims)) break;
      more = victims.n == kMaxVictims;
      if (!more && g_large.by_age.first) next = g_large.by_age.first->freed_ms + g_rt.decommit.delay_ms;
      if (!g_large.by_age.first) g_large.peak_live = g_large.live_bytes;  // a new high-water from here
    }
    unmap_victims(victims);
  }
  return next;
}

Stats stats() {
  LockGuard lg(g_large.lock);
  return Stats{g_large.live_bytes, g_large.cache_bytes,
               g_large.cap * sizeof(Entry) + g_large.records_bytes + g_large.bounds.table_bytes(), g_large.count};
}

void fork_prepare() { g_large.lock.lock(); }
void fork_parent() { g_large.lock.unlock(); }
void fork_child() { g_large.lock.unlock(); }

}  // namespace hakmem::large
