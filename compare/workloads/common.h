// Shared helpers for the comparison workloads.
//
// The workloads are C++ on top of libc only: no STL containers, no exceptions, no
// libstdc++ at run time (linked with --as-needed). A C program's small start-up footprint
// is then the baseline for every allocator, and every byte above it belongs to the
// allocator under test (loaded with LD_PRELOAD by compare/run).
//
// Every workload prints exactly one line to stdout:
//   RESULT workload=<name> key=value key=value ...
// with the standard fields appended by Result::emit (see there).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>

namespace cmp {

[[noreturn]] void die(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// ---------------------------------------------------------------- command line
// Options are `--name value` or `--name=value`. Integers take an optional K/M/G suffix
// (powers of 1024). `--help` prints the summary and every option with its default.
class Options {
 public:
  Options(const char* program, const char* summary) : program_(program), summary_(summary) {}
  void add_u64(const char* name, uint64_t* value, const char* help);
  void add_f64(const char* name, double* value, const char* help);
  void add_str(const char* name, const char** value, const char* help);
  void parse(int argc, char** argv);  // exits 0 after --help, 2 on a bad argument

 private:
  enum class Kind { U64, F64, Str };
  struct Opt {
    const char* name;
    Kind kind;
    void* value;
    const char* help;
  };
  static constexpr int kMax = 24;
  Opt opts_[kMax];
  int count_ = 0;
  const char* program_;
  const char* summary_;

  void add(const char* name, Kind kind, void* value, const char* help);
  const Opt* find(const char* name, size_t len) const;
  void usage() const;
  static bool assign(const Opt& opt, const char* text);
};

bool parse_u64(const char* text, uint64_t* out);  // decimal with optional K/M/G suffix

// ---------------------------------------------------------------- randomness
// xoshiro256** seeded through splitmix64: deterministic for a given seed on any machine.
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t x = seed;
    for (auto& word : s_) word = splitmix(x);
  }
  uint64_t next() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); the multiply-shift bias is below 2^-40 for the ranges used here.
  uint64_t below(uint64_t n) { return static_cast<uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64); }
  uint64_t between(uint64_t lo, uint64_t hi) { return lo + below(hi - lo + 1); }

 private:
  uint64_t s_[4];
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
};

// ---------------------------------------------------------------- memory and time
struct MemSnapshot {
  uint64_t rss_kb = 0;        // smaps_rollup Rss
  uint64_t lazyfree_kb = 0;   // smaps_rollup LazyFree (MADV_FREE pages still counted in Rss)
  uint64_t anon_huge_kb = 0;  // smaps_rollup AnonHugePages
  uint64_t hwm_kb = 0;        // status VmHWM (peak RSS)
  uint64_t rss_minus_lazyfree_kb() const { return rss_kb > lazyfree_kb ? rss_kb - lazyfree_kb : 0; }
};
MemSnapshot read_mem();  // reads /proc without calling malloc

struct Faults {
  uint64_t minor = 0;
  uint64_t major = 0;
};
Faults read_faults();  // getrusage(RUSAGE_SELF)

double now_secs();  // CLOCK_MONOTONIC
void sleep_secs(double secs);

// ---------------------------------------------------------------- blocks
constexpr size_t kPage = 4096;

void* checked_malloc(size_t size);  // exits with status 3 when malloc returns NULL
void* checked_calloc(size_t count, size_t size);  // exits with status 3 when calloc returns NULL

// Writes `tag` to the first byte, one byte in every 4 KiB page and the last byte: every
// page of the block is touched, as a program that uses the block would.
inline void fill_block(void* p, size_t size, uint8_t tag) {
  auto* bytes = static_cast<volatile uint8_t*>(p);
  for (size_t off = 0; off < size; off += kPage) bytes[off] = tag;
  bytes[size - 1] = tag;
}

// Checks the first and last byte written by fill_block: catches an allocator that hands
// out overlapping blocks or corrupts live memory.
inline bool check_block(const void* p, size_t size, uint8_t tag) {
  auto* bytes = static_cast<const volatile uint8_t*>(p);
  return bytes[0] == tag && bytes[size - 1] == tag;
}

