// The size lookups in use (core/small/size_classes.h): FAST's until start-up
// chooses. Plain tables with hidden visibility, so malloc reads them with
// one load, as it read the constexpr table.
#include "core/small/size_classes.h"

#include "core/small/thread_heap.h"

namespace hakmem {

namespace {
enum class ClassSet { Fast, Lean, LeanFine };
constexpr ClassLookup make_class_lookup(ClassSet set) {
  ClassLookup l{};
  for (unsigned i = 0; i <= kLookupMax / 16; ++i)
    l.v[i] = set == ClassSet::LeanFine ? detail::kTable.lookup_lean_fine[i]
             : set == ClassSet::Lean   ? detail::kTable.lookup_lean[i]
                                       : detail::kTable.lookup_fast[i];
  return l;
}
constexpr BinLookup make_bin_lookup(const ClassLookup& c) {
  BinLookup l{};
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) l.v[i] = static_cast<uint16_t>(bin_offset(c.v[i]));
  return l;
}
constexpr ClassLookup kLeanFineClasses = make_class_lookup(ClassSet::LeanFine);
constexpr ClassLookup kLeanClasses = make_class_lookup(ClassSet::Lean);
constexpr ClassLookup kFastClasses = make_class_lookup(ClassSet::Fast);

void use_lookup(const ClassLookup& c) {
  const BinLookup b = make_bin_lookup(c);
  for (unsigned i = 0; i <= kLookupMax / 16; ++i) {
    __atomic_store_n(&g_class_lookup.v[i], c.v[i], __ATOMIC_RELAXED);
    __atomic_store_n(&g_bin_offsets.v[i], b.v[i], __ATOMIC_RELAXED);
  }
}
}  // namespace

alignas(64) constinit ClassLookup g_class_lookup = kFastClasses;
alignas(64) constinit BinLookup g_bin_offsets = make_bin_lookup(kFastClasses);
bool g_classes_fine = false;

// Other threads may already be in malloc (a thread started before the
// process's first malloc finished start-up, or any thread when LEAN leaves
// its fine classes): the entries are stored one by one, atomically. Every
// set's entry is a class of the shared table that holds the size, so a
// thread that read the old entry allocates from a valid class either way,
// and an object's class is its slab's whatever the lookup says later.
void size_classes_choose(bool lean) {
  use_lookup(lean ? kLeanFineClasses : kFastClasses);
  __atomic_store_n(&g_classes_fine, lean, __ATOMIC_RELAXED);
}

void size_classes_leave_fine_slow() {
  if (__atomic_exchange_n(&g_classes_fine, false, __ATOMIC_RELAXED)) use_lookup(kLeanClasses);
}

}  // namespace hakmem
