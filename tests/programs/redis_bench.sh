#!/usr/bin/env bash
# redis_bench.sh LIBHAKMEM: redis-server under LD_PRELOAD=libhakmem.so on a
# free loopback port; redis-benchmark (bounded in count and time) against it;
# values of assorted sizes written and read back; FLUSHALL; SHUTDOWN NOSAVE.
# Checks: every benchmark test reports a rate, round-trips are exact, the
# server exits with status 0, and at exit at most 16 MiB is still allocated.
# Skips (77) if redis-server / redis-cli / redis-benchmark are not installed.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
lib=$1
need_lib "$lib"
for t in redis-server redis-cli redis-benchmark; do
  command -v $t >/dev/null || skip "$t is not installed (Debian package redis-server / redis-tools)"
done
work=$(mktemp -d /tmp/hk_prog_redis.XXXXXX)
server=
cleanup() {
  if [[ -n $server ]] && kill -0 "$server" 2>/dev/null; then kill -9 "$server"; fi
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cli() { timeout 20 redis-cli -h 127.0.0.1 -p "$port" "$@"; }

HAKMEM_STATS=1 LD_PRELOAD="$lib" redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
  --daemonize no --dir "$work" --logfile "$work/log" >"$work/out" 2>"$work/err" &
server=$!
for _ in $(seq 100); do
  [[ $(cli ping 2>/dev/null) == PONG ]] && break
  kill -0 "$server" 2>/dev/null || { cat "$work/err" "$work/log" >&2; fail "redis-server exited during start-up"; }
  sleep 0.1
done
[[ $(cli ping 2>/dev/null) == PONG ]] || fail "redis-server did not answer PING on port $port"
grep -q '^hakmem' /proc/"$server"/maps 2>/dev/null || grep -q libhakmem /proc/"$server"/maps || fail "libhakmem.so is not mapped in redis-server"

start=$EPOCHREALTIME
timeout 120 redis-benchmark -h 127.0.0.1 -p "$port" -n 20000 -c 20 -r 5000 -d 200 -t set,get,lpush,lpop,incr,sadd,hset -q \
  >"$work/bench" 2>&1
rc=$?
tr '\r' '\n' <"$work/bench" | grep 'requests per second' | tee "$work/rates"
echo "redis-benchmark: exit $rc in $(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }') s"
(( rc == 0 )) || { cat "$work/bench" >&2; fail "redis-benchmark exited with status $rc"; }
for t in SET GET LPUSH LPOP INCR SADD HSET; do
  grep -q "^$t: [0-9.]* requests per second" "$work/rates" || fail "redis-benchmark reported no rate for $t"
done
kill -0 "$server" 2>/dev/null || fail "redis-server died during the benchmark"

# Round-trips of values of assorted sizes (small, medium, large allocations).
for n in 1 100 3000 40000 300000 2000000; do
  v=$(head -c $((n * 3 / 4 + 3)) /dev/urandom | base64 -w0 | head -c "$n")
  [[ $(printf %s "$v" | cli -x set "k$n" 2>&1) == OK ]] || fail "SET of a $n-byte value failed"
  [[ $(cli strlen "k$n") == "$n" ]] || fail "STRLEN of the $n-byte value is wrong"
  [[ $(cli get "k$n" | md5sum) == $(printf '%s\n' "$v" | md5sum) ]] || fail "GET of the $n-byte value returned other data"
done
keys=$(cli dbsize)
(( keys > 6 )) || fail "DBSIZE is $keys after the benchmark"
echo "dbsize after benchmark and round-trips: $keys"
[[ $(cli flushall) == OK ]] || fail "FLUSHALL failed"
cli shutdown nosave >/dev/null 2>&1
for _ in $(seq 100); do kill -0 "$server" 2>/dev/null || break; sleep 0.1; done
kill -0 "$server" 2>/dev/null && fail "redis-server did not exit after SHUTDOWN"
wait "$server"
rc=$?
server=
(( rc == 0 )) || { tail -20 "$work/log" >&2; fail "redis-server exited with status $rc"; }
grep -q 'ready to exit, bye bye' "$work/log" || fail "redis-server log shows no clean shutdown"
check_exit_stats "$work/err" $((16 << 10)) redis-server || fail "redis-server: allocated memory at exit above the bound"
echo PASS
