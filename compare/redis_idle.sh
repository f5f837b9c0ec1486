#!/usr/bin/env bash
# redis_idle.sh [--reps N] [--keys N] [--idle-secs S] [--lib PATH] [--out FILE]
#
# A real server after its burst (issue 11, pattern 3): redis-server on a free
# loopback port, N SETs of 100-byte values (distinct keys, pipelined with
# redis-cli --pipe), FLUSHALL, then S seconds of idle. Samples the server's
# RSS and RSS - LazyFree (/proc/PID/smaps_rollup) after the SETs, right after
# FLUSHALL and every half second of the idle period. Rows, interleaved per
# repetition so drifts of a noisy machine hit all alike:
#   redis-jemalloc       redis as Debian ships it (linked with jemalloc, which
#                        redis tunes to purge in the background)
#   hakmem-lean          LD_PRELOAD=libhakmem.so HAKMEM_MEM_LEAN=1
#   hakmem-lean-dontneed ... HAKMEM_MEM_LEAN_DECOMMIT=DONTNEED
#   hakmem-lean-thread   ... HAKMEM_DECOMMIT_THREAD=1
#   hakmem-fast          LD_PRELOAD=libhakmem.so HAKMEM_MEM_LEAN=0
# Writes a Markdown table (medians over the repetitions) to --out (default
# compare/results/latest/redis-idle.md) and prints it. Bounded: every client
# call has a timeout; the server is killed on exit. Needs redis-server and
# redis-cli (Debian packages redis-server, redis-tools).
set -u
here=$(cd "$(dirname "$0")" && pwd)
reps=3 keys=500000 idle=5 lib=$here/../build/release/libhakmem.so out=$here/results/latest/redis-idle.md
while (($#)); do
  case $1 in
    --reps) reps=$2; shift 2 ;;
    --keys) keys=$2; shift 2 ;;
    --idle-secs) idle=$2; shift 2 ;;
    --lib) lib=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    *) echo "redis_idle.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
for t in redis-server redis-cli python3; do
  command -v $t >/dev/null || { echo "redis_idle.sh: $t is not installed (apt-get install redis-server redis-tools)" >&2; exit 77; }
done
[[ -f $lib ]] || { echo "redis_idle.sh: $lib not found (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
lib=$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")

work=$(mktemp -d /tmp/hk_redis_idle.XXXXXX)
server=
cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then kill -9 "$server"; fi
  rm -rf "$work"
}
trap cleanup EXIT

rows=(redis-jemalloc hakmem-lean hakmem-lean-dontneed hakmem-lean-thread hakmem-fast)
row_env() {
  case $1 in
    redis-jemalloc) echo "" ;;
    hakmem-lean) echo "LD_PRELOAD=$lib HAKMEM_MEM_LEAN=1" ;;
    hakmem-lean-dontneed) echo "LD_PRELOAD=$lib HAKMEM_MEM_LEAN=1 HAKMEM_MEM_LEAN_DECOMMIT=DONTNEED" ;;
    hakmem-lean-thread) echo "LD_PRELOAD=$lib HAKMEM_MEM_LEAN=1 HAKMEM_DECOMMIT_THREAD=1" ;;
    hakmem-fast) echo "LD_PRELOAD=$lib HAKMEM_MEM_LEAN=0" ;;
  esac
}

# RSS and RSS - LazyFree of a process in kB: "rss net".
mem_of() {
  awk '/^Rss:/ { r = $2 } /^LazyFree:/ { l = $2 } END { print r, r - l }' "/proc/$1/smaps_rollup"
}

# The SET commands in the redis protocol: key:<i> and a 100-byte value.
python3 - "$keys" >"$work/sets.resp" <<'EOF'
import sys
n = int(sys.argv[1])
out = sys.stdout.buffer
value = b"v" * 100
for i in range(n):
    key = b"key:%d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$100\r\n%s\r\n" % (len(key), key, value))
EOF

