#include "core/error_report.h"

#include "core/platform/log.h"

namespace hakmem {

void report_bad_pointer(const void* p, const char* op) {
  os::Line l;
  l.str("hakmem: ").str(op).str(": invalid pointer ").hex(reinterpret_cast<uintptr_t>(p))
      .str(" (not the start of a block allocated by hakmem)\n");
  os::fatal(l);
}

void report_double_free(const void* p, const char* op) {
  os::Line l;
  l.str("hakmem: ").str(op).str(": double free or use after free of ").hex(reinterpret_cast<uintptr_t>(p)).chr('\n');
  os::fatal(l);
}

void report_not_allocated(const void* p) {
  os::Line l;
  l.str("hakmem: free(): invalid pointer or double free of ").hex(reinterpret_cast<uintptr_t>(p))
      .str(" (not a live block allocated by hakmem)\n");
  os::fatal(l);
}

void report_corrupted_link(const void* at) {
  os::Line l;
  l.str("hakmem: corrupted free list: the link in free block ").hex(reinterpret_cast<uintptr_t>(at))
      .str(" was overwritten (use after free?)\n");
  os::fatal(l);
}

void report_cached_written(uintptr_t base) {
  os::Line l;
  l.str("hakmem: corrupted freed block ").hex(base).str(": written after free (large-block cache)\n");
  os::fatal(l);
}

}  // namespace hakmem