inline void escape(void* p) { asm volatile("" : : "g"(p) : "memory"); }

void* map_anonymous(size_t bytes);  // zero-filled, MAP_NORESERVE; exits on failure
void unmap_anonymous(void* p, size_t bytes);
// MADV_DONTNEED on the whole pages inside [p, p + bytes).
void release_anonymous(void* p, size_t bytes);

// A zero-filled array in its own mapping, so the workload's bookkeeping never goes through
// the allocator under test and costs the same for every allocator. Pages are touched only
// as they are used.
template <class T>
class MappedArray {
 public:
  explicit MappedArray(size_t count) : count_(count), data_(static_cast<T*>(map_anonymous(count * sizeof(T)))) {
    // Trivial types are already zero: constructing them would touch every page.
    if constexpr (!std::is_trivially_default_constructible_v<T>)
      for (size_t i = 0; i < count_; ++i) new (&data_[i]) T();
  }
  ~MappedArray() {
    if constexpr (!std::is_trivially_destructible_v<T>)
      for (size_t i = 0; i < count_; ++i) data_[i].~T();
    unmap_anonymous(data_, count_ * sizeof(T));
  }
  MappedArray(const MappedArray&) = delete;
  MappedArray& operator=(const MappedArray&) = delete;
  T& operator[](size_t i) { return data_[i]; }
  size_t size() const { return count_; }
  // Gives back the pages wholly past element first (they read as zero again).
  void release_from(size_t first) { release_anonymous(data_ + first, (count_ - first) * sizeof(T)); }

 private:
  size_t count_;
  T* data_;
};

// A bounded single-producer single-consumer queue of pointers.
template <size_t N>
class SpscRing {
  static_assert((N & (N - 1)) == 0, "capacity must be a power of two");

 public:
  bool push(void* p) {
    const size_t tail = tail_.load(std::memory_order_relaxed);
    if (tail - head_.load(std::memory_order_acquire) == N) return false;
    items_[tail & (N - 1)] = p;
    tail_.store(tail + 1, std::memory_order_release);
    return true;
  }
  bool pop(void** out) {
    const size_t head = head_.load(std::memory_order_relaxed);
    if (head == tail_.load(std::memory_order_acquire)) return false;
    *out = items_[head & (N - 1)];
    head_.store(head + 1, std::memory_order_release);
    return true;
  }

 private:
  alignas(64) std::atomic<size_t> head_{0};
  alignas(64) std::atomic<size_t> tail_{0};
  alignas(64) void* items_[N] = {};
};

// ---------------------------------------------------------------- threads
// Waiting on another thread: spin briefly, then give the core away (the machine may have
// fewer cores than runnable threads).
class Backoff {
 public:
  void wait();
  void reset() { spins_ = 0; }

 private:
  unsigned spins_ = 0;
};

// Runs fn(index, arg) on `count` new threads and joins them.
void run_threads(int count, void (*fn)(int index, void* arg), void* arg);

// ---------------------------------------------------------------- result line
// Collects key=value pairs in a fixed buffer (no malloc) and prints them as one line.
class Result {
 public:
  explicit Result(const char* workload);
  Result& u64(const char* key, uint64_t value);
  Result& f64(const char* key, double value);
  Result& str(const char* key, const char* value);
  // <prefix>_rss_kb and <prefix>_rss_minus_lazyfree_kb
  Result& mem(const char* prefix, const MemSnapshot& m);
  // Appends the standard fields and prints the line:
  //   ops secs ops_per_sec peak_rss_kb rss_kb rss_minus_lazyfree_kb lazyfree_kb
  //   anon_huge_kb minflt majflt malloc_lib
  // `end` is the snapshot the workload calls its final footprint; peak_rss_kb is VmHWM.
  void emit(uint64_t ops, double secs, const MemSnapshot& end);

 private:
  char buf_[8192];
  size_t len_ = 0;
  void append(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
};

// The shared object that provides the malloc this process calls (after LD_PRELOAD
// interposition); compare/run checks it so that a preload that silently failed to load
// can never be reported as that allocator's result.
const char* malloc_provider();

}  // namespace cmp
