// The one doubly linked list of the allocator: the links live in the
// elements (slab metadata, SuperSlab headers, large-cache records), so
// moving an element between lists never allocates. first is the oldest
// element pushed to the back.
#pragma once

namespace hakmem {

template <class T, T* T::*Prev, T* T::*Next>
struct IntrusiveList {
  T* first = nullptr;
  T* last = nullptr;

  bool empty() const { return first == nullptr; }

  void push_back(T* e) {
    e->*Next = nullptr;
    e->*Prev = last;
    if (last) last->*Next = e;
    else first = e;
    last = e;
  }

  void push_front(T* e) {
    e->*Prev = nullptr;
    e->*Next = first;
    if (first) first->*Prev = e;
    else last = e;
    first = e;
  }

  void remove(T* e) {
    if (e->*Prev) (e->*Prev)->*Next = e->*Next;
    else first = e->*Next;
    if (e->*Next) (e->*Next)->*Prev = e->*Prev;
    else last = e->*Prev;
    e->*Prev = e->*Next = nullptr;
  }

  T* pop_back() {
    T* e = last;
    if (e) remove(e);
    return e;
  }
};

}  // namespace hakmem
