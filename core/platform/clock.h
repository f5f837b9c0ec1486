// The clock and the kernel's entropy.
#pragma once
#include <cstdint>

namespace hakmem::os {

// Monotonic milliseconds.
uint64_t now_ms();
// The same clock at the kernel tick's resolution (a few ms), at a third of
// the cost: for the allocator's frequent "is anything due?" checks.
uint64_t now_ms_coarse();

// 64 random bits from the kernel (getrandom), or, where it has none to give
// yet, from the clock and the cycle counter.
uint64_t random_u64();

}  // namespace hakmem::os
