// The death-test matcher shared by test_death.cpp and test_hardening.cpp.
//
// Death tests run "threadsafe": the child re-executes the binary, so with ASLR
// its addresses differ from the parent's. Each death statement therefore prints
// the address it is about to pass ("hk-test-addr 0x..." on stderr, first line)
// and the matcher checks that the hakmem line names it. Apart from that marker
// line, stderr must be exactly the one hakmem line.
#pragma once
#include <gtest/gtest.h>

#include <csignal>
#include <cstdio>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace hktest {

inline const char* kAny = "double free|invalid";

// Checks the child's stderr: an optional marker line "hk-test-addr A [B]" written
// by the statement, then exactly one line that starts with "hakmem:", matches
// `what` and names A (or B) as a whole hex token. Without a marker any 0x
// address is accepted. A matcher instead of a regex: gtest's POSIX regex has no
// back-references, and threadsafe death tests re-execute the binary, so the
// child's addresses (ASLR) are only known to the child.
class HkAbortMessage : public testing::MatcherInterface<const std::string&> {
 public:
  explicit HkAbortMessage(std::string what) : what_(std::move(what)) {}
  bool MatchAndExplain(const std::string& err, testing::MatchResultListener* l) const override {
    std::vector<std::string> lines;
    size_t pos = 0;
    while (pos < err.size()) {
      size_t nl = err.find('\n', pos);
      if (nl == std::string::npos) nl = err.size();
      lines.push_back(err.substr(pos, nl - pos));
      pos = nl + 1;
    }
    std::vector<std::string> addrs;
    if (!lines.empty() && lines[0].rfind("hk-test-addr ", 0) == 0) {
      std::istringstream in(lines[0].substr(13));
      std::string a;
      while (in >> a) addrs.push_back(a);
      lines.erase(lines.begin());
    }
    if (lines.size() != 1) {
      *l << "stderr has " << lines.size() << " lines after the marker, want exactly 1";
      return false;
    }
    const std::string& m = lines[0];
    if (m.rfind("hakmem: ", 0) != 0) {
      *l << "line does not start with 'hakmem: '";
      return false;
    }
    if (!std::regex_search(m, std::regex(what_))) {
      *l << "line does not match (" << what_ << ")";
      return false;
    }
    static const std::regex hex_re("0x[0-9a-fA-F]+");
    std::vector<std::string> found;
    for (auto it = std::sregex_iterator(m.begin(), m.end(), hex_re);
         it != std::sregex_iterator(); ++it)
      found.push_back(it->str());
    if (found.empty()) {
      *l << "line names no 0x address";
      return false;
    }
    if (addrs.empty()) return true;
    for (auto& f : found)
      for (auto& a : addrs)
        if (f == a) return true;
    *l << "line does not name the address passed";
    return false;
  }
  void DescribeTo(std::ostream* os) const override {
    *os << "one stderr line 'hakmem: ...(" << what_ << ")... <address passed>'";
  }

 private:
  std::string what_;
};
inline testing::Matcher<const std::string&> msg(const char* what) {
  return testing::MakeMatcher(new HkAbortMessage(what));
}

inline void mark(const void* p) { std::fprintf(stderr, "hk-test-addr %p\n", p); std::fflush(stderr); }
inline void mark2(const void* p, const void* q) {
  std::fprintf(stderr, "hk-test-addr %p %p\n", p, q);
  std::fflush(stderr);
}

class Death : public testing::Test {
 protected:
  void SetUp() override { testing::GTEST_FLAG(death_test_style) = "threadsafe"; }
};

#define EXPECT_HK_ABORT(stmt, re) EXPECT_EXIT(stmt, testing::KilledBySignal(SIGABRT), re)

}  // namespace hktest
