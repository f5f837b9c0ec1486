// Lists of slabs (the one list template, core/intrusive_list.h) and the tag
// that says which list a slab is on, set together so they cannot disagree.
#pragma once
#include "core/intrusive_list.h"
#include "core/small/slab.h"

namespace hakmem {

using SlabList = IntrusiveList<SlabMeta, &SlabMeta::prev, &SlabMeta::next>;

inline void slab_list_push(SlabList& l, SlabMeta* s, SlabPlace place) {
  s->on_list = place;
  l.push_back(s);
}

inline void slab_list_push_front(SlabList& l, SlabMeta* s, SlabPlace place) {
  s->on_list = place;
  l.push_front(s);
}

inline void slab_list_remove(SlabList& l, SlabMeta* s) {
  l.remove(s);
  s->on_list = SlabPlace::None;
}

inline SlabMeta* slab_list_pop_back(SlabList& l) {
  SlabMeta* s = l.last;
  if (s) slab_list_remove(l, s);
  return s;
}

}  // namespace hakmem
