// Option parsers and the options table (modes/options.h).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "modes/options.h"
#include "modes/presets.h"

using namespace hakmem;

namespace {

TEST(Parse, Bool) {
  bool b = false;
  EXPECT_TRUE(parse_bool("1", &b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(parse_bool("0", &b));
  EXPECT_FALSE(b);
  b = true;
  for (const char* bad : {"", "2", "maybe", "10", " 1", "1 "}) {
    EXPECT_FALSE(parse_bool(bad, &b)) << "'" << bad << "'";
    EXPECT_TRUE(b) << "output changed on a bad value '" << bad << "'";
  }
}

TEST(Parse, Uint) {
  uint64_t v = 7;
  EXPECT_TRUE(parse_uint("0", 100, &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(parse_uint("100", 100, &v));
  EXPECT_EQ(v, 100u);
  EXPECT_TRUE(parse_uint("18446744073709551615", UINT64_MAX, &v));
  EXPECT_EQ(v, UINT64_MAX);
  v = 7;
  for (const char* bad : {"", "101", "-5", "5x", "x", "1.5", "18446744073709551616", "99999999999999999999999"})
    EXPECT_FALSE(parse_uint(bad, bad[0] == '1' && bad[1] == '8' ? UINT64_MAX : 100, &v)) << bad;
  EXPECT_EQ(v, 7u);
}

TEST(Parse, Size) {
  uint64_t v = 0;
  EXPECT_TRUE(parse_size("65536", &v));
  EXPECT_EQ(v, 65536u);
  EXPECT_TRUE(parse_size("256K", &v));
  EXPECT_EQ(v, 256u << 10);
  EXPECT_TRUE(parse_size("64k", &v));
  EXPECT_EQ(v, 64u << 10);
  EXPECT_TRUE(parse_size("2M", &v));
  EXPECT_EQ(v, 2u << 20);
  EXPECT_TRUE(parse_size("1G", &v));
  EXPECT_EQ(v, 1u << 30);
  v = 3;
  for (const char* bad : {"", "K", "banana", "12Q", "1.5M", "-1K", "17179869184G", "99999999999999999999"})
    EXPECT_FALSE(parse_size(bad, &v)) << bad;
  EXPECT_EQ(v, 3u);
}

TEST(Parse, SuperSlabSize) {
  size_t s = 0;
  for (auto [txt, want] : std::vector<std::pair<const char*, size_t>>{
           {"64K", 64u << 10}, {"256K", 256u << 10}, {"2M", 2u << 20}, {"64M", 64u << 20}, {"131072", 128u << 10}}) {
    EXPECT_TRUE(parse_ss_size(txt, &s)) << txt;
    EXPECT_EQ(s, want) << txt;
  }
  s = 1;
  for (const char* bad : {"3K", "32K", "96K", "128M", "0", "banana", "12345"})
    EXPECT_FALSE(parse_ss_size(bad, &s)) << bad;
  EXPECT_EQ(s, 1u);
}

TEST(Parse, DecommitMode) {
  DecommitMode m = DecommitMode::Off;
  EXPECT_TRUE(parse_decommit_mode("FREE", &m));
  EXPECT_EQ(m, DecommitMode::ReleaseLazily);
  EXPECT_TRUE(parse_decommit_mode("DONTNEED", &m));
  EXPECT_EQ(m, DecommitMode::ReleaseNow);
  EXPECT_TRUE(parse_decommit_mode("OFF", &m));
  EXPECT_EQ(m, DecommitMode::Off);
  EXPECT_FALSE(parse_decommit_mode("SOMETIMES", &m));
  EXPECT_FALSE(parse_decommit_mode("", &m));
  EXPECT_FALSE(parse_decommit_mode("FREEX", &m));
  EXPECT_EQ(m, DecommitMode::Off);
}

// parse_options over a synthetic environment; returns stderr output.
struct Parsed {
  Options o;
  std::string err;
};
Parsed parse(std::vector<std::string> env, bool secure = false) {
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  Parsed p;
  p.o = parse_options(envp.data(), fds[1], secure);
  close(fds[1]);
  char buf[4096];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) p.err.append(buf, r);
  close(fds[0]);
  return p;
}
size_t lines(const std::string& s) { return std::count(s.begin(), s.end(), '\n'); }

TEST(Options, Defaults) {
  Parsed f = parse({"PATH=/bin", "HAKMEM_MEM_LEAN=0"});
  EXPECT_EQ(f.err, "");
  EXPECT_FALSE(f.o.lean);
  EXPECT_EQ(f.o.ss_size, 2u << 20);
  EXPECT_EQ(f.o.decommit, DecommitMode::Off);
  EXPECT_EQ(f.o.arena_size, size_t{32} << 30);
  Parsed l = parse({"HAKMEM_MEM_LEAN=1"});
  EXPECT_EQ(l.err, "");
  EXPECT_TRUE(l.o.lean);
  EXPECT_EQ(l.o.ss_size, 256u << 10);
  EXPECT_NE(l.o.decommit, DecommitMode::Off) << "LEAN must release idle memory by default";
  Parsed none = parse({});
  EXPECT_EQ(none.err, "");
  EXPECT_EQ(none.o.lean, kDefaultLean);
}

TEST(Options, ValuesAreHonoured) {
  Parsed p = parse({"HAKMEM_MEM_LEAN=1", "HAKMEM_SS_SIZE=64K", "HAKMEM_MEM_LEAN_DECOMMIT=DONTNEED",
                    "HAKMEM_DECOMMIT_DELAY_MS=0", "HAKMEM_MEM_LEAN_TARGET_MB=300", "HAKMEM_STATS=1",
                    "HAKMEM_ARENA_SIZE=1T"});
  EXPECT_EQ(p.err, "");
  EXPECT_TRUE(p.o.lean);
  EXPECT_EQ(p.o.ss_size, 64u << 10);
  EXPECT_EQ(p.o.decommit, DecommitMode::ReleaseNow);
  EXPECT_EQ(p.o.decommit_delay_ms, 0u);
  EXPECT_EQ(p.o.target_mb, 300u);
  EXPECT_TRUE(p.o.stats);
  EXPECT_EQ(p.o.arena_size, size_t{1} << 40);
  EXPECT_EQ(parse({"HAKMEM_ARENA_SIZE=0"}).o.arena_size, 0u) << "0 turns the reservation off";
  EXPECT_STREQ(p.o.stats_path, "") << "1: the report goes to stderr";
  Parsed f = parse({"HAKMEM_STATS=/var/tmp/hakmem-stats.txt"});
  EXPECT_EQ(f.err, "");
  EXPECT_TRUE(f.o.stats);
  EXPECT_STREQ(f.o.stats_path, "/var/tmp/hakmem-stats.txt");
  Parsed longpath = parse({"HAKMEM_STATS=/" + std::string(300, 'x')});
  EXPECT_EQ(lines(longpath.err), 1u) << "a path too long for the buffer is a bad value";
  EXPECT_FALSE(longpath.o.stats);
}

TEST(Options, PrefixNamesAreNotConfused) {
  // HAKMEM_MEM_LEAN_DECOMMIT must not be read as HAKMEM_MEM_LEAN, and a
  // variable that merely starts with an option name is not that option.
  Parsed p = parse({"HAKMEM_MEM_LEAN_DECOMMIT=DONTNEED", "HAKMEM_SS_SIZEX=banana", "XHAKMEM_MEM_LEAN=1"});
  EXPECT_EQ(p.err, "");
  EXPECT_EQ(p.o.lean, kDefaultLean);
  EXPECT_EQ(p.o.ss_size, kDefaultLean ? 256u << 10 : 2u << 20);
}

TEST(Options, BadValueOneLineAndDefault) {
  struct Case {
    const char* var;
    const char* val;
  } cases[] = {{"HAKMEM_SS_SIZE", "banana"},        {"HAKMEM_SS_SIZE", "3K"},
               {"HAKMEM_MEM_LEAN_DECOMMIT", "NOPE"}, {"HAKMEM_DECOMMIT_DELAY_MS", "-1"},
               {"HAKMEM_MEM_LEAN_TARGET_MB", "1e3"}, {"HAKMEM_STATS", "2"},
               {"HAKMEM_MEM_LEAN", "maybe"},         {"HAKMEM_ARENA_SIZE", "17T"},
               {"HAKMEM_ARENA_SIZE", "lots"},        {"HAKMEM_MEM_LEAN_LIMIT_MB", "64M"},
               {"HAKMEM_MEM_LEAN_LIMIT_MB", "-1"},   {"HAKMEM_MEM_LEAN_LIMIT_MB", "automatic"}};
  Parsed ref = parse({"HAKMEM_MEM_LEAN=1"});
  for (auto c : cases) {
    std::vector<std::string> env{std::string(c.var) + "=" + c.val};
    if (std::string(c.var) != "HAKMEM_MEM_LEAN") env.push_back("HAKMEM_MEM_LEAN=1");
    Parsed p = parse(env);
    EXPECT_EQ(lines(p.err), 1u) << c.var << "=" << c.val << ": " << p.err;
    EXPECT_NE(p.err.find(c.var), std::string::npos) << p.err;
    EXPECT_NE(p.err.find(c.val), std::string::npos) << p.err;
    EXPECT_NE(p.err.find("default"), std::string::npos) << p.err;
    if (std::string(c.var) == "HAKMEM_MEM_LEAN") {
      EXPECT_EQ(p.o.lean, kDefaultLean);
      continue;
    }
    EXPECT_EQ(p.o.ss_size, ref.o.ss_size);
    EXPECT_EQ(p.o.decommit, ref.o.decommit);
    EXPECT_EQ(p.o.decommit_delay_ms, ref.o.decommit_delay_ms);
    EXPECT_EQ(p.o.target_mb, ref.o.target_mb);
    EXPECT_EQ(p.o.limit_mb, ref.o.limit_mb);
    EXPECT_EQ(p.o.limit_auto, ref.o.limit_auto);
    EXPECT_EQ(p.o.stats, ref.o.stats);
    EXPECT_EQ(p.o.arena_size, ref.o.arena_size);
  }
}

// The hard limit: off by default, a number of MiB, 0 or off for none, auto.
TEST(Options, LimitValues) {
  Parsed d = parse({"HAKMEM_MEM_LEAN=1"});
  EXPECT_EQ(d.o.limit_mb, 0u) << "no hard limit unless asked for";
  EXPECT_FALSE(d.o.limit_auto);
  struct Case {
    const char* val;
    uint64_t mb;
    bool is_auto;
  } cases[] = {{"48", 48, false}, {"0", 0, false}, {"off", 0, false}, {"OFF", 0, false}, {"auto", 0, true}, {"AUTO", 0, true}};
  for (auto c : cases) {
    Parsed p = parse({"HAKMEM_MEM_LEAN=1", std::string("HAKMEM_MEM_LEAN_LIMIT_MB=") + c.val});
    EXPECT_EQ(p.err, "") << c.val;
    EXPECT_EQ(p.o.limit_mb, c.mb) << c.val;
    EXPECT_EQ(p.o.limit_auto, c.is_auto) << c.val;
  }
}

// A reservation smaller than one SuperSlab holds none: "no reservation" in
// disguise, so it is a bad value like any other (0 says "none" plainly).
TEST(Options, ArenaSmallerThanOneSuperSlabIsBad) {
  struct Case {
    std::vector<std::string> env;
    bool bad;
  } cases[] = {{{"HAKMEM_MEM_LEAN=0", "HAKMEM_ARENA_SIZE=1M"}, true},
               {{"HAKMEM_MEM_LEAN=0", "HAKMEM_ARENA_SIZE=2M"}, false},
               {{"HAKMEM_MEM_LEAN=1", "HAKMEM_ARENA_SIZE=128K"}, true},
               {{"HAKMEM_MEM_LEAN=1", "HAKMEM_ARENA_SIZE=1"}, true},
               {{"HAKMEM_MEM_LEAN=1", "HAKMEM_SS_SIZE=64K", "HAKMEM_ARENA_SIZE=1M"}, false},
               {{"HAKMEM_MEM_LEAN=1", "HAKMEM_SS_SIZE=64K", "HAKMEM_ARENA_SIZE=64K"}, false},
               {{"HAKMEM_MEM_LEAN=1", "HAKMEM_SS_SIZE=4M", "HAKMEM_ARENA_SIZE=2M"}, true},
               {{"HAKMEM_MEM_LEAN=0", "HAKMEM_ARENA_SIZE=0"}, false}};
  for (auto& c : cases) {
    Parsed p = parse(c.env);
    std::string what = c.env.back();
    if (c.bad) {
      EXPECT_EQ(lines(p.err), 1u) << what << ": " << p.err;
      EXPECT_NE(p.err.find(what.substr(what.find('=') + 1)), std::string::npos) << p.err;
      EXPECT_EQ(p.o.arena_size, size_t{32} << 30) << what << ": the default is used";
    } else {
      EXPECT_EQ(p.err, "") << what;
      uint64_t want = 0;
      ASSERT_TRUE(parse_size(what.substr(what.find('=') + 1).c_str(), &want));
      EXPECT_EQ(p.o.arena_size, want) << what;
    }
  }
}

// A secure-execution process (setuid, setgid) ignores the environment, as
// glibc ignores MALLOC_* there: HAKMEM_STATS=/path would let the caller make
// a privileged program append to any file.
TEST(Options, SecureExecutionIgnoresTheEnvironment) {
  std::vector<std::string> env{"HAKMEM_MEM_LEAN=1", "HAKMEM_STATS=/etc/hakmem-report", "HAKMEM_SS_SIZE=64K",
                               "HAKMEM_ARENA_SIZE=0", "HAKMEM_DECOMMIT_THREAD=1", "HAKMEM_MEM_LEAN_DECOMMIT=banana"};
  Parsed secure = parse(env, true);
  Parsed none = parse({});
  EXPECT_EQ(secure.err, "") << "nothing is printed";
  EXPECT_EQ(secure.o.lean, kDefaultLean);
  EXPECT_FALSE(secure.o.stats);
  EXPECT_STREQ(secure.o.stats_path, "");
  EXPECT_EQ(secure.o.ss_size, none.o.ss_size);
  EXPECT_EQ(secure.o.arena_size, none.o.arena_size);
  EXPECT_EQ(secure.o.decommit_thread, none.o.decommit_thread);
  EXPECT_EQ(secure.o.decommit, none.o.decommit);
  // Control: the same environment is honoured in an ordinary process.
  Parsed plain = parse(env, false);
  EXPECT_TRUE(plain.o.lean);
  EXPECT_STREQ(plain.o.stats_path, "/etc/hakmem-report");
  EXPECT_EQ(plain.o.arena_size, 0u);
}

TEST(Options, PrintShowsEveryOption) {
  Options o = parse({"HAKMEM_MEM_LEAN=1", "HAKMEM_SS_SIZE=1M"}).o;
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  print_options(o, fds[1]);
  close(fds[1]);
  std::string out;
  char buf[4096];
  ssize_t r;
  while ((r = read(fds[0], buf, sizeof buf)) > 0) out.append(buf, r);
  close(fds[0]);
  for (const char* name : {"HAKMEM_SS_SIZE=", "HAKMEM_MEM_LEAN_DECOMMIT=", "HAKMEM_MEM_LEAN_TARGET_MB=",
                           "HAKMEM_MEM_LEAN_LIMIT_MB=", "HAKMEM_DECOMMIT_DELAY_MS=", "HAKMEM_ARENA_SIZE="})
    EXPECT_NE(out.find(name), std::string::npos) << name << " missing in:\n" << out;
  EXPECT_NE(out.find("HAKMEM_SS_SIZE=1048576"), std::string::npos) << out;
}

}  // namespace
