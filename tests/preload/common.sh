# Sourced by the preload test scripts.
# run_preloaded LIB cmd...: run cmd with LD_PRELOAD=LIB (and nothing else preloaded).
run_preloaded() {
  local lib=$1
  shift
  LD_PRELOAD="$lib" "$@"
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
need_lib() {
  [[ -f "$1" ]] || fail "library '$1' does not exist"
}
# use_tmpdir: $tmp, a directory removed when the script exits.
use_tmpdir() {
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
}
