#include "common.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace cmp {

void die(const char* fmt, ...) {
  char line[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  dprintf(2, "error: %s\n", line);
  _exit(2);
}

// ---------------------------------------------------------------- command line
bool parse_u64(const char* text, uint64_t* out) {
  if (*text < '0' || *text > '9') return false;
  char* end = nullptr;
  errno = 0;
  uint64_t value = strtoull(text, &end, 10);
  if (errno != 0) return false;
  switch (*end) {
    case 'k': case 'K': value <<= 10; ++end; break;
    case 'm': case 'M': value <<= 20; ++end; break;
    case 'g': case 'G': value <<= 30; ++end; break;
    default: break;
  }
  if (*end != '\0') return false;
  *out = value;
  return true;
}

static bool parse_f64(const char* text, double* out) {
  char* end = nullptr;
  errno = 0;
  const double value = strtod(text, &end);
  if (errno != 0 || end == text || *end != '\0' || value < 0) return false;
  *out = value;
  return true;
}

void Options::add(const char* name, Kind kind, void* value, const char* help) {
  if (count_ == kMax) die("too many options");
  opts_[count_++] = Opt{name, kind, value, help};
}
void Options::add_u64(const char* name, uint64_t* value, const char* help) { add(name, Kind::U64, value, help); }
void Options::add_f64(const char* name, double* value, const char* help) { add(name, Kind::F64, value, help); }
void Options::add_str(const char* name, const char** value, const char* help) { add(name, Kind::Str, value, help); }

const Options::Opt* Options::find(const char* name, size_t len) const {
  for (int i = 0; i < count_; ++i)
    if (strlen(opts_[i].name) == len && memcmp(opts_[i].name, name, len) == 0) return &opts_[i];
  return nullptr;
}

void Options::usage() const {
  printf("usage: %s [options]\n\n%s\n\noptions (integers take K/M/G = 1024-multiple suffixes):\n", program_, summary_);
  for (int i = 0; i < count_; ++i) {
    const Opt& o = opts_[i];
    char def[64];
    switch (o.kind) {
      case Kind::U64: snprintf(def, sizeof def, "%llu", static_cast<unsigned long long>(*static_cast<uint64_t*>(o.value))); break;
      case Kind::F64: snprintf(def, sizeof def, "%g", *static_cast<double*>(o.value)); break;
      case Kind::Str: {
        const char* text = *static_cast<const char**>(o.value);
        snprintf(def, sizeof def, "%s", text ? text : "");
        break;
      }
    }
    printf("  --%-16s %s (default: %s)\n", o.name, o.help, def[0] ? def : "none");
  }
  printf("  --%-16s %s\n", "help", "print this help");
  printf("\nOutput: one line 'RESULT workload=... key=value ...' on stdout.\n");
}

bool Options::assign(const Opt& opt, const char* text) {
  switch (opt.kind) {
    case Kind::U64: return parse_u64(text, static_cast<uint64_t*>(opt.value));
    case Kind::F64: return parse_f64(text, static_cast<double*>(opt.value));
    case Kind::Str: *static_cast<const char**>(opt.value) = text; return true;
  }
  return false;
}

void Options::parse(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const char* arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      usage();
      exit(0);
    }
    if (strncmp(arg, "--", 2) != 0) die("unexpected argument '%s' (see --help)", arg);
    const char* name = arg + 2;
    const char* eq = strchr(name, '=');
    const size_t len = eq ? static_cast<size_t>(eq - name) : strlen(name);
    const Opt* opt = find(name, len);
    if (!opt) die("unknown option '%s' (see --help)", arg);
    const char* text = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : nullptr);
    if (!text) die("option --%s needs a value", opt->name);
    if (!assign(*opt, text)) die("bad value '%s' for --%s", text, opt->name);
  }
}

// ---------------------------------------------------------------- memory and time
// Reads a small /proc file into `buf` with plain syscalls (stdio would call malloc).
static size_t read_proc(const char* path, char* buf, size_t cap) {
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  size_t len = 0;
  while (len + 1 < cap) {
    const ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n <= 0) break;
    len += static_cast<size_t>(n);
  }
  close(fd);
  buf[len] = '\0';
  return len;
}

// Value in kB of the line "<name>: <value> kB", 0 when absent.
static uint64_t field_kb(const char* text, const char* name) {
  const size_t len = strlen(name);
  for (const char* line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : nullptr) {
    if (strncmp(line, name, len) == 0 && line[len] == ':') return strtoull(line + len + 1, nullptr, 10);
  }
  return 0;
}

MemSnapshot read_mem() {
  char buf[8192];
  MemSnapshot m;
  if (read_proc("/proc/self/smaps_rollup", buf, sizeof buf)) {
    m.rss_kb = field_kb(buf, "Rss");
    m.lazyfree_kb = field_kb(buf, "LazyFree");
    m.anon_huge_kb = field_kb(buf, "AnonHugePages");
  }
  if (read_proc("/proc/self/status", buf, sizeof buf)) m.hwm_kb = field_kb(buf, "VmHWM");
  return m;
}

