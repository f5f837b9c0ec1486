#!/usr/bin/env bash
# deb_install.sh DEB SOURCE_DIR C_COMPILER
# As root: installs the package deb_build.sh made with dpkg -i, checks what a
# user of the installed package relies on (ldconfig finds the soname, pkg-config
# and find_package find hakmem with no paths given, man finds the page, the
# launcher runs from /usr/bin), then removes it again. Not root: exit 77 (skip)
# with the reason.
set -euo pipefail
deb=$1 src=$2 cc=$3
skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "deb_install: FAIL: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || skip "dpkg -i needs root (the package's contents were checked by package.deb)"
command -v dpkg >/dev/null || skip "dpkg is not installed (not a Debian system)"
[[ -f $deb ]] || fail "no package at $deb (package.deb builds it)"

# One run at a time on this machine (several build trees may run it), and a
# hakmem installed by someone else is left alone. The marker tells a package
# an earlier run of this test left behind (killed mid-way) from a user's.
exec 9>/run/lock/hakmem-deb-test.lock
flock -w 600 9 || fail "another package.deb_install held the lock for 10 minutes"
marker=/var/lib/hakmem-deb-test.installed
if dpkg-query -W -f='${Status}' hakmem 2>/dev/null | grep -q 'install ok installed' && [[ ! -e $marker ]]; then
  skip "a hakmem package ($(dpkg-query -W -f='${Version}' hakmem)) is installed on this machine and not by this test: not replacing it"
fi

dpkg_retry() {  # dpkg waits for no other dpkg/apt: retry while its lock is held
  local i
  for i in $(seq 60); do
    if out=$(dpkg "$@" 2>&1); then return 0; fi
    grep -qi 'lock' <<<"$out" || { echo "$out" >&2; return 1; }
    sleep 2
  done
  echo "$out" >&2
  return 1
}
tmp=$(mktemp -d)
cleanup() {
  dpkg_retry --purge hakmem || echo "deb_install: could not remove the hakmem package" >&2
  rm -f "$marker"
  rm -rf "$tmp"
}
touch "$marker"
trap cleanup EXIT
dpkg_retry -i "$deb" || fail "dpkg -i $deb"
version=$(dpkg-deb -f "$deb" Version)
major=${version%%.*}
[[ $(dpkg-query -W -f='${Status} ${Version}' hakmem) == "install ok installed $version" ]] || fail "dpkg does not list hakmem $version as installed"
multiarch=$("$cc" -print-multiarch)
lib=/usr/lib/$multiarch/libhakmem.so.$major

# The listing is read whole first: with pipefail, grep -q quitting at its
# match while ldconfig still writes made ldconfig die of SIGPIPE and the
# check fail now and then.
grep -qF "libhakmem.so.$major (" <<<"$(ldconfig -p)" || fail "ldconfig does not know libhakmem.so.$major"
grep -q "/usr/share/man/man3/hakmem.3" <<<"$(man -w 3 hakmem)" || fail "man -w 3 hakmem: $(man -w 3 hakmem 2>&1)"
[[ $(pkg-config --modversion hakmem) == "$version" ]] || fail "pkg-config --modversion hakmem: $(pkg-config --modversion hakmem 2>&1)"

# Consumers of the system install: no prefix, no LD_LIBRARY_PATH.
"$cc" -O2 -o "$tmp/consumer_pc" "$src/tests/install/consumer/consumer.c" $(pkg-config --cflags --libs hakmem) \
  || fail "build a consumer with pkg-config against /usr"
"$tmp/consumer_pc" shared /usr || fail "the pkg-config consumer against /usr"
cmake -S "$src/tests/install/consumer" -B "$tmp/cmake-build" -DCMAKE_C_COMPILER="$cc" -DHAKMEM_WANT="$version" \
  >"$tmp/cmake.log" 2>&1 && cmake --build "$tmp/cmake-build" >>"$tmp/cmake.log" 2>&1 \
  || { cat "$tmp/cmake.log" >&2; fail "build a consumer with find_package against /usr"; }
"$tmp/cmake-build/consumer_shared" shared /usr || fail "the CMake consumer against /usr (shared)"
"$tmp/cmake-build/consumer_static" static /usr || fail "the CMake consumer against /usr (static)"

report=$(HAKMEM_STATS=1 LD_PRELOAD=libhakmem.so.$major python3 -c pass 2>&1) || fail "python3 with LD_PRELOAD=libhakmem.so.$major"
grep -q '^hakmem: RSS breakdown' <<<"$report" || fail "no report from LD_PRELOAD=libhakmem.so.$major (found by ld.so's cache)"

if [[ -f $src/launcher/CMakeLists.txt ]]; then
  [[ -x /usr/bin/hakmem ]] || fail "/usr/bin/hakmem not installed"
  bash "$src/tests/install/run_launcher.sh" /usr/bin/hakmem || fail "/usr/bin/hakmem"
else
  echo "deb_install: no launcher/ in this tree: /usr/bin/hakmem not checked"
fi

trap - EXIT
cleanup
[[ ! -e $lib ]] || fail "dpkg --purge left $lib behind"
echo "deb_install: ok (installed hakmem $version with dpkg -i, used it from /usr, removed it)"
