#include "core/platform/memory.h"

#include <sys/mman.h>

#include "core/platform/errno_guard.h"

namespace hakmem::os {

Counters g_counters;

void* map(size_t len) {
  ErrnoGuard g;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_sparse(size_t len) {
  ErrnoGuard g;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return p == MAP_FAILED ? nullptr : p;
}

namespace {
// len bytes at an address that is like's modulo span (a power of two): span
// bytes more are mapped, and what lies around the part kept goes back.
void* map_offset(size_t len, size_t span, uintptr_t like) {
  if (len + span < len) return nullptr;
  char* raw = static_cast<char*>(map(len + span));
  if (!raw) return nullptr;
  const size_t head = (like - reinterpret_cast<uintptr_t>(raw)) & (span - 1);
  if (head) unreserve(raw, head);
  if (const size_t tail = span - head) unreserve(raw + head + len, tail);
  return raw + head;
}
}  // namespace

void* map_aligned(size_t len, size_t align) {
  if (align <= kPageSize) return map(len);
  return map_offset(len, align, 0);
}

void* map_congruent(size_t len, uintptr_t like) {
  // A mapping without a whole page table has none to move.
  if (len < kPageTableSpan) return map(len);
  return map_offset(len, kPageTableSpan, like);
}

namespace {
constexpr int kReserveFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
// A reservation is readable so that reading metadata of a slot not in use
// gives zeros instead of a fault (the free path relies on it); private
// read-only memory is not counted against the commit limit.
bool re_reserve(void* p, size_t len) {
  return ::mmap(p, len, PROT_READ, kReserveFlags | MAP_FIXED, -1, 0) != MAP_FAILED;
}
}  // namespace

void* reserve_aligned(size_t len, size_t align) {
  ErrnoGuard g;
  if (len + align < len) return nullptr;
  void* raw = ::mmap(nullptr, len + align, PROT_READ, kReserveFlags, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t r = reinterpret_cast<uintptr_t>(raw);
  uintptr_t start = (r + align - 1) & ~(uintptr_t{align} - 1);
  if (start > r) ::munmap(raw, start - r);
  if (size_t tail = r + len + align - (start + len)) ::munmap(reinterpret_cast<void*>(start + len), tail);
  ::madvise(reinterpret_cast<void*>(start), len, MADV_DONTDUMP);
  return reinterpret_cast<void*>(start);
}

bool commit(void* p, size_t len) {
  ErrnoGuard g;
  void* q = ::mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  if (q != MAP_FAILED) return true;
  re_reserve(p, len);
  return false;
}

void uncommit(void* p, size_t len) {
  ErrnoGuard g;
  // Mapping over it can fail only when the process is out of mappings; the
  // range then stays writable, but its memory goes back and it reads as zeros.
  if (!re_reserve(p, len)) ::madvise(p, len, MADV_DONTNEED);
  g_counters.munmap_calls.fetch_add(1, std::memory_order_relaxed);
}

void unreserve(void* p, size_t len) {
  ErrnoGuard g;
  ::munmap(p, len);
  g_counters.munmap_calls.fetch_add(1, std::memory_order_relaxed);
}

void* remap(void* p, size_t old_len, size_t new_len, bool may_move) {
  ErrnoGuard g;
  void* q = ::mremap(p, old_len, new_len, may_move ? MREMAP_MAYMOVE : 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return q == MAP_FAILED ? nullptr : q;
}

namespace {
// Moves [p, p + old_len) to target as new_len bytes, replacing what was
// mapped there; false on failure (p is then untouched).
bool remap_to(void* p, size_t old_len, size_t new_len, void* target) {
  ErrnoGuard g;
  void* q = ::mremap(p, old_len, new_len, MREMAP_MAYMOVE | MREMAP_FIXED, target);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return q == target;
}
}  // namespace

void* remap_congruent(void* p, size_t old_len, size_t new_len) {
  if (new_len < kPageTableSpan) return remap(p, old_len, new_len, true);
  if (void* q = remap(p, old_len, new_len, false)) return q;
  void* target = map_congruent(new_len, reinterpret_cast<uintptr_t>(p));
  if (!target) return nullptr;
  if (remap_to(p, old_len, new_len, target)) return target;
  unreserve(target, new_len);
  return nullptr;
}

bool move_to(void* p, size_t len, void* target) { return remap_to(p, len, len, target); }

void release_lazily(void* p, size_t len) {
  ErrnoGuard g;
#ifdef MADV_FREE
  if (::madvise(p, len, MADV_FREE) == 0) {
    g_counters.madvise_free_calls.fetch_add(1, std::memory_order_relaxed);
    return;
  }
#endif
  release_now(p, len);
}

void release_now(void* p, size_t len) {
  ErrnoGuard g;
  ::madvise(p, len, MADV_DONTNEED);
  g_counters.madvise_dontneed_calls.fetch_add(1, std::memory_order_relaxed);
}

void no_huge_pages(void* p, size_t len) {
  ErrnoGuard g;
  ::madvise(p, len, MADV_NOHUGEPAGE);
}

}  // namespace hakmem::os
