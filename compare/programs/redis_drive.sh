#!/usr/bin/env bash
# redis_drive.sh: redis-server (under whatever allocator LD_PRELOAD names) on a free
# loopback port, driven by redis-benchmark (under glibc: LD_PRELOAD cleared for it) with a
# bounded count and time, then SHUTDOWN NOSAVE. Prints a RESULT line with the server's own
# peak RSS (VmHWM) and the benchmark's rates; compare/run_programs runs it with hakmem ab.
set -u
for t in redis-server redis-cli redis-benchmark; do
  command -v $t >/dev/null || { echo "$t is not installed (apt-get install redis-server redis-tools)" >&2; exit 3; }
done
requests=${REDIS_REQUESTS:-5000}
work=$(mktemp -d /tmp/hakmem-redis-ab.XXXXXX)
server=
cleanup() { [[ -n $server ]] && kill -9 "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
port=$(env -u LD_PRELOAD python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cli() { env -u LD_PRELOAD timeout 20 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$work" \
  --logfile "$work/log" &
server=$!
for _ in $(seq 100); do
  [[ $(cli ping 2>/dev/null) == PONG ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/log" >&2; echo "redis-server exited during start-up" >&2; exit 4; }
  sleep 0.05
done
env -u LD_PRELOAD timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n "$requests" -c 20 -r 100000 -d 256 \
  -t set,get,lpush,lpop,sadd,hset -q --csv >"$work/bench" 2>&1 || { cat "$work/bench" >&2; exit 5; }
hwm=$(awk '/^VmHWM:/ { print $2 }' /proc/"$server"/status)
rss=$(awk '/^VmRSS:/ { print $2 }' /proc/"$server"/status)
rates=$(awk -F, 'NR > 1 { gsub(/"/, ""); split($2, a, "."); printf " %s_rps=%s", tolower($1), a[1] }' "$work/bench")
cli shutdown nosave >/dev/null 2>&1
wait "$server"
rc=$?
server=
(( rc == 0 )) || { echo "redis-server exited with status $rc" >&2; exit 6; }
echo "RESULT server_peak_rss_kb=$hwm server_rss_kb=$rss$rates"
