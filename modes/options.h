// Every HAKMEM_* variable: one table (options.cc) with name, per-mode default,
// parser and doc. Read once at start from the environment block, without
// allocating and without getenv (which may race with putenv in malloc).
#pragma once
#include <cstddef>
#include <cstdint>

#include "decommit/policy.h"

namespace hakmem {

struct Options {
  bool lean = false;                 // HAKMEM_MEM_LEAN
  size_t ss_size = 0;                // HAKMEM_SS_SIZE (bytes, power of two)
  DecommitMode decommit = DecommitMode::Off;  // HAKMEM_MEM_LEAN_DECOMMIT (LEAN only)
  uint64_t target_mb = 0;            // HAKMEM_MEM_LEAN_TARGET_MB, 0 = no budget
  bool target_auto = false;          // ... "auto": 3/4 of the cgroup memory limit, if any
  uint64_t limit_mb = 0;             // HAKMEM_MEM_LEAN_LIMIT_MB, 0 = no hard limit
  bool limit_auto = false;           // ... "auto": the cgroup memory limit less a margin, if any
  uint64_t decommit_delay_ms = 0;    // HAKMEM_DECOMMIT_DELAY_MS
  bool decommit_thread = false;      // HAKMEM_DECOMMIT_THREAD
  bool stats = false;                // HAKMEM_STATS
  char stats_path[256] = "";         // ... when an absolute path: the report goes there, not to stderr
  size_t arena_size = 0;             // HAKMEM_ARENA_SIZE (bytes of address space, 0 = none)
};

inline constexpr size_t kMinSuperSlabSize = size_t{64} << 10;
inline constexpr size_t kMaxSuperSlabSize = size_t{64} << 20;
inline constexpr size_t kMaxArenaSize = size_t{16} << 40;

// Parse the environment block envp (NULL-terminated, as `environ`). A bad value
// prints one line to err_fd naming the variable, the value and the default used.
// In a secure-execution process (secure: setuid, setgid; see
// os::secure_execution) the environment is ignored, as glibc ignores MALLOC_*
// there: every option has its default, and nothing is printed.
Options parse_options(char* const* envp, int err_fd, bool secure = false);

// Write "name=value" lines for every option as used.
void print_options(const Options& o, int fd);

// Parsers, exposed for the unit tests. Each returns false on a bad value.
bool parse_bool(const char* s, bool* out);
bool parse_uint(const char* s, uint64_t max, uint64_t* out);
// Size with optional K/M/G/T suffix (binary), e.g. "256K", "2M", "65536".
bool parse_size(const char* s, uint64_t* out);
bool parse_ss_size(const char* s, size_t* out);
bool parse_decommit_mode(const char* s, DecommitMode* out);

}  // namespace hakmem
