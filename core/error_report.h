// Every misuse hakmem catches ends here: one line on stderr naming the
// operation and the block, then abort (through os::fatal, the one sink).
#pragma once
#include <cstdint>

namespace hakmem {

// op: "free()", "realloc()", "malloc_usable_size()".
[[noreturn, gnu::cold]] void report_bad_pointer(const void* p, const char* op);
[[noreturn, gnu::cold]] void report_double_free(const void* p, const char* op);
// free() of something that is neither a small object nor a live large block.
[[noreturn, gnu::cold]] void report_not_allocated(const void* p);
// A free-list link that fails its check: the object at held it.
[[noreturn, gnu::cold]] void report_corrupted_link(const void* at);
// A freed large block waiting in the cache was written to.
[[noreturn, gnu::cold]] void report_cached_written(uintptr_t base);

}  // namespace hakmem
