// The large cache's mappings by the addresses where they begin and end, so
// that a freed block can join the cached memory right before and right
// behind it (core/large/large.cc, free). Without it a program taking blocks
// of many sizes out of few cached mappings cuts them into ever smaller
// pieces, which serve fewer and fewer requests, and every miss is a fresh
// mapping faulted in page by page.
//
// An open-addressed table (linear probing, deletion by shifting back, so no
// tombstones pile up), mapped on first use and doubled as it fills. Callers
// hold the large cache's lock.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem::large {

struct CachedMap;

class CachedBounds {
 public:
  // Indexes [base, end) as m. False if the table cannot grow: m is then not
  // indexed, and only misses the joins (remove of it is harmless).
  bool add(uintptr_t base, uintptr_t end, CachedMap* m);
  void remove(uintptr_t base, uintptr_t end);
  // The cached mapping that begins at a / ends at a, or nullptr.
  CachedMap* starting_at(uintptr_t a) const { return find(a); }
  CachedMap* ending_at(uintptr_t a) const { return find(a | kEndTag); }
  size_t table_bytes() const { return cap_ * sizeof(Slot); }

 private:
  // Keys are page-aligned addresses: a mapping's end is told from another's
  // beginning at the same address by a low bit. 0 marks an empty slot.
  static constexpr uintptr_t kEndTag = 1;
  struct Slot {
    uintptr_t key;
    CachedMap* map;
  };
  CachedMap* find(uintptr_t key) const;
  bool insert(uintptr_t key, CachedMap* m);
  void erase(uintptr_t key);
  bool grow();
  size_t home(uintptr_t key) const { return static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap_ - 1); }

  Slot* slots_ = nullptr;
  size_t cap_ = 0;  // power of two
  size_t used_ = 0;
};

}  // namespace hakmem::large
