// The memory contract with the kernel, named by what the allocator means.
//
//   reserve_aligned   address space only: reads as zeros, not writable, commits nothing
//   commit            part of a reservation becomes read/write memory
//   uncommit          committed memory goes back; the range is a reservation again
//   map*              reserve and commit in one step (a mapping of its own)
//   release_lazily    MADV_FREE: the kernel may take the pages when it needs them
//   release_now       MADV_DONTNEED: the pages leave RSS at once, read as zeros
//   unreserve         the address range goes back (munmap), committed or not
//
// Preconditions: addresses and lengths are multiples of kPageSize. Every call
// preserves errno. Failures return nullptr / false and leave the range as it
// was. Counters feed hakmem_stats().
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hakmem::os {

inline constexpr size_t kPageSize = 4096;
// What one page-table page maps (x86-64: a PMD entry). mremap moves a range
// of this size that starts at such a boundary at both ends by moving the
// page-table page itself; every other page it moves one entry at a time.
inline constexpr size_t kPageTableSpan = size_t{2} << 20;

struct Counters {
  std::atomic<uint64_t> mmap_calls{0};
  std::atomic<uint64_t> munmap_calls{0};
  std::atomic<uint64_t> madvise_free_calls{0};
  std::atomic<uint64_t> madvise_dontneed_calls{0};
};
extern Counters g_counters;

// Anonymous private read/write mapping; nullptr on failure. Accounted as
// the kernel's overcommit policy says (no MAP_NORESERVE): user blocks must
// fail with ENOMEM when the machine cannot back them.
void* map(size_t len);
// The same with MAP_NORESERVE, for tables of hakmem's own that are large
// but touched only as used (the arena's metadata: 32 GiB of it for a 16 TiB
// reservation), which the overcommit heuristic would refuse whole.
void* map_sparse(size_t len);
// Mapping of len bytes aligned to align (a power of two >= page size).
void* map_aligned(size_t len, size_t align);
// Mapping of len bytes whose address is like's modulo kPageTableSpan, so
// that pages moved into it from like (move_to) keep their place in their
// page tables and move a page table at a time. An entry moved alone costs
// its page a slow first touch under a hypervisor (4.5 us against 0.05 on
// this project's VM) besides the move itself.
void* map_congruent(size_t len, uintptr_t like);
// Address space only: len bytes aligned to align, readable (every page reads
// as zero) but not writable, committing no memory; nullptr on failure.
void* reserve_aligned(size_t len, size_t align);
// Turns part of a reservation into read/write memory; false on failure (the
// range is then reserved again).
bool commit(void* p, size_t len);
// Gives committed memory back and makes the range a reservation again.
void uncommit(void* p, size_t len);
void unreserve(void* p, size_t len);
// mremap; returns nullptr on failure. may_move allows moving the mapping.
void* remap(void* p, size_t old_len, size_t new_len, bool may_move);
// Resizes the mapping [p, p + old_len) in place, or else moves it (growing)
// to an address that is p's modulo kPageTableSpan (see map_congruent);
// nullptr on failure (p is then untouched).
void* remap_congruent(void* p, size_t old_len, size_t new_len);
// Moves the pages of [p, p + len) to target (mremap MREMAP_FIXED), replacing
// what was mapped there; false on failure (p is then untouched).
bool move_to(void* p, size_t len, void* target);
// Idle memory that may be wanted again soon: MADV_FREE (release_now where
// the kernel lacks it).
void release_lazily(void* p, size_t len);
void release_now(void* p, size_t len);
// Transparent huge pages would make a whole aligned region resident (LEAN).
void no_huge_pages(void* p, size_t len);

}  // namespace hakmem::os
