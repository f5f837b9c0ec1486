#include "core/platform/log.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/platform/errno_guard.h"

namespace hakmem::os {

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

void warn(const Line& l) { l.write(2); }

void fatal(const Line& l) {
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
