#!/usr/bin/env bash
# Builds and runs every test: the default build (all suites in FAST, LEAN and
# LEAN with 64 KiB SuperSlabs, preload tests with real programs, the launcher),
# then the prefixed-API suites under ASan+UBSan and the stress tests under TSan.
#
# Run as root it first installs the Debian packages the tests need (apt-get);
# otherwise, or with --no-install, it says which ones are missing and what will
# not build or be skipped without them. It ends with the list of every skipped
# test and why.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

install=1
for arg in "$@"; do
  case $arg in
    --no-install) install=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "tests/run_all.sh: unknown argument $arg (--no-install, --help)" >&2; exit 2 ;;
  esac
done

# Debian package -> what needs it (shown when it cannot be installed).
declare -A needed_by=(
  [cmake]="the build (required)"           [g++]="the build (required)"
  [make]="the build (required)"            [python3]="the build, launcher and runner tests (required)"
  [libgtest-dev]="unit and functional tests (required)"
  [clang]="the libFuzzer target"           [libclang-rt-14-dev]="the libFuzzer target"
  [gnuplot-nox]="plots of compare.runner and launcher.ab (skipped without it)"
  [libmimalloc-dev]="mimalloc rows of the comparison"  [libjemalloc-dev]="jemalloc rows of the comparison"
  [redis-server]="programs.redis (skipped without it)" [redis-tools]="programs.redis (skipped without it)"
  [binutils]="readelf/nm checks of libhakmem.so"       [procps]="ps in the preload tests"
  [coreutils]="sort in the preload tests"
  [valgrind]="compare/profile (callgrind) in compare.runner"
  [pkgconf]="install.consumer (pkg-config)"  [dpkg-dev]="package.deb (dpkg-shlibdeps)"
  [man-db]="package.deb_install (man -w)"   [groff-base]="man page checks in install and package tests"
  [gzip]="man pages (the build)"
)
packages=(cmake g++ make python3 libgtest-dev clang libclang-rt-14-dev gnuplot-nox
          libmimalloc-dev libjemalloc-dev redis-server redis-tools binutils procps coreutils valgrind
          pkgconf dpkg-dev man-db groff-base gzip)

missing_packages() {
  local p
  for p in "${packages[@]}"; do
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]] || echo "$p"
  done
}

step "Debian packages"
if ! command -v dpkg-query >/dev/null; then
  echo "dpkg-query not found (not Debian?): cannot check for ${packages[*]}"
else
  mapfile -t missing < <(missing_packages)
  if (( ${#missing[@]} )) && (( install )) && [[ $(id -u) == 0 ]]; then
    echo "installing with apt-get: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || echo "apt-get update failed; trying the install with the current lists"
    apt-get install -y -q --no-install-recommends "${missing[@]}" || echo "apt-get install failed (see above)"
    mapfile -t missing < <(missing_packages)
  elif (( ${#missing[@]} )); then
    (( install )) && echo "not root: cannot install packages" || echo "--no-install: not installing packages"
  fi
  if (( ${#missing[@]} )); then
    echo "NOT INSTALLED (install them with: apt-get install ${missing[*]}):"
    for p in "${missing[@]}"; do echo "  $p: needed by ${needed_by[$p]:-the tests}"; done
  else
    echo "all ${#packages[@]} packages are installed"
  fi
fi

# The summary of skipped tests is printed however the run ends.
junit=(default=build/default/ctest-junit.xml asan=build/asan/ctest-junit.xml tsan=build/tsan/ctest-junit.xml)
rm -f build/default/ctest-junit.xml build/asan/ctest-junit.xml build/tsan/ctest-junit.xml
summary() {
  local rc=$?
  step "summary"
  python3 tests/skipped_summary.py "${junit[@]}" || true
  (( rc == 0 )) && echo "all test stages passed" || echo "FAILED (exit status $rc): see the output above"
}
trap summary EXIT

step "default build: configure, build, test"
cmake --workflow --preset test

# RSS thresholds mean nothing under a sanitizer (shadow memory, ASan's
# quarantine): the tests that assert them run in the default build above.
rss_tests='lean_rss|fast_rss|page_release|release_patterns|trim_threshold|functional.budget'
rss_cases='-Threads.ManyShortLivedThreadsDoNotLeak'

step "ASan + UBSan (prefixed-API tests; preload tests are not built here)"
cmake --preset asan >/dev/null
cmake --build --preset asan
# Death-test children and forked children exit without freeing the test's
# own containers: leak reports there are not about hakmem.
ASAN_OPTIONS=detect_leaks=0 GTEST_FILTER="$rss_cases" ctest --preset asan -E "$rss_tests"

step "TSan (stress tests)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan -L stress
