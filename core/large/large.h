// Allocations above kMaxSmallSize: page-granular mappings tracked in a hash
// table (so free() can tell a live large block from a foreign or freed
// pointer), with a cache of freed mappings for reuse (bounded by the mode's
// preset: generous in FAST, small and trimmed after the delay in LEAN). realloc grows
// and shrinks them with mremap, in place where the address space allows.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem::large {

// align: 0 or a power of two. *dirty is how many bytes from the start may be
// non-zero (reused memory); the rest reads as zero. reserved: bytes the
// caller already counted in the committed-bytes account for this block
// (core/budget_account.h): new memory is counted against them first, and
// what is not used leaves the account.
void* alloc(size_t size, size_t align, size_t* dirty, size_t reserved = 0);
// Returns false if p is not a live large block.
bool free(void* p);
// Usable size of a live large block, 0 if p is not one.
size_t usable_size(const void* p);
// Resize a live large block to new_size (> kMaxSmallSize); nullptr on failure
// (the old block is untouched).
void* resize(void* p, size_t new_size);
// Release cached mappings idle longer than the decommit delay (all if force).
// Returns when the oldest one left will have been (UINT64_MAX: none left):
// the run that clears the pending deadline must note it again.
uint64_t trim_cache(uint64_t now_ms, bool force);

struct Stats {
  size_t live_bytes = 0, cache_bytes = 0, table_bytes = 0;
  size_t live_count = 0;  // live large blocks
};
Stats stats();

void fork_prepare();
void fork_parent();
void fork_child();

}  // namespace hakmem::large
