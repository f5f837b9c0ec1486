// What the kernel tells about this process: /proc figures, the cgroup's
// memory limit, secure execution. Reads never allocate and preserve errno.
#pragma once
#include <cstddef>

namespace hakmem::os {

// Whether the process runs in secure-execution mode (setuid, setgid or
// file capabilities: getauxval(AT_SECURE)), where the environment is the
// unprivileged caller's and must not steer the allocator.
bool secure_execution();

struct MemInfo {
  size_t rss = 0, anonymous = 0, lazyfree = 0, anon_huge = 0;  // bytes
  bool ok = false;
};
// From /proc/self/smaps_rollup.
MemInfo read_smaps_rollup();
// Resident bytes of the main thread's stack ([stack] in /proc/self/smaps).
size_t read_stack_rss();
// Resident bytes from /proc/self/statm (cheaper than smaps_rollup).
size_t read_rss_statm();

// Memory limit of this process's cgroup (v2 memory.max or v1
// memory.limit_in_bytes); 0 when there is none or it cannot be read.
size_t cgroup_memory_limit();

// Whether the kernel backs anonymous memory with transparent huge pages
// unasked (/sys/kernel/mm/transparent_hugepage/enabled is "always"). Under
// "madvise" or "never", or without THP, a mapping gets none unless it asks.
bool huge_pages_unasked();
// The same from that file's text ("always [madvise] never": false).
bool thp_enabled_is_always(const char* text);

}  // namespace hakmem::os
