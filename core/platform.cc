#include "core/platform.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace hakmem::os {

Counters g_counters;

namespace {
class ErrnoGuard {
 public:
  ErrnoGuard() : saved_(errno) {}
  ~ErrnoGuard() { errno = saved_; }

 private:
  int saved_;
};
}  // namespace

void* map(size_t len) {
  ErrnoGuard g;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_sparse(size_t len) {
  ErrnoGuard g;
  void* p = ::mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return p == MAP_FAILED ? nullptr : p;
}

void* map_aligned(size_t len, size_t align) {
  if (align <= kPageSize) return map(len);
  if (len + align < len) return nullptr;
  char* raw = static_cast<char*>(map(len + align));
  if (!raw) return nullptr;
  uintptr_t start = (reinterpret_cast<uintptr_t>(raw) + align - 1) & ~(uintptr_t{align} - 1);
  char* p = reinterpret_cast<char*>(start);
  size_t head = static_cast<size_t>(p - raw);
  size_t tail = align - head;
  if (head) unmap(raw, head);
  if (tail) unmap(p + len, tail);
  return p;
}

namespace {
constexpr int kReserveFlags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
// A reservation is readable so that reading metadata of a slot not in use
// gives zeros instead of a fault (the free path relies on it); private
// read-only memory is not counted against the commit limit.
bool re_reserve(void* p, size_t len) {
  return ::mmap(p, len, PROT_READ, kReserveFlags | MAP_FIXED, -1, 0) != MAP_FAILED;
}
}  // namespace

void* reserve_aligned(size_t len, size_t align) {
  ErrnoGuard g;
  if (len + align < len) return nullptr;
  void* raw = ::mmap(nullptr, len + align, PROT_READ, kReserveFlags, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  if (raw == MAP_FAILED) return nullptr;
  uintptr_t r = reinterpret_cast<uintptr_t>(raw);
  uintptr_t start = (r + align - 1) & ~(uintptr_t{align} - 1);
  if (start > r) ::munmap(raw, start - r);
  if (size_t tail = r + len + align - (start + len)) ::munmap(reinterpret_cast<void*>(start + len), tail);
  ::madvise(reinterpret_cast<void*>(start), len, MADV_DONTDUMP);
  return reinterpret_cast<void*>(start);
}

bool commit(void* p, size_t len) {
  ErrnoGuard g;
  void* q = ::mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  if (q != MAP_FAILED) return true;
  re_reserve(p, len);
  return false;
}

void decommit(void* p, size_t len) {
  ErrnoGuard g;
  // Mapping over it can fail only when the process is out of mappings; the
  // range then stays writable, but its memory goes back and it reads as zeros.
  if (!re_reserve(p, len)) ::madvise(p, len, MADV_DONTNEED);
  g_counters.munmap_calls.fetch_add(1, std::memory_order_relaxed);
}

void unmap(void* p, size_t len) {
  ErrnoGuard g;
  ::munmap(p, len);
  g_counters.munmap_calls.fetch_add(1, std::memory_order_relaxed);
}

void* remap(void* p, size_t old_len, size_t new_len, bool may_move) {
  ErrnoGuard g;
  void* q = ::mremap(p, old_len, new_len, may_move ? MREMAP_MAYMOVE : 0);
  g_counters.mmap_calls.fetch_add(1, std::memory_order_relaxed);
  return q == MAP_FAILED ? nullptr : q;
}

void advise_free(void* p, size_t len) {
  ErrnoGuard g;
#ifdef MADV_FREE
  if (::madvise(p, len, MADV_FREE) == 0) {
    g_counters.madvise_free_calls.fetch_add(1, std::memory_order_relaxed);
    return;
  }
#endif
  advise_dontneed(p, len);
}

void advise_dontneed(void* p, size_t len) {
  ErrnoGuard g;
  ::madvise(p, len, MADV_DONTNEED);
  g_counters.madvise_dontneed_calls.fetch_add(1, std::memory_order_relaxed);
}

void advise_nohugepage(void* p, size_t len) {
  ErrnoGuard g;
  ::madvise(p, len, MADV_NOHUGEPAGE);
}

bool secure_execution() { return getauxval(AT_SECURE) != 0; }

uint64_t random_u64() {
  ErrnoGuard g;
  uint64_t v = 0;
  if (getrandom(&v, sizeof v, GRND_NONBLOCK) == static_cast<ssize_t>(sizeof v)) return v;
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = (static_cast<uint64_t>(ts.tv_sec) << 32) ^ static_cast<uint64_t>(ts.tv_nsec) ^ __builtin_ia32_rdtsc();
  x ^= reinterpret_cast<uintptr_t>(&v);  // the stack's place, randomised by ASLR
  x = (x ^ (x >> 31)) * 0xBF58476D1CE4E5B9ull;
  return x ^ (x >> 29);
}

uint64_t now_ms() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

uint64_t now_ms_coarse() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

void sleep_ms(uint64_t ms) {
  ErrnoGuard g;
  timespec ts{static_cast<time_t>(ms / 1000), static_cast<long>((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

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

void write_fd(int fd, const char* s, size_t n) {
  ErrnoGuard g;
  while (n > 0) {
    ssize_t w = ::write(fd, s, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

int open_append(const char* path) {
  ErrnoGuard g;
  return ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

void close_fd(int fd) {
  ErrnoGuard g;
  ::close(fd);
}

void fatal_pointer(const char* what, const void* p) {
  Line l;
  l.str("hakmem: ").str(what).str(" ").hex(reinterpret_cast<uintptr_t>(p)).chr('\n');
  l.write(2);
  abort();
}

void fatal(const char* what) {
  Line l;
  l.str("hakmem: ").str(what).chr('\n');
  l.write(2);
  abort();
}

Line& Line::end() {
  if (len_ < sizeof buf_) buf_[len_++] = '\n';
  else buf_[sizeof buf_ - 1] = '\n';
  return *this;
}

Line& Line::str(const char* s) {
  while (*s && len_ < sizeof buf_) buf_[len_++] = *s++;
  return *this;
}

Line& Line::chr(char c) {
  if (len_ < sizeof buf_) buf_[len_++] = c;
  return *this;
}

Line& Line::num(uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v);
  while (n > 0) chr(tmp[--n]);
  return *this;
}

Line& Line::hex(uintptr_t v) {
  str("0x");
  char tmp[20];
  int n = 0;
  do {
    tmp[n++] = "0123456789abcdef"[v & 15];
    v >>= 4;
  } while (v);
  while (n > 0) chr(tmp[--n]);
  return *this;
}

Line& Line::kib(uint64_t bytes) { return num((bytes + 512) / 1024).str(" KiB"); }

}  // namespace hakmem::os
