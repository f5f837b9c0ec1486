#!/usr/bin/env bash
# Builds and runs every test: the default build (all suites in FAST, LEAN and
# LEAN with 64 KiB SuperSlabs, preload tests with real programs), then the
# prefixed-API suites under ASan+UBSan and the stress tests under TSan.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n=== %s ===\n' "$*"; }

step "default build: configure, build, test"
cmake --workflow --preset test

step "ASan + UBSan (prefixed-API tests)"
cmake --preset asan >/dev/null
cmake --build --preset asan
ctest --preset asan -L 'sanitize'

step "TSan (stress tests)"
cmake --preset tsan >/dev/null
cmake --build --preset tsan
ctest --preset tsan -L 'tsan'

step "all test stages passed"
