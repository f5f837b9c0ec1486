// The size lookups in use (core/small/size_classes.h): FAST's until start-up
// chooses. Plain tables with hidden visibility, so malloc reads them with
// one load, as it read the constexpr table.
#include "core/small/size_classes.h"

#include "core/small/thread_heap.h"

namespace hakmem {

namespace {
constexpr ClassLookup make_class_lookup(bool lean) {
  ClassLookup l{};
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) l.v[i] = lean ? detail::kTable.lookup_lean[i] : detail::kTable.lookup_fast[i];
  return l;
}
constexpr BinLookup make_bin_lookup(const ClassLookup& c) {
  BinLookup l{};
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) l.v[i] = static_cast<uint16_t>(bin_offset(c.v[i]));
  return l;
}
constexpr ClassLookup kLeanClasses = make_class_lookup(true);
constexpr ClassLookup kFastClasses = make_class_lookup(false);
}  // namespace

alignas(64) constinit ClassLookup g_class_lookup = kFastClasses;
alignas(64) constinit BinLookup g_bin_offsets = make_bin_lookup(kFastClasses);

// Other threads may already be in malloc (a thread started before the
// process's first malloc finished start-up): the entries are stored one by
// one, atomically. Either table's entry is a class of the shared table that
// holds the size, so a thread that read FAST's entry before the choice
// allocates from a valid class either way.
void size_classes_choose(bool lean) {
  const ClassLookup& c = lean ? kLeanClasses : kFastClasses;
  const BinLookup b = make_bin_lookup(c);
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) {
    __atomic_store_n(&g_class_lookup.v[i], c.v[i], __ATOMIC_RELAXED);
    __atomic_store_n(&g_bin_offsets.v[i], b.v[i], __ATOMIC_RELAXED);
  }
}

}  // namespace hakmem
