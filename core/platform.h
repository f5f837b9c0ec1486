// The platform layer: the only code that calls mmap/munmap/madvise/mremap,
// reads the clock or /proc. Every call preserves errno, so the allocator never
// clobbers the program's errno on success paths. Counters feed hakmem_stats().
#pragma once
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace hakmem::os {

inline constexpr size_t kPageSize = 4096;

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
void unmap(void* p, size_t len);
// Address space only: len bytes aligned to align, readable (every page reads
// as zero) but not writable, committing no memory; nullptr on failure.
void* reserve_aligned(size_t len, size_t align);
// Turns part of a reservation into read/write memory; false on failure (the
// range is then reserved again).
bool commit(void* p, size_t len);
// Gives committed memory back and makes the range a reservation again.
void decommit(void* p, size_t len);
// mremap; returns nullptr on failure. may_move allows moving the mapping.
void* remap(void* p, size_t old_len, size_t new_len, bool may_move);
// Idle memory: MADV_FREE (falls back to DONTNEED if the kernel lacks it).
void advise_free(void* p, size_t len);
void advise_dontneed(void* p, size_t len);
void advise_nohugepage(void* p, size_t len);

// Whether the process runs in secure-execution mode (setuid, setgid or
// file capabilities: getauxval(AT_SECURE)), where the environment is the
// unprivileged caller's and must not steer the allocator.
bool secure_execution();

// 64 random bits from the kernel (getrandom), or, where it has none to give
// yet, from the clock and the cycle counter.
uint64_t random_u64();

// Monotonic milliseconds.
uint64_t now_ms();
// The same clock at the kernel tick's resolution (a few ms), at a third of
// the cost: for the allocator's frequent "is anything due?" checks.
uint64_t now_ms_coarse();
void sleep_ms(uint64_t ms);

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

void write_fd(int fd, const char* s, size_t n);
// open(path, O_WRONLY | O_CREAT | O_APPEND) with mode 0644; -1 on failure.
int open_append(const char* path);
void close_fd(int fd);

// Report a misuse of the allocator and abort: "hakmem: <what> <ptr>".
[[noreturn]] void fatal_pointer(const char* what, const void* p);
[[noreturn]] void fatal(const char* what);

// A small fixed-capacity text buffer; formatting never allocates.
class Line {
 public:
  Line& str(const char* s);
  Line& num(uint64_t v);
  Line& hex(uintptr_t v);
  Line& kib(uint64_t bytes);  // "<n> KiB"
  Line& chr(char c);
  // Ends the line with '\n' even when the buffer is full (the text is cut).
  Line& end();
  void write(int fd) const { write_fd(fd, buf_, len_); }
  const char* data() const { return buf_; }
  size_t size() const { return len_; }

 private:
  char buf_[512];
  size_t len_ = 0;
};

}  // namespace hakmem::os
