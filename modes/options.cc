#include "modes/options.h"

#include <cstring>

#include "core/platform/log.h"
#include "modes/presets.h"

namespace hakmem {

namespace {

bool ieq(const char* a, const char* b) {
  for (; *a && *b; ++a, ++b) {
    char x = (*a >= 'A' && *a <= 'Z') ? static_cast<char>(*a + 32) : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? static_cast<char>(*b + 32) : *b;
    if (x != y) return false;
  }
  return *a == *b;
}

// The table. Each entry parses a value into Options; the default comes from
// the mode preset (or is fixed) and goes through the same parser.
// One row per option, named fields: a new option is one row here, one field
// in Options and, if its default differs between the modes, one ModePreset
// field.
struct OptionDesc {
  const char* name;
  const char* (*default_for)(const ModePreset&);
  bool (*parse)(const char* value, Options& o);
  void (*show)(const Options& o, os::Line& l);
  const char* doc;
};

const OptionDesc kOptions[] = {
    {.name = "HAKMEM_SS_SIZE",
     .default_for = [](const ModePreset& p) { return p.ss_size; },
     .parse = [](const char* v, Options& o) { return parse_ss_size(v, &o.ss_size); },
     .show = [](const Options& o, os::Line& l) { l.num(o.ss_size); },
     .doc = "SuperSlab size, a power of two from 64K to 64M (K/M suffix)"},
    {.name = "HAKMEM_MEM_LEAN_DECOMMIT",
     .default_for = [](const ModePreset& p) { return p.decommit; },
     .parse = [](const char* v, Options& o) { return parse_decommit_mode(v, &o.decommit); },
     .show = [](const Options& o, os::Line& l) {
       l.str(o.decommit == DecommitMode::Off ? "OFF" : o.decommit == DecommitMode::ReleaseLazily ? "FREE" : "DONTNEED");
     },
     .doc = "first release stage for idle memory in LEAN: FREE, DONTNEED or OFF"},
    {.name = "HAKMEM_MEM_LEAN_TARGET_MB",
     .default_for = [](const ModePreset&) { return "auto"; },
     .parse = [](const char* v, Options& o) {
       o.target_auto = ieq(v, "auto");
       if (o.target_auto) return o.target_mb = 0, true;
       return parse_uint(v, uint64_t{1} << 30, &o.target_mb);
     },
     .show = [](const Options& o, os::Line& l) {
       if (o.target_auto) l.str("auto");
       else l.num(o.target_mb);
     },
     .doc = "RSS budget in MiB above which idle memory is released at once: a number, 0 for none, or auto "
     "(3/4 of the cgroup memory limit)"},
    {.name = "HAKMEM_MEM_LEAN_LIMIT_MB",
     .default_for = [](const ModePreset&) { return "off"; },
     .parse = [](const char* v, Options& o) {
       o.limit_auto = ieq(v, "auto");
       if (o.limit_auto || ieq(v, "off")) return o.limit_mb = 0, true;
       return parse_uint(v, uint64_t{1} << 30, &o.limit_mb);
     },
     .show = [](const Options& o, os::Line& l) {
       if (o.limit_auto) l.str("auto");
       else if (o.limit_mb) l.num(o.limit_mb);
       else l.str("off");
     },
     .doc = "hard limit in MiB on the memory hakmem commits (LEAN): past it, after releasing everything idle, "
     "allocation fails with ENOMEM; a number, off (or 0), or auto (the cgroup memory limit less 1/16 and 2 MiB)"},
    {.name = "HAKMEM_DECOMMIT_DELAY_MS",
     .default_for = [](const ModePreset& p) { return p.delay_ms; },
     .parse = [](const char* v, Options& o) { return parse_uint(v, 3600u * 1000u, &o.decommit_delay_ms); },
     .show = [](const Options& o, os::Line& l) { l.num(o.decommit_delay_ms); },
     .doc = "how long memory stays idle before it is released (ms)"},
    {.name = "HAKMEM_DECOMMIT_THREAD",
     .default_for = [](const ModePreset& p) { return p.decommit_thread; },
     .parse = [](const char* v, Options& o) { return parse_bool(v, &o.decommit_thread); },
     .show = [](const Options& o, os::Line& l) { l.num(o.decommit_thread); },
     .doc = "1: a background thread releases idle memory of an idle process (LEAN; default 1 in LEAN, 0 in FAST)"},
    {.name = "HAKMEM_ARENA_SIZE",
     .default_for = [](const ModePreset&) { return "32G"; },
     .parse = [](const char* v, Options& o) {
       uint64_t n;
       // Less than one SuperSlab would silently mean none: a bad value.
       if (!parse_size(v, &n) || n > kMaxArenaSize || (n != 0 && n < o.ss_size)) return false;
       o.arena_size = static_cast<size_t>(n);
       return true;
     },
     .show = [](const Options& o, os::Line& l) { l.num(o.arena_size); },
     .doc = "address space reserved for SuperSlabs, at least one SuperSlab and up to 16T (K/M/G/T suffix); 0: none, "
     "every SuperSlab mapped on its own. It commits no memory"},
    {.name = "HAKMEM_STATS",
     .default_for = [](const ModePreset&) { return "0"; },
     .parse = [](const char* v, Options& o) {
       o.stats_path[0] = '\0';
       if (v[0] != '/') return parse_bool(v, &o.stats);
       size_t n = std::strlen(v);
       if (n >= sizeof o.stats_path) return false;
       std::memcpy(o.stats_path, v, n + 1);
       return o.stats = true;
     },
     .show = [](const Options& o, os::Line& l) {
       if (o.stats_path[0]) l.str(o.stats_path);
       else l.num(o.stats);
     },
     .doc = "1: print options, statistics and an RSS breakdown to stderr at exit; an absolute path: append them "
     "to that file instead (for programs that close stderr)"},
};

const char* find_env(char* const* envp, const char* name) {
  if (!envp) return nullptr;
  size_t n = std::strlen(name);
  for (; *envp; ++envp)
    if (std::strncmp(*envp, name, n) == 0 && (*envp)[n] == '=') return *envp + n + 1;
  return nullptr;
}

void warn_bad(int fd, const char* name, const char* value, const char* dflt, const char* doc) {
  os::Line l;
  // A value too long for the line is cut, but the line stays one line.
  char shown[81];
  size_t n = std::strlen(value);
  std::memcpy(shown, value, n < 80 ? n : 80);
  shown[n < 80 ? n : 80] = '\0';
  l.str("hakmem: ignoring ").str(name).str("='").str(shown).str(n > 80 ? "...'" : "'").str(" (expected ").str(doc)
      .str("); using default ").str(dflt).end();
  l.write(fd);
}

}  // namespace

bool parse_bool(const char* s, bool* out) {
  if (ieq(s, "1") || ieq(s, "on") || ieq(s, "true") || ieq(s, "yes")) return *out = true, true;
  if (ieq(s, "0") || ieq(s, "off") || ieq(s, "false") || ieq(s, "no")) return *out = false, true;
  return false;
}

bool parse_uint(const char* s, uint64_t max, uint64_t* out) {
  if (!*s) return false;
  uint64_t v = 0;
  for (; *s; ++s) {
    if (*s < '0' || *s > '9') return false;
    uint64_t d = static_cast<uint64_t>(*s - '0');
    if (v > (max - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool parse_size(const char* s, uint64_t* out) {
  size_t n = std::strlen(s);
  if (n == 0) return false;
  unsigned shift = 0;
  char last = s[n - 1];
  if (last == 'k' || last == 'K') shift = 10;
  if (last == 'm' || last == 'M') shift = 20;
  if (last == 'g' || last == 'G') shift = 30;
  if (last == 't' || last == 'T') shift = 40;
  char digits[32];
  size_t dn = shift ? n - 1 : n;
  if (dn == 0 || dn >= sizeof digits) return false;
  std::memcpy(digits, s, dn);
  digits[dn] = '\0';
  uint64_t v;
  if (!parse_uint(digits, UINT64_MAX >> shift, &v)) return false;
  *out = v << shift;
  return true;
}

bool parse_ss_size(const char* s, size_t* out) {
  uint64_t v;
  if (!parse_size(s, &v)) return false;
  if (v < kMinSuperSlabSize || v > kMaxSuperSlabSize || (v & (v - 1)) != 0) return false;
  *out = static_cast<size_t>(v);
  return true;
}

bool parse_decommit_mode(const char* s, DecommitMode* out) {
  if (ieq(s, "FREE")) return *out = DecommitMode::ReleaseLazily, true;
  if (ieq(s, "DONTNEED")) return *out = DecommitMode::ReleaseNow, true;
  if (ieq(s, "OFF") || ieq(s, "0")) return *out = DecommitMode::Off, true;
  return false;
}

Options parse_options(char* const* envp, int err_fd, bool secure) {
  if (secure) envp = nullptr;
  Options o;
  o.lean = kDefaultLean;
  if (const char* v = find_env(envp, "HAKMEM_MEM_LEAN")) {
    if (!parse_bool(v, &o.lean)) warn_bad(err_fd, "HAKMEM_MEM_LEAN", v, kDefaultLean ? "1" : "0", "0 or 1");
  }
  const ModePreset& preset = o.lean ? kLeanPreset : kFastPreset;
  for (const OptionDesc& d : kOptions) {
    const char* dflt = d.default_for(preset);
    const char* v = find_env(envp, d.name);
    if (v && d.parse(v, o)) continue;
    if (v) warn_bad(err_fd, d.name, v, dflt, d.doc);
    d.parse(dflt, o);
  }
  // FAST never returns memory: the decommit stage is a LEAN setting.
  if (!o.lean) o.decommit = DecommitMode::Off;
  return o;
}

void print_options(const Options& o, int fd) {
  os::Line head;
  head.str("hakmem: mode ").str(o.lean ? "LEAN" : "FAST").chr('\n');
  head.write(fd);
  for (const OptionDesc& d : kOptions) {
    os::Line l;
    l.str("hakmem:   ").str(d.name).chr('=');
    d.show(o, l);
    l.chr('\n');
    l.write(fd);
  }
}

}  // namespace hakmem