Faults read_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return Faults{static_cast<uint64_t>(usage.ru_minflt), static_cast<uint64_t>(usage.ru_majflt)};
}

double now_secs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

void sleep_secs(double secs) {
  if (secs <= 0) return;
  timespec ts{static_cast<time_t>(secs), static_cast<long>((secs - static_cast<double>(static_cast<time_t>(secs))) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

// ---------------------------------------------------------------- blocks
void* checked_malloc(size_t size) {
  void* p = malloc(size);
  if (!p) {
    dprintf(2, "error: malloc(%zu) returned NULL\n", size);
    _exit(3);
  }
  return p;
}

void* checked_calloc(size_t count, size_t size) {
  void* p = calloc(count, size);
  if (!p) {
    dprintf(2, "error: calloc(%zu, %zu) returned NULL\n", count, size);
    _exit(3);
  }
  return p;
}

void* map_anonymous(size_t bytes) {
  void* p = mmap(nullptr, bytes ? bytes : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) die("mmap of %zu bytes failed: %s", bytes, strerror(errno));
  return p;
}

void unmap_anonymous(void* p, size_t bytes) { munmap(p, bytes ? bytes : 1); }

void release_anonymous(void* p, size_t bytes) {
  const uintptr_t page = 4096;
  uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + page - 1) & ~(page - 1);
  uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

// ---------------------------------------------------------------- threads
void Backoff::wait() {
  if (++spins_ < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
  } else {
    sched_yield();
  }
}

namespace {
struct ThreadStart {
  int index;
  void (*fn)(int, void*);
  void* arg;
};
void* thread_main(void* raw) {
  auto* start = static_cast<ThreadStart*>(raw);
  start->fn(start->index, start->arg);
  return nullptr;
}
}  // namespace

void run_threads(int count, void (*fn)(int index, void* arg), void* arg) {
  constexpr int kMaxThreads = 256;
  if (count < 1 || count > kMaxThreads) die("thread count %d out of range 1..%d", count, kMaxThreads);
  ThreadStart starts[kMaxThreads];
  pthread_t ids[kMaxThreads];
  for (int i = 0; i < count; ++i) {
    starts[i] = ThreadStart{i, fn, arg};
    if (pthread_create(&ids[i], nullptr, thread_main, &starts[i]) != 0) die("pthread_create failed");
  }
  for (int i = 0; i < count; ++i) pthread_join(ids[i], nullptr);
}

// ---------------------------------------------------------------- result line
Result::Result(const char* workload) { append("RESULT workload=%s", workload); }

void Result::append(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int n = vsnprintf(buf_ + len_, sizeof buf_ - len_, fmt, ap);
  va_end(ap);
  if (n < 0 || static_cast<size_t>(n) >= sizeof buf_ - len_) die("result line too long");
  len_ += static_cast<size_t>(n);
}

Result& Result::u64(const char* key, uint64_t value) {
  append(" %s=%llu", key, static_cast<unsigned long long>(value));
  return *this;
}

Result& Result::f64(const char* key, double value) {
  append(" %s=%.6g", key, value);
  return *this;
}

Result& Result::str(const char* key, const char* value) {
  append(" %s=", key);
  for (const char* c = value; *c; ++c) append("%c", (*c == ' ' || *c == '=') ? '_' : *c);
  return *this;
}

Result& Result::mem(const char* prefix, const MemSnapshot& m) {
  append(" %s_rss_kb=%llu %s_rss_minus_lazyfree_kb=%llu", prefix, static_cast<unsigned long long>(m.rss_kb), prefix,
         static_cast<unsigned long long>(m.rss_minus_lazyfree_kb()));
  return *this;
}

void Result::emit(uint64_t ops, double secs, const MemSnapshot& end) {
  const Faults faults = read_faults();
  u64("ops", ops).f64("secs", secs).f64("ops_per_sec", secs > 0 ? static_cast<double>(ops) / secs : 0);
  u64("peak_rss_kb", read_mem().hwm_kb).u64("rss_kb", end.rss_kb).u64("rss_minus_lazyfree_kb", end.rss_minus_lazyfree_kb());
  u64("lazyfree_kb", end.lazyfree_kb).u64("anon_huge_kb", end.anon_huge_kb);
  u64("minflt", faults.minor).u64("majflt", faults.major).str("malloc_lib", malloc_provider());
  append("\n");
  if (write(1, buf_, len_) != static_cast<ssize_t>(len_)) _exit(4);
}

const char* malloc_provider() {
  void* (*volatile fn)(size_t) = &malloc;  // resolved through the GOT: the interposed malloc
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(fn), &info) == 0 || !info.dli_fname || !info.dli_fname[0]) return "unknown";
  return info.dli_fname;
}

}  // namespace cmp
