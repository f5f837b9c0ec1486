#!/usr/bin/env bash
# cmake --version and g++ compiling a small C++ file with the library preloaded.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
need_lib "$lib"
use_tmpdir

ref=$(cmake --version)
out=$(run_preloaded "$lib" cmake --version)
[[ -n $ref && $out == "$ref" ]] || fail "cmake --version: '$out' vs '$ref'"

cat >"$tmp/hello.cpp" <<'CPP'
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>
#include <string>
#include <vector>
int main() {
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 1);
  std::map<std::string, long> m;
  for (int x : v) m[std::to_string(x % 17)] += x;
  long s = 0;
  for (auto& [k, x] : m) s += x * static_cast<long>(k.size());
  std::cout << "sum " << std::accumulate(v.begin(), v.end(), 0L) << " weighted " << s << "\n";
}
CPP
# The driver, cc1plus, as and ld all run with the library preloaded (LD_PRELOAD is inherited).
run_preloaded "$lib" g++ -std=c++20 -O2 -o "$tmp/hello" "$tmp/hello.cpp"
got=$("$tmp/hello")
g++ -std=c++20 -O2 -o "$tmp/hello_ref" "$tmp/hello.cpp"
want=$("$tmp/hello_ref")
[[ $got == "$want" && $want == "sum 500500 "* ]] || fail "compiled program output '$got' vs '$want'"
# The objects must be identical too (the compiler is deterministic).
run_preloaded "$lib" g++ -std=c++20 -O2 -c -o "$tmp/a.o" "$tmp/hello.cpp"
g++ -std=c++20 -O2 -c -o "$tmp/b.o" "$tmp/hello.cpp"
cmp -s "$tmp/a.o" "$tmp/b.o" || fail "object files differ under preload"
# A shell: fork/exec, pipelines, subshells, with the library preloaded.
got=$(run_preloaded "$lib" bash -c 'x=""; for i in $(seq 1 3000); do x+="$i,"; done; echo ${#x}; seq 1 20000 | sort -rn | head -1; (for i in 1 2 3; do echo $((i*i)) & done; wait) | sort -n | tr "\n" " "')
want=$(bash -c 'x=""; for i in $(seq 1 3000); do x+="$i,"; done; echo ${#x}; seq 1 20000 | sort -rn | head -1; (for i in 1 2 3; do echo $((i*i)) & done; wait) | sort -n | tr "\n" " "')
[[ $got == "$want" && -n $want ]] || fail "bash output '$got' vs '$want'"
echo "ok: tools"
