#!/bin/bash
# The redis-host suite: gnet_redis.so's RESP port against the native port
# of the same redis-server, under the same redis-benchmark load, one
# after the other. Reports requests per second and the CPU the server's
# main thread spent per request (from /proc/PID/task/PID/schedstat: the
# main thread's tid is the pid) -- on the gnet port the main thread runs
# only the commands, so the difference is what RedisModule_Call and the
# hop cost.
#
#   bash bench/redis_host.sh            (make bench runs it as redis-host)
#   REQUESTS=400000 PIPELINE=16 CLIENTS=50 LOOPS=(cores - 1) TESTS=set,get,... REPEATS=3
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

REQUESTS=${REQUESTS:-400000}
PIPELINE=${PIPELINE:-16}
CLIENTS=${CLIENTS:-50}
# One loop per core but the one the main thread needs (the module's default).
LOOPS=${LOOPS:-$(( $(nproc) > 1 ? $(nproc) - 1 : 1 ))}
TESTS=${TESTS:-ping,set,get,incr,lpush,mset}
REPEATS=${REPEATS:-3}
SO=${SO:-build/release/redis/gnet_redis.so}

for t in redis-server redis-benchmark redis-cli; do
	command -v $t >/dev/null || { echo "redis_host: $t is not installed (scripts/deps.sh)" >&2; exit 0; }
done
[ -f "$SO" ] || { echo "redis_host: $SO is missing (make redis)" >&2; exit 1; }

dir=$(mktemp -d)
native=$((21000 + RANDOM % 4000))
gport=$((native + 1))
redis-server --port "$native" --bind 127.0.0.1 --save "" --appendonly no \
	--dir "$dir" --daemonize no --loadmodule "$PWD/$SO" loops "$LOOPS" \
	listen "tcp://127.0.0.1:$gport" >"$dir/log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	redis-cli -p "$gport" ping >/dev/null 2>&1 && break
	sleep 0.1
done

main_cpu_ns() { awk '{print $1}' "/proc/$pid/task/$pid/schedstat"; }

# One run: "rps" per test, and the main thread's ns per request.
run() {
	local port=$1 t0 t1 out
	t0=$(main_cpu_ns)
	out=$(redis-benchmark -p "$port" -t "$TESTS" -P "$PIPELINE" -c "$CLIENTS" \
		-n "$REQUESTS" -q 2>/dev/null | tr '\r' '\n' | grep 'requests per second')
	t1=$(main_cpu_ns)
	local ntests
	ntests=$(echo "$out" | wc -l)
	echo "$out" | sed -E 's/^ *([A-Z_]+[^:]*): ([0-9.]+) requests per second.*/\1|\2/'
	echo "CPU|$(( (t1 - t0) / (REQUESTS * ntests) ))"
}

printf '%-16s %14s %14s %8s\n' test native_rps gnet_rps ratio
declare -A nat gn
for r in $(seq "$REPEATS"); do
	while IFS='|' read -r k v; do nat[$k]="${nat[$k]:-} $v"; done < <(run "$native")
	while IFS='|' read -r k v; do gn[$k]="${gn[$k]:-} $v"; done < <(run "$gport")
done
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
for k in "${!nat[@]}"; do
	[ "$k" = CPU ] && continue
	n=$(echo "${nat[$k]}" | median); g=$(echo "${gn[$k]:-0}" | median)
	printf '%-16s %14.0f %14.0f %8.2f\n' "$k" "$n" "$g" "$(echo "$g / $n" | bc -l)"
done | sort
n=$(echo "${nat[CPU]}" | median); g=$(echo "${gn[CPU]}" | median)
printf 'main thread CPU per request: native %s ns, gnet port %s ns (%.2fx)\n' "$n" "$g" "$(echo "$g / $n" | bc -l)"
