#include "core/small/registry.h"

#include "core/platform/spin_lock.h"
#include "core/platform/platform.h"

namespace hakmem::registry {

std::atomic<Leaf*> g_top[1u << kTopBits];

namespace {
SpinLock g_leaf_lock;
}

bool set_superslab(uintptr_t base, bool on) {
  uintptr_t chunk = base >> kChunkShift;
  if (chunk >> (kLeafBits + kTopBits)) return false;
  std::atomic<Leaf*>& slot = g_top[chunk >> kLeafBits];
  Leaf* leaf = slot.load(std::memory_order_acquire);
  if (!leaf) {
    if (!on) return true;
    LockGuard g(g_leaf_lock);
    leaf = slot.load(std::memory_order_acquire);
    if (!leaf) {
      leaf = static_cast<Leaf*>(os::map(sizeof(Leaf)));
      if (!leaf) return false;
      slot.store(leaf, std::memory_order_release);
    }
  }
  (*leaf)[chunk & ((1u << kLeafBits) - 1)].store(on ? 1 : 0, std::memory_order_release);
  return true;
}

}  // namespace hakmem::registry