one_run() {  # row rep -> appends "row rep phase t rss net" lines to $work/samples
  local row=$1 rep=$2 port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  env -u LD_PRELOAD $(row_env "$row") redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$work" --logfile "$work/log.$row" >/dev/null 2>&1 &
  server=$!
  local cli=(timeout 60 redis-cli -h 127.0.0.1 -p "$port")
  for _ in $(seq 100); do [[ $("${cli[@]}" ping 2>/dev/null) == PONG ]] && break; sleep 0.1; done
  [[ $("${cli[@]}" ping 2>/dev/null) == PONG ]] || { echo "redis_idle.sh: $row: server did not start" >&2; return 1; }
  "${cli[@]}" --pipe <"$work/sets.resp" >"$work/pipe.$row" 2>&1 || { cat "$work/pipe.$row" >&2; return 1; }
  local n; n=$("${cli[@]}" dbsize)
  ((n == keys)) || { echo "redis_idle.sh: $row: dbsize $n, expected $keys" >&2; return 1; }
  echo "$row $rep sets 0 $(mem_of "$server")" >>"$work/samples"
  [[ $("${cli[@]}" flushall sync) == OK ]] || { echo "redis_idle.sh: $row: FLUSHALL failed" >&2; return 1; }
  local start=$EPOCHREALTIME
  echo "$row $rep flushall 0 $(mem_of "$server")" >>"$work/samples"
  local steps=$(awk -v s="$idle" 'BEGIN { print int(s * 2 + 0.5) }')
  for ((i = 1; i <= steps; ++i)); do
    sleep "$(awk -v a="$start" -v b="$EPOCHREALTIME" -v t="$i" 'BEGIN { d = t * 0.5 - (b - a); print (d > 0 ? d : 0) }')"
    echo "$row $rep idle $(awk -v t="$i" 'BEGIN { print t * 0.5 }') $(mem_of "$server")" >>"$work/samples"
  done
  "${cli[@]}" shutdown nosave >/dev/null 2>&1
  for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$server" 2>/dev/null
  wait "$server" 2>/dev/null
  server=
}

: >"$work/samples"
for ((rep = 0; rep < reps; ++rep)); do
  for row in "${rows[@]}"; do
    echo "redis_idle.sh: rep $((rep + 1))/$reps $row" >&2
    one_run "$row" "$rep" || exit 1
  done
done

python3 - "$work/samples" "$keys" "$idle" "$reps" >"$work/table.md" <<'EOF'
import statistics, sys
path, keys, idle, reps = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
samples = {}
order = []
for line in open(path):
    row, rep, phase, t, rss, net = line.split()
    if row not in order:
        order.append(row)
    samples.setdefault((row, phase, float(t)), []).append((int(rss), int(net)))
def med(row, phase, t, i):
    v = samples.get((row, phase, t))
    return f"{statistics.median(x[i] for x in v) / 1024:.1f}" if v else "–"
cols = [("sets", 0.0), ("flushall", 0.0), ("idle", 1.0), ("idle", idle)]
head = ["row", "after SETs RSS", "after SETs RSS−LazyFree", "after FLUSHALL RSS−LazyFree",
        "idle 1 s RSS", "idle 1 s RSS−LazyFree", f"idle {idle:g} s RSS", f"idle {idle:g} s RSS−LazyFree"]
print(f"redis-server after {keys:,} SETs of 100-byte values, FLUSHALL, then {idle:g} s of idle "
      f"(MB, medians of {reps} runs, interleaved; `compare/redis_idle.sh`).\n")
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for row in order:
    cells = [row, med(row, "sets", 0.0, 0), med(row, "sets", 0.0, 1), med(row, "flushall", 0.0, 1),
             med(row, "idle", 1.0, 0), med(row, "idle", 1.0, 1), med(row, "idle", idle, 0), med(row, "idle", idle, 1)]
    print("| " + " | ".join(cells) + " |")
EOF
mkdir -p "$(dirname "$out")"
cp "$work/table.md" "$out"
cp "$work/samples" "${out%.md}.samples"
cat "$out"
