#include "core/large.h"

#include <cstring>

#include "core/heap.h"
#include "core/lock.h"
#include "core/platform.h"
#include "core/runtime.h"

namespace hakmem::large {

namespace {

struct Entry {
  uintptr_t base;  // 0: empty, 1: deleted
  size_t len;
};
constexpr uintptr_t kEmpty = 0, kDeleted = 1;

// A freed mapping kept for reuse. Its record lives in hakmem's own memory,
// never in the mapping: a program writing into a block it freed must not
// choose what the cache hands out, writes to or unmaps. Mappings are on a
// list per size (exact page count up to kBucketPages, one list for
// everything larger) and on one list in the order they were freed, for
// eviction and for the decommit delay. The records are a fixed array of the
// preset's entry limit, mapped on first use.
struct CachedMap {
  CachedMap* next;   // same bucket; the free records while unused
  CachedMap* prev;
  CachedMap* newer;  // freed order
  CachedMap* older;
  uintptr_t base;
  size_t len;
  uint64_t freed_ms;  // for the decommit delay (LEAN)
};
constexpr size_t kBucketPages = 256;  // 1 MiB: exact-size lists below, one shared list above

struct State {
  SpinLock lock;
  Entry* table = nullptr;
  size_t cap = 0;       // power of two
  size_t count = 0;     // live entries
  size_t deleted = 0;
  size_t live_bytes = 0;
  CachedMap* bucket[kBucketPages + 1] = {};  // [pages - 1], [kBucketPages]: larger
  CachedMap* oldest = nullptr;
  CachedMap* newest = nullptr;
  CachedMap* records = nullptr;  // the array of records
  size_t records_bytes = 0;
  CachedMap* spare = nullptr;    // unused records, linked through next
  size_t cached = 0;
  size_t cache_bytes = 0;
} g;

size_t slot_of(uintptr_t base, size_t cap) {
  return static_cast<size_t>(((base >> 12) * 0x9E3779B97F4A7C15ull) >> 20) & (cap - 1);
}

Entry* find_locked(uintptr_t base) {
  if (!g.cap) return nullptr;
  for (size_t i = slot_of(base, g.cap);; i = (i + 1) & (g.cap - 1)) {
    Entry& e = g.table[i];
    if (e.base == base) return &e;
    if (e.base == kEmpty) return nullptr;
  }
}

bool grow_locked() {
  size_t cap = g.cap ? g.cap * 2 : 512;
  if (g.cap && g.count * 4 < g.cap) cap = g.cap;  // mostly tombstones: rehash in place size
  auto* t = static_cast<Entry*>(os::map(cap * sizeof(Entry)));
  if (!t) return false;
  for (size_t i = 0; i < g.cap; ++i) {
    uintptr_t b = g.table[i].base;
    if (b == kEmpty || b == kDeleted) continue;
    size_t j = slot_of(b, cap);
    while (t[j].base != kEmpty) j = (j + 1) & (cap - 1);
    t[j] = g.table[i];
  }
  if (g.table) os::unmap(g.table, g.cap * sizeof(Entry));
  g.table = t;
  g.cap = cap;
  g.deleted = 0;
  return true;
}

bool insert_locked(uintptr_t base, size_t len) {
  if ((g.count + g.deleted + 1) * 2 > g.cap && !grow_locked()) return false;
  size_t i = slot_of(base, g.cap);
  while (g.table[i].base != kEmpty && g.table[i].base != kDeleted) i = (i + 1) & (g.cap - 1);
  if (g.table[i].base == kDeleted) g.deleted--;
  g.table[i] = Entry{base, len};
  g.count++;
  g.live_bytes += len;
  return true;
}

void erase_locked(Entry* e) {
  g.live_bytes -= e->len;
  e->base = kDeleted;
  g.count--;
  g.deleted++;
}

size_t bucket_of(size_t len) {
  size_t pages = len / os::kPageSize;
  return pages <= kBucketPages ? pages - 1 : kBucketPages;
}

// The first word of a cached mapping holds a keyed value of its address: a
// write after free that reaches it is reported when the mapping is reused.
uintptr_t cached_canary(uintptr_t base) { return ((base ^ g_rt.link_key) * g_rt.link_mul) | 1; }

[[noreturn]] void report_cached_written(uintptr_t base) {
  os::Line l;
  l.str("hakmem: corrupted freed block ").hex(base).str(": written after free (large-block cache)\n");
  l.write(2);
  abort();
}

// Maps the records on first use. False if they cannot be mapped (the
// mapping is then not cached).
bool records_ready_locked(size_t limit) {
  if (g.records) return true;
  size_t bytes = (limit * sizeof(CachedMap) + os::kPageSize - 1) & ~(os::kPageSize - 1);
  auto* r = static_cast<CachedMap*>(os::map(bytes));
  if (!r) return false;
  for (size_t i = limit; i-- > 0;) r[i].next = i + 1 < limit ? &r[i + 1] : nullptr;
  g.records = r;
  g.records_bytes = bytes;
  g.spare = r;
  return true;
}

void cache_unlink_locked(CachedMap* m) {
  CachedMap*& head = g.bucket[bucket_of(m->len)];
  if (m->prev) m->prev->next = m->next;
  else head = m->next;
  if (m->next) m->next->prev = m->prev;
  if (m->older) m->older->newer = m->newer;
  else g.oldest = m->newer;
  if (m->newer) m->newer->older = m->older;
  else g.newest = m->older;
  g.cached--;
  g.cache_bytes -= m->len;
}

void record_release_locked(CachedMap* m) {
  m->next = g.spare;
  g.spare = m;
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
  CachedMap* m = g.oldest;
  cache_unlink_locked(m);
  victims.v[victims.n++] = Victim{m->base, m->len};
  record_release_locked(m);
  return true;
}

void unmap_victims(const Victims& victims) {
  for (size_t i = 0; i < victims.n; ++i) os::unmap(reinterpret_cast<void*>(victims.v[i].base), victims.v[i].len);
}

// A cached mapping of at least len bytes and not much more (up to a quarter
// more: the best fit among those).
void* cache_take_locked(size_t len) {
  if (!g.cached) return nullptr;
  size_t most = len + len / 4;
  CachedMap* m = nullptr;
  size_t pages = len / os::kPageSize;
  for (size_t p = pages; p <= kBucketPages && p * os::kPageSize <= most && !m; ++p) m = g.bucket[p - 1];
  if (!m && most > kBucketPages * os::kPageSize)
    for (CachedMap* c = g.bucket[kBucketPages]; c; c = c->next)
      if (c->len >= len && c->len <= most && (!m || c->len < m->len)) m = c;
  if (!m) return nullptr;
  cache_unlink_locked(m);
  uintptr_t base = m->base;
  size_t got = m->len;
  record_release_locked(m);
  if (*reinterpret_cast<const uintptr_t*>(base) != cached_canary(base)) report_cached_written(base);
  if (got != len) {
    // Keep the exact length so usable_size and munmap agree.
    os::unmap(reinterpret_cast<char*>(base) + len, got - len);
  }
  return reinterpret_cast<void*>(base);
}

// Offers a freed mapping to the cache, evicting the oldest entries to make
// room (a program moving to another size must not find the cache full of the
// old one). Evicted mappings go to victims. Returns false if the mapping
// itself must be unmapped.
bool cache_put_locked(void* base, size_t len, uint64_t now, Victims& victims) {
  size_t limit = g_rt.preset->large_cache_entries;
  size_t budget = g_rt.preset->large_cache_bytes;
  if (limit == 0 || len > budget || !records_ready_locked(limit)) return false;
  while (g.cached >= limit || g.cache_bytes + len > budget)
    if (!cache_evict_oldest_locked(victims)) return false;
  CachedMap* m = g.spare;
  g.spare = m->next;
  const uintptr_t b = reinterpret_cast<uintptr_t>(base);
  *reinterpret_cast<uintptr_t*>(b) = cached_canary(b);
  CachedMap*& head = g.bucket[bucket_of(len)];
  *m = CachedMap{head, nullptr, nullptr, g.newest, b, len, now};
  if (head) head->prev = m;
  head = m;
  if (g.newest) g.newest->newer = m;
  else g.oldest = m;
  g.newest = m;
  g.cached++;
  g.cache_bytes += len;
  return true;
}

size_t page_round(size_t n, bool* overflow) {
  size_t r = (n + os::kPageSize - 1) & ~(os::kPageSize - 1);
  *overflow = r < n;
  return r;
}

}  // namespace

void* alloc(size_t size, size_t align, bool* fresh) {
  bool overflow;
  size_t len = page_round(size ? size : 1, &overflow);
  if (overflow || len > (size_t{1} << 47)) return nullptr;
  void* p = nullptr;
  *fresh = false;
  if (align <= os::kPageSize) {
    LockGuard lg(g.lock);
    p = cache_take_locked(len);
    if (p && !insert_locked(reinterpret_cast<uintptr_t>(p), len)) {
      os::unmap(p, len);
      return nullptr;
    }
  }
  if (p) return p;
  p = os::map_aligned(len, align);
  if (!p) return nullptr;
  if (g_rt.opt.lean) os::advise_nohugepage(p, len);
  *fresh = true;
  LockGuard lg(g.lock);
  if (!insert_locked(reinterpret_cast<uintptr_t>(p), len)) {
    os::unmap(p, len);
    return nullptr;
  }
  return p;
}

bool free(void* p) {
  size_t len;
  bool cached;
  Victims victims;
  {
    LockGuard lg(g.lock);
    Entry* e = find_locked(reinterpret_cast<uintptr_t>(p));
    if (!e) return false;
    len = e->len;
    erase_locked(e);
    uint64_t now = g_rt.decommit.mode == DecommitMode::Off ? 0 : os::now_ms();
    cached = cache_put_locked(p, len, now, victims);
  }
  unmap_victims(victims);
  if (!cached) os::unmap(p, len);
  else if (g_rt.decommit.mode != DecommitMode::Off) decommit_note_deadline(os::now_ms() + g_rt.decommit.delay_ms);
  return true;
}

size_t usable_size(const void* p) {
  LockGuard lg(g.lock);
  Entry* e = find_locked(reinterpret_cast<uintptr_t>(p));
  return e ? e->len : 0;
}

void* resize(void* p, size_t new_size) {
  bool overflow;
  size_t len = page_round(new_size, &overflow);
  if (overflow) return nullptr;
  LockGuard lg(g.lock);
  Entry* e = find_locked(reinterpret_cast<uintptr_t>(p));
  if (!e) return nullptr;
  if (e->len == len) return p;
  size_t old = e->len;
  void* q = os::remap(p, old, len, true);
  if (!q) return nullptr;
  erase_locked(e);
  insert_locked(reinterpret_cast<uintptr_t>(q), len);  // the erase freed a slot: cannot fail to grow
  return q;
}

void trim_cache(uint64_t now, bool force) {
  for (bool more = true; more;) {
    Victims victims;
    {
      LockGuard lg(g.lock);
      while (g.oldest && (force || now - g.oldest->freed_ms >= g_rt.decommit.delay_ms))
        if (!cache_evict_oldest_locked(victims)) break;
      more = victims.n == kMaxVictims;
    }
    unmap_victims(victims);
  }
}

Stats stats() {
  LockGuard lg(g.lock);
  return Stats{g.live_bytes, g.cache_bytes, g.cap * sizeof(Entry) + g.records_bytes};
}

void fork_prepare() { g.lock.lock(); }
void fork_parent() { g.lock.unlock(); }
void fork_child() { g.lock.unlock(); }

}  // namespace hakmem::large
