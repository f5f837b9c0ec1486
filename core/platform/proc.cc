#include "core/platform/proc.h"

#include <fcntl.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <cstring>

#include "core/platform/errno_guard.h"
#include "core/platform/memory.h"

namespace hakmem::os {

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

namespace {
// Reads a small /proc file into buf without allocating; returns bytes read.
size_t read_proc(const char* path, char* buf, size_t cap) {
  ErrnoGuard g;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t n = 0;
  while (n + 1 < cap) {
    ssize_t r = ::read(fd, buf + n, cap - 1 - n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    n += static_cast<size_t>(r);
  }
  ::close(fd);
  buf[n] = '\0';
  return n;
}

// Value in kB of "key:" in a /proc text, in bytes; 0 when absent.
size_t field_kb(const char* text, const char* key) {
  const char* p = std::strstr(text, key);
  if (!p) return 0;
  p += std::strlen(key);
  while (*p == ' ' || *p == '\t') ++p;
  size_t v = 0;
  while (*p >= '0' && *p <= '9') v = v * 10 + static_cast<size_t>(*p++ - '0');
  return v * 1024;
}
}  // namespace

MemInfo read_smaps_rollup() {
  char buf[4096];
  MemInfo m;
  if (read_proc("/proc/self/smaps_rollup", buf, sizeof buf) == 0) return m;
  m.rss = field_kb(buf, "\nRss:");
  m.anonymous = field_kb(buf, "\nAnonymous:");
  m.lazyfree = field_kb(buf, "\nLazyFree:");
  m.anon_huge = field_kb(buf, "\nAnonHugePages:");
  m.ok = true;
  return m;
}

size_t read_stack_rss() {
  ErrnoGuard g;
  int fd = ::open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  // Streamed a line at a time (the file can be large); over-long lines are
  // cut, which only ever shortens a path.
  char buf[4096], line[512];
  size_t len = 0, total = 0;
  bool in_stack = false;
  auto finish_line = [&] {
    line[len] = '\0';
    if ((line[0] >= '0' && line[0] <= '9') || (line[0] >= 'a' && line[0] <= 'f'))  // a mapping's header
      in_stack = std::strstr(line, "[stack]") != nullptr;
    else if (in_stack && std::strncmp(line, "Rss:", 4) == 0)
      total += field_kb(line, "Rss:");
    len = 0;
  };
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    for (ssize_t i = 0; i < r; ++i) {
      if (buf[i] == '\n') finish_line();
      else if (len + 1 < sizeof line) line[len++] = buf[i];
    }
  }
  ::close(fd);
  return total;
}

size_t read_rss_statm() {
  char buf[256];
  if (read_proc("/proc/self/statm", buf, sizeof buf) == 0) return 0;
  const char* p = buf;
  while (*p && *p != ' ') ++p;  // skip size
  while (*p == ' ') ++p;
  size_t pages = 0;
  while (*p >= '0' && *p <= '9') pages = pages * 10 + static_cast<size_t>(*p++ - '0');
  return pages * kPageSize;
}

namespace {
// Appends src to dst (capacity cap) and returns false if it did not fit.
bool append(char* dst, size_t cap, const char* src) {
  size_t n = std::strlen(dst), m = std::strlen(src);
  if (n + m + 1 > cap) return false;
  std::memcpy(dst + n, src, m + 1);
  return true;
}

// A limit file's value in bytes; 0 for "max", absent or unlimited.
size_t read_limit(const char* dir, const char* cgpath, const char* file) {
  char path[512] = "";
  if (!append(path, sizeof path, dir) || !append(path, sizeof path, cgpath) || !append(path, sizeof path, "/") ||
      !append(path, sizeof path, file))
    return 0;
  char buf[64];
  if (read_proc(path, buf, sizeof buf) == 0 || buf[0] < '0' || buf[0] > '9') return 0;
  size_t v = 0;
  for (const char* p = buf; *p >= '0' && *p <= '9'; ++p) v = v * 10 + static_cast<size_t>(*p - '0');
  return v >= (size_t{1} << 60) ? 0 : v;  // v1 reports "unlimited" as a huge number
}
}  // namespace

size_t cgroup_memory_limit() {
  char buf[2048];
  if (read_proc("/proc/self/cgroup", buf, sizeof buf) == 0) return 0;
  for (char* line = buf; *line;) {
    char* end = std::strchr(line, '\n');
    if (end) *end = '\0';
    char* path = std::strrchr(line, ':');
    size_t limit = 0;
    if (path) {
      ++path;
      if (std::strncmp(line, "0::", 3) == 0) {
        limit = read_limit("/sys/fs/cgroup", path, "memory.max");
        if (!limit) limit = read_limit("/sys/fs/cgroup/unified", path, "memory.max");
      } else if (std::strstr(line, ":memory:")) {
        limit = read_limit("/sys/fs/cgroup/memory", path, "memory.limit_in_bytes");
      }
    }
    if (limit) return limit;
    if (!end) break;
    line = end + 1;
  }
  return 0;
}

bool huge_pages_unasked() {
  char buf[128];
  if (read_proc("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof buf) == 0) return false;
  return thp_enabled_is_always(buf);
}

bool thp_enabled_is_always(const char* text) {
  return std::strstr(text, "[always]") != nullptr;  // the selected value is the bracketed one
}

}  // namespace hakmem::os
