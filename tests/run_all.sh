#!/usr/bin/env bash
# Builds and runs every test: the default build (all suites in FAST, LEAN and
# LEAN with 64 KiB SuperSlabs, preload tests with real programs), then the
# prefixed-API suites under ASan+UBSan and the stress tests under TSan.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "default build: configure, build, test"
cmake --workflow --preset test

# RSS thresholds mean nothing under a sanitizer (shadow memory, ASan's
# quarantine): the tests that assert them run in the default build above.
rss_tests='lean_rss|fast_rss|page_release'
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

step "all test stages passed"
