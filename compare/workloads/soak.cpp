// soak: the random-mixed loop for a set duration; every epoch appends one CSV row
//   t_sec,rss_kb,rss_minus_lazyfree_kb,ops,lazyfree_kb,anon_huge_kb,minflt
// (ops is cumulative) so RSS can be plotted over time.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "common.h"
#include "mixer.h"

namespace {

using namespace cmp;

constexpr uint64_t kOpsPerClockCheck = 4096;

class CsvLog {
 public:
  explicit CsvLog(const char* path) {
    if (!path || !*path) return;
    fd_ = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) die("cannot write %s: %s", path, strerror(errno));
    write_text("t_sec,rss_kb,rss_minus_lazyfree_kb,ops,lazyfree_kb,anon_huge_kb,minflt\n");
  }
  ~CsvLog() {
    if (fd_ >= 0) close(fd_);
  }
  void row(double t, const MemSnapshot& m, uint64_t ops) {
    if (fd_ < 0) return;
    char line[256];
    snprintf(line, sizeof line, "%.3f,%llu,%llu,%llu,%llu,%llu,%llu\n", t, ull(m.rss_kb), ull(m.rss_minus_lazyfree_kb()),
             ull(ops), ull(m.lazyfree_kb), ull(m.anon_huge_kb), ull(read_faults().minor));
    write_text(line);
  }

 private:
  int fd_ = -1;
  static unsigned long long ull(uint64_t v) { return static_cast<unsigned long long>(v); }
  void write_text(const char* text) {
    if (write(fd_, text, strlen(text)) < 0) die("write to the CSV failed: %s", strerror(errno));
  }
};

}  // namespace

int main(int argc, char** argv) {
  MixerConfig config;
  config.cross_one_in = 0;
  uint64_t seed = 42;
  double duration = 300, epoch = 5;
  const char* csv_path = nullptr;
  Options options("cmp_soak",
                  "soak: the random-mixed loop (one thread) for --secs seconds, sampling RSS every\n"
                  "--epoch-secs into the CSV file given by --csv.");
  options.add_f64("secs", &duration, "duration in seconds");
  options.add_f64("epoch-secs", &epoch, "seconds between CSV rows");
  options.add_str("csv", &csv_path, "CSV output file (t_sec,rss_kb,rss_minus_lazyfree_kb,ops,...)");
  options.add_u64("slots", &config.slots, "slots (working set)");
  options.add_u64("min-size", &config.min_size, "smallest block in bytes");
  options.add_u64("max-size", &config.max_size, "largest block in bytes");
  options.add_u64("seed", &seed, "random seed");
  options.parse(argc, argv);
  if (epoch <= 0) die("--epoch-secs must be > 0");

  Mixer mixer;
  mixer.init(config, seed, nullptr, nullptr);
  CsvLog csv(csv_path);
  uint64_t ops = 0, epochs = 0;
  const double start = now_secs();
  double last_row = 0;
  csv.row(0, read_mem(), 0);
  for (double t = 0; t < duration; t = now_secs() - start) {
    mixer.run(kOpsPerClockCheck);
    ops += kOpsPerClockCheck;
    if (now_secs() - start >= epoch * static_cast<double>(epochs + 1)) {
      ++epochs;
      last_row = now_secs() - start;
      csv.row(last_row, read_mem(), ops);
    }
  }
  const double secs = now_secs() - start;
  const MemSnapshot end = read_mem();
  if (secs - last_row > 0.01 * epoch) csv.row(secs, end, ops);

  Result result("soak");
  result.u64("slots", config.slots).u64("seed", seed).u64("epochs", epochs);
  result.emit(ops, secs, end);
  mixer.release_all();
  return 0;
}
