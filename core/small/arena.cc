#include "core/small/arena.h"

#include <cstring>

#include "core/platform/spin_lock.h"
#include "core/platform/platform.h"

namespace hakmem::arena {

namespace {
// take() and give() run under a class pool lock, which fork holds, but two
// classes can ask at once: this lock orders them.
SpinLock g_lock;
uint32_t g_slots;      // slots in the reservation
uint32_t g_next;       // slots [g_next, g_slots) were never handed out
uint32_t g_ahead;      // slots [g_next, g_ahead) are committed already (commit_ahead)
uint32_t* g_free;      // stack of given-back slot indices (g_slots entries, touched as used)
uint32_t g_free_count;
size_t g_in_use;
SuperSlab* g_headers;  // one per slot, touched as used

// A slot back on the stack (its memory is reserved again or never committed).
void put_back(uint32_t slot) {
  LockGuard g(g_lock);
  g_free[g_free_count++] = slot;
  g_in_use--;
}
}  // namespace

void init(size_t size, size_t ss_size) {
  size_t slots = size / ss_size;
  if (slots == 0 || slots > UINT32_MAX) return;
  // The stack and the metadata table are mapped but touched only as used:
  // a page of metadata is written when a SuperSlab it describes is.
  size_t stack_bytes = slots * sizeof(uint32_t);
  size_t meta_bytes = (slots * ss_size >> kSlabShift) * sizeof(SlabMeta);
  size_t header_bytes = slots * sizeof(SuperSlab);
  size_t remote_bytes = (slots * ss_size >> kSlabShift) * kRemoteWords * sizeof(uint64_t);
  auto* stack = static_cast<uint32_t*>(os::map_sparse(stack_bytes));
  auto* meta = static_cast<SlabMeta*>(os::map_sparse(meta_bytes));
  auto* headers = static_cast<SuperSlab*>(os::map_sparse(header_bytes));
  auto* remote = static_cast<std::atomic<uint64_t>*>(os::map_sparse(remote_bytes));
  void* base = os::reserve_aligned(slots * ss_size, ss_size);
  if (!stack || !meta || !headers || !remote || !base) {
    if (stack) os::unreserve(stack, stack_bytes);
    if (meta) os::unreserve(meta, meta_bytes);
    if (headers) os::unreserve(headers, header_bytes);
    if (remote) os::unreserve(remote, remote_bytes);
    if (base) os::unreserve(base, slots * ss_size);
    return;
  }
  g_free = stack;
  g_headers = headers;
  g_slots = static_cast<uint32_t>(slots);
  g_rt.arena_meta = meta;
  g_rt.arena_remote_bits = remote;
  g_rt.arena_base = reinterpret_cast<uintptr_t>(base);
  g_rt.arena_size = slots * ss_size;
}

void commit_ahead(uint32_t n) {
  if (!g_rt.arena_size) return;
  LockGuard g(g_lock);
  if (g_ahead > g_next) return;
  if (n > g_slots - g_next) n = g_slots - g_next;
  void* p = reinterpret_cast<void*>(g_rt.arena_base + size_t{g_next} * g_rt.ss_size);
  if (n && os::commit(p, size_t{n} * g_rt.ss_size)) g_ahead = g_next + n;
}

void* take() {
  if (!g_rt.arena_size) return nullptr;
  uint32_t slot;
  bool committed = false;
  {
    LockGuard g(g_lock);
    // Slots committed ahead first (no call), then those given back.
    if (g_next < g_ahead) {
      committed = true;
      slot = g_next++;
    } else if (g_free_count) {
      slot = g_free[--g_free_count];
    } else if (g_next < g_slots) {
      slot = g_next++;
    } else {
      return nullptr;
    }
    g_in_use++;
  }
  void* p = reinterpret_cast<void*>(g_rt.arena_base + size_t{slot} * g_rt.ss_size);
  if (committed || os::commit(p, g_rt.ss_size)) return p;
  put_back(slot);
  return nullptr;
}

SuperSlab* header_of(uintptr_t a) { return &g_headers[(a - g_rt.arena_base) / g_rt.ss_size]; }

void give(void* slot) {
  os::uncommit(slot, g_rt.ss_size);
  // (Its slabs' metadata: zeroed by superslab_unmap, which knows which
  // slabs were ever written.)
  uintptr_t a = reinterpret_cast<uintptr_t>(slot);
  std::memset(static_cast<void*>(header_of(a)), 0, sizeof(SuperSlab));
  put_back(static_cast<uint32_t>((a - g_rt.arena_base) / g_rt.ss_size));
}

size_t slots_in_use() {
  LockGuard g(g_lock);
  return g_in_use;
}

}  // namespace hakmem::arena
