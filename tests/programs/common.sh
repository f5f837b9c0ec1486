# Sourced by the tests/programs scripts.
fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "SKIP: $*" >&2; exit 77; }
need_lib() { [[ -f "$1" ]] || fail "library '$1' does not exist"; }

# check_exit_stats FILE MAX_KIB WHAT: FILE holds the stderr of one or more
# processes run with HAKMEM_STATS=1. There must be at least one statistics
# block (proof that hakmem was preloaded and initialised), and in every block
# live_small_objects + live_large (what was still allocated at exit) must be
# at most MAX_KIB.
check_exit_stats() {
  local file=$1 max=$2 what=$3
  awk -v max="$max" -v what="$what" '
    /^hakmem: *live_small_objects / { small = $3; have_small = 1 }
    /^hakmem: *live_large / {
      if (!have_small) next
      n++; total = small + $3
      printf "%s: process %d at exit: live_small_objects %d KiB, live_large %d KiB\n", what, n, small, $3
      if (total > max) { bad++; printf "%s: process %d leaves %d KiB allocated at exit (bound %d KiB)\n", what, n, total, max > "/dev/stderr" }
      have_small = 0
    }
    END {
      if (n == 0) { print what ": no HAKMEM_STATS output: libhakmem.so was not preloaded or did not initialise" > "/dev/stderr"; exit 1 }
      exit bad ? 1 : 0
    }' "$file"
}
