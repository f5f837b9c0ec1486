// The one sink for hakmem's messages: lines formatted without allocating,
// written to a descriptor; warn() for stderr, fatal() to report and abort.
#pragma once
#include <cstddef>
#include <cstdint>

namespace hakmem::os {

void write_fd(int fd, const char* s, size_t n);
// open(path, O_WRONLY | O_CREAT | O_APPEND) with mode 0644; -1 on failure.
int open_append(const char* path);
void close_fd(int fd);

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

// One line on stderr.
void warn(const Line& l);
// One line on stderr, then abort: a misuse of the allocator was caught.
[[noreturn, gnu::cold]] void fatal(const Line& l);

}  // namespace hakmem::os
