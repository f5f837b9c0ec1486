#include "core/large/cached_bounds.h"

#include "core/platform/platform.h"

namespace hakmem::large {

CachedMap* CachedBounds::find(uintptr_t key) const {
  if (!cap_) return nullptr;
  for (size_t i = home(key);; i = (i + 1) & (cap_ - 1)) {
    if (slots_[i].key == key) return slots_[i].map;
    if (slots_[i].key == 0) return nullptr;
  }
}

bool CachedBounds::grow() {
  const size_t cap = cap_ ? cap_ * 2 : 256;
  auto* t = static_cast<Slot*>(os::map(cap * sizeof(Slot)));
  if (!t) return false;
  Slot* old = slots_;
  const size_t old_cap = cap_;
  slots_ = t;
  cap_ = cap;
  for (size_t i = 0; i < old_cap; ++i) {
    if (old[i].key == 0) continue;
    size_t j = home(old[i].key);
    while (t[j].key != 0) j = (j + 1) & (cap - 1);
    t[j] = old[i];
  }
  if (old) os::unreserve(old, old_cap * sizeof(Slot));
  return true;
}

bool CachedBounds::insert(uintptr_t key, CachedMap* m) {
  if ((used_ + 1) * 2 > cap_ && !grow()) return false;
  size_t i = home(key);
  while (slots_[i].key != 0) i = (i + 1) & (cap_ - 1);
  slots_[i] = Slot{key, m};
  used_++;
  return true;
}

void CachedBounds::erase(uintptr_t key) {
  if (!cap_) return;
  size_t i = home(key);
  while (slots_[i].key != key) {
    if (slots_[i].key == 0) return;
    i = (i + 1) & (cap_ - 1);
  }
  // Shift back every later key of the run that may not sit past the hole
  // (its home is not within (hole, j]), so lookups never stop early.
  for (size_t j = (i + 1) & (cap_ - 1); slots_[j].key != 0; j = (j + 1) & (cap_ - 1)) {
    const size_t h = home(slots_[j].key);
    const bool stays = i <= j ? (i < h && h <= j) : (i < h || h <= j);
    if (stays) continue;
    slots_[i] = slots_[j];
    i = j;
  }
  slots_[i] = Slot{0, nullptr};
  used_--;
}

bool CachedBounds::add(uintptr_t base, uintptr_t end, CachedMap* m) {
  if (!insert(base, m)) return false;
  if (insert(end | kEndTag, m)) return true;
  erase(base);
  return false;
}

void CachedBounds::remove(uintptr_t base, uintptr_t end) {
  erase(base);
  erase(end | kEndTag);
}

}  // namespace hakmem::large
