#!/usr/bin/env bash
# deb_build.sh SOURCE_DIR OUT_DIR VERSION C_COMPILER CXX_COMPILER
# Builds the Debian package as a user would (a Release tree configured for
# the /usr prefix, then cpack -G DEB) into OUT_DIR, and checks its control
# data and contents with dpkg-deb. Then runs the launcher and the library
# from the unpacked tree, which needs no root. package.deb_install installs
# the package it leaves in OUT_DIR.
set -euo pipefail
src=$1 out=$2 version=$3 cc=$4 cxx=$5
major=${version%%.*}
fail() { echo "deb_build: FAIL: $*" >&2; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps cpack readelf; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (Debian: dpkg, dpkg-dev, cmake, binutils; .ci/run installs them)"
done
multiarch=$("$cc" -print-multiarch)
[[ -n $multiarch ]] || fail "$cc -print-multiarch printed nothing"
arch=$(dpkg --print-architecture)

rm -rf "$out"
mkdir -p "$out"
build=$out/build
cmake -S "$src" -B "$build" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX=/usr -DHAKMEM_BUILD_TESTS=OFF -DHAKMEM_BUILD_COMPARE=OFF >"$out/build.log" 2>&1 \
  || { cat "$out/build.log"; fail "configure"; }
cmake --build "$build" -j2 >>"$out/build.log" 2>&1 || { tail -40 "$out/build.log"; fail "build"; }
(cd "$build" && cpack -G DEB -B "$out/pkg") >"$out/cpack.log" 2>&1 || { cat "$out/cpack.log"; fail "cpack -G DEB"; }
deb=$out/pkg/hakmem_${version}_${arch}.deb
[[ -f $deb ]] || { ls -l "$out/pkg" >&2; fail "no $deb"; }
cp "$deb" "$out/hakmem.deb"

# Control data.
field() { dpkg-deb -f "$deb" "$1"; }
[[ $(field Package) == hakmem ]] || fail "Package is '$(field Package)'"
[[ $(field Version) == "$version" ]] || fail "Version is '$(field Version)', want $version"
[[ $(field Architecture) == "$arch" ]] || fail "Architecture is '$(field Architecture)', want $arch"
[[ $(field Depends) =~ libc6\ \(\>=\ [0-9.]+\) ]] || fail "Depends '$(field Depends)' has no versioned libc6 (dpkg-shlibdeps)"
ctl=$out/control
dpkg-deb -e "$deb" "$ctl"
grep -qx "libhakmem $major hakmem (>= $version)" "$ctl/shlibs" || fail "shlibs: $(cat "$ctl/shlibs")"
grep -q ldconfig "$ctl/postinst" || fail "postinst does not run ldconfig"
grep -q ldconfig "$ctl/postrm" || fail "postrm does not run ldconfig"

# Contents: every file under /usr, owned by root, and the ones a user expects.
listing=$(dpkg-deb -c "$deb")
if awk '{ print $2 }' <<<"$listing" | grep -vqx root/root; then fail "files not owned by root/root"; fi
if awk '{ print $6 }' <<<"$listing" | grep -vq '^\./usr/'; then fail "files outside /usr: $(awk '{ print $6 }' <<<"$listing" | grep -v '^\./usr/')"; fi
lib=usr/lib/$multiarch
expect=(
  "./$lib/libhakmem.so.$version"
  "./$lib/libhakmem.so.$major -> libhakmem.so.$version"
  "./$lib/libhakmem.so -> libhakmem.so.$major"
  "./$lib/libhakmem.a"
  "./usr/include/hakmem.h"
  "./$lib/cmake/hakmem/hakmem-config.cmake"
  "./$lib/cmake/hakmem/hakmem-config-version.cmake"
  "./$lib/cmake/hakmem/hakmem-targets.cmake"
  "./$lib/pkgconfig/hakmem.pc"
  "./usr/share/man/man3/hakmem.3.gz"
)
launcher=0
if [[ -f $src/launcher/CMakeLists.txt ]]; then
  launcher=1
  expect+=("./usr/bin/hakmem" "./usr/share/man/man1/hakmem.1.gz")
else
  echo "deb_build: no launcher/ in this tree: the package is checked without bin/hakmem"
fi
for e in "${expect[@]}"; do
  grep -qF -- " $e" <<<"$listing" || fail "not in the package: $e"
done
[[ $(awk -v f="./$lib/libhakmem.so.$version" '$6 == f { print $3 }' <<<"$listing") -gt 10000 ]] || fail "libhakmem.so.$version is too small"

# Unpacked (no root needed): nothing names the build tree, the .pc and the
# CMake package find /usr, the library preloads and reports.
root=$out/root
dpkg-deb -x "$deb" "$root"
if grep -rlF "$out" "$root" >/dev/null; then fail "the package names the build tree: $(grep -rlF "$out" "$root")"; fi
grep -q '^prefix=${pcfiledir}/../../..$' "$root/$lib/pkgconfig/hakmem.pc" || fail "hakmem.pc prefix: $(grep ^prefix "$root/$lib/pkgconfig/hakmem.pc")"
[[ $(PKG_CONFIG_PATH=$root/$lib/pkgconfig pkg-config --variable=libdir hakmem | xargs realpath) == "$(realpath "$root/$lib")" ]] \
  || fail "hakmem.pc does not find its libdir in the unpacked tree"
report=$(HAKMEM_STATS=1 LD_PRELOAD="$root/$lib/libhakmem.so.$major" python3 -c pass 2>&1) || fail "python3 under the packaged library failed"
grep -q '^hakmem: RSS breakdown' <<<"$report" || { echo "$report" >&2; fail "no HAKMEM_STATS report from the packaged library"; }
warnings=$(gzip -dc "$root/usr/share/man/man3/hakmem.3.gz" | groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on hakmem.3"
[[ -z $warnings ]] || fail "hakmem.3: $warnings"
if ((launcher)); then
  [[ -x $root/usr/bin/hakmem ]] || fail "usr/bin/hakmem is not executable"
  warnings=$(gzip -dc "$root/usr/share/man/man1/hakmem.1.gz" | groff -man -Tutf8 -ww -z 2>&1) || fail "groff failed on hakmem.1"
  [[ -z $warnings ]] || fail "hakmem.1: $warnings"
  bash "$src/tests/install/run_launcher.sh" "$root/usr/bin/hakmem" || fail "the unpacked launcher"
fi
echo "deb_build: ok: $(basename "$deb"): $(grep -c . <<<"$listing") entries, Depends: $(field Depends)"
