#!/usr/bin/env bash
# install_test.sh BUILD_DIR SOURCE_DIR VERSION C_COMPILER
# Installs the build tree into a temporary prefix (cmake --install --prefix),
# checks what landed there, then builds tests/install/consumer against it
# twice, with CMake's find_package and with pkg-config, and runs the results.
set -euo pipefail
build=$1 src=$2 version=$3 cc=$4
major=${version%%.*}
fail() { echo "install_test: FAIL: $*" >&2; exit 1; }
command -v pkg-config >/dev/null || fail "pkg-config is not installed (Debian: pkgconf; .ci/run installs it)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
prefix=$tmp/prefix
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }

# What an installed hakmem consists of. The library directory is relative to
# the prefix (lib, or lib/<multiarch> for the /usr prefix).
libdir=$(dirname "$(find "$prefix" -name "libhakmem.so.$version" | head -1)")
[[ -f $libdir/libhakmem.so.$version ]] || fail "libhakmem.so.$version not installed"
for f in "$libdir/libhakmem.so.$major" "$libdir/libhakmem.so"; do
  [[ -L $f ]] || fail "$f is not a symlink"
done
[[ $(readlink "$libdir/libhakmem.so") == "libhakmem.so.$major" ]] || fail "libhakmem.so does not point at the soname"
soname=$(readelf -d "$libdir/libhakmem.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[[ $soname == "libhakmem.so.$major" ]] || fail "SONAME is '$soname', want libhakmem.so.$major"
[[ -f $libdir/libhakmem.a ]] || fail "libhakmem.a not installed"
nm -D --defined-only "$libdir/libhakmem.so.$version" | grep -qw malloc || fail "libhakmem.so does not export malloc"
if nm --defined-only "$libdir/libhakmem.a" 2>/dev/null | grep -qE ' T (malloc|free)$'; then
  fail "libhakmem.a defines malloc/free: the static library must hold the hk_* API only"
fi
cmp -s "$src/include/hakmem.h" "$prefix/include/hakmem.h" || fail "include/hakmem.h not installed"
for f in hakmem-config.cmake hakmem-config-version.cmake hakmem-targets.cmake; do
  [[ -f $libdir/cmake/hakmem/$f ]] || fail "$libdir/cmake/hakmem/$f not installed"
done
[[ -f $libdir/pkgconfig/hakmem.pc ]] || fail "hakmem.pc not installed"
man3=$prefix/share/man/man3/hakmem.3.gz
[[ -f $man3 ]] || fail "man page hakmem(3) not installed"
warnings=$(gzip -dc "$man3" | groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on hakmem.3"
[[ -z $warnings ]] || fail "hakmem.3 has roff warnings: $warnings"
# The installed tree must not point back into the build or source tree.
if grep -rlF -e "$build" -e "$src" "$libdir/cmake" "$libdir/pkgconfig" >/dev/null; then
  fail "installed CMake/pkg-config files name the build or source tree"
fi

# The launcher, installed beside the library, preloads that library.
[[ -x $prefix/bin/hakmem ]] || fail "bin/hakmem not installed"
[[ -f $prefix/share/man/man1/hakmem.1.gz ]] || fail "man page hakmem(1) not installed"
bash "$src/tests/install/run_launcher.sh" "$prefix/bin/hakmem" || fail "the launcher installed in $prefix"

run_consumer() {  # run_consumer BINARY KIND [env...]
  local bin=$1 kind=$2; shift 2
  local out
  out=$(env "$@" "$bin" "$kind" "$prefix" 2>&1) || { echo "$out" >&2; fail "$bin $kind failed"; }
  echo "$out"
}

# 1. CMake: find_package(hakmem VERSION CONFIG) through CMAKE_PREFIX_PATH.
cmake -S "$src/tests/install/consumer" -B "$tmp/cmake-build" -DCMAKE_C_COMPILER="$cc" \
  -DCMAKE_PREFIX_PATH="$prefix" -DHAKMEM_WANT="$version" -DCMAKE_BUILD_TYPE=Release \
  >"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "consumer: cmake configure"; }
cmake --build "$tmp/cmake-build" >>"$tmp/cmake.log" 2>&1 || { cat "$tmp/cmake.log"; fail "consumer: cmake build"; }
# The imported target's location is in the build RPATH: no LD_LIBRARY_PATH.
run_consumer "$tmp/cmake-build/consumer_shared" shared
run_consumer "$tmp/cmake-build/consumer_static" static
# A version the package does not offer must be refused.
if cmake -S "$src/tests/install/consumer" -B "$tmp/cmake-wrong" -DCMAKE_C_COMPILER="$cc" \
     -DCMAKE_PREFIX_PATH="$prefix" -DHAKMEM_WANT=$((major + 1)).0 >"$tmp/wrong.log" 2>&1; then
  fail "find_package(hakmem $((major + 1)).0) succeeded against $version"
fi
grep -q "hakmem-config.cmake, version: $version" "$tmp/wrong.log" || { cat "$tmp/wrong.log"; fail "the refusal does not name the installed version"; }

# 2. pkg-config: the .pc file finds its prefix from its own location.
export PKG_CONFIG_PATH=$libdir/pkgconfig
[[ $(pkg-config --modversion hakmem) == "$version" ]] || fail "pkg-config --modversion hakmem != $version"
pc_libdir=$(pkg-config --variable=libdir hakmem)
[[ $(realpath "$pc_libdir") == "$(realpath "$libdir")" ]] || fail "pkg-config libdir $pc_libdir is not $libdir"
# shellcheck disable=SC2046
"$cc" -O2 -o "$tmp/consumer_pc" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs hakmem) \
  || fail "consumer: build with pkg-config"
readelf -d "$tmp/consumer_pc" | grep -q "NEEDED.*\[libhakmem.so.$major\]" || fail "consumer_pc does not need libhakmem.so.$major"
run_consumer "$tmp/consumer_pc" shared LD_LIBRARY_PATH="$libdir"
# HAKMEM_STATS names the version first.
report=$(run_consumer "$tmp/consumer_pc" shared LD_LIBRARY_PATH="$libdir" HAKMEM_STATS=1)
grep -qx "hakmem: version $version" <<<"$report" || { echo "$report" >&2; fail "HAKMEM_STATS does not print 'hakmem: version $version'"; }
# Static through pkg-config: the archive by path, its private libraries from --static.
# shellcheck disable=SC2046
"$cc" -O2 -o "$tmp/consumer_pc_static" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags hakmem) \
  "$libdir/libhakmem.a" $(pkg-config --static --libs-only-other hakmem) || fail "consumer: static build with pkg-config"
run_consumer "$tmp/consumer_pc_static" static
echo "install_test: ok (hakmem $version installed into a temporary prefix, consumers built with CMake and pkg-config)"
