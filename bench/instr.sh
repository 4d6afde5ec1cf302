#!/usr/bin/env bash
# bench/instr.sh -- user-space instructions per echoed message of echo
# servers, or per HTTP request of HTTP servers, or per RESP request of
# Redis-protocol servers, counted by callgrind.
#
#   bash bench/instr.sh [-m echo|http|resp] [-c CONNS] [-s SIZE] [-d DEPTH]
#                       [-t SHORT,LONG] [-T TESTS] SERVER...
#
# A SERVER is a binary, or a quoted command line in which @PORT@ stands
# for the port (otherwise "--port PORT" is appended), e.g.
#   "build/release/tools/gnetd --loops 1 --loadmodule
#    build/release/modules/http.so listen=tcp://127.0.0.1:@PORT@"
# echo mode drives bench/load at depth 1; http mode drives wrk with CONNS
# connections, pipelining DEPTH requests (bench/pipeline.lua) when DEPTH
# is above 1, and counts the requests wrk completed. resp mode drives
# redis-benchmark with CONNS clients, -P DEPTH, the comma-separated TESTS
# (default set,get,incr) one after the other, SHORT and LONG requests per
# test (-n; default 5000,15000: with it, a short and a long run are counts
# of requests, not seconds), keys drawn from 100000; a request is any of
# them, so the figure is the mix's mean. E.g., redis-server against gnetd
# with the resp module, one client, no pipelining:
#   bash bench/instr.sh -m resp -c 1 -d 1 \
#     "redis-server --port @PORT@ --bind 127.0.0.1 --save --appendonly no --io-threads 1" \
#     "build/release/tools/gnetd --loops 1 --loadmodule
#      build/release/modules/resp.so listen=tcp://127.0.0.1:@PORT@"
# ("--save" alone is redis 7's empty save list: the command line is split
# on blanks, so '' would not be an empty word.) Beside the wall-clock
# noise CPU time has, redis-server's serverCron (10 times a second) runs
# for longer in the long run: its instructions are counted in with the
# requests', a few percent at most with the defaults.
#
# Why: with one connection at depth 1 the servers make the same three
# syscalls per round trip (epoll_wait, read, write or send) and the kernel
# sends the same TCP segments for each (nstat), so their CPU times differ
# only by their user-space work -- about 2% of the CPU, far below the
# noise of CPU time on this VM (one repeat's ratio of two servers spreads
# over 0.83-1.22). Instruction counts do not have that noise, and this VM
# has no hardware counters (perf stat -e instructions: "not supported"),
# so callgrind counts them. The count is user space only.
#
# How: each BIN runs under valgrind --tool=callgrind twice, against a
# SHORT and a LONG load run (seconds); the difference of the two
# instruction totals over the difference of the two message counts is one
# message's cost, start-up, connection set-up and shut-down cancelling
# out. Depth is 1, so a message is one round trip whatever valgrind's
# slowdown; at a deeper pipeline that slowdown would change how many
# messages a read takes, and with them the count. CONNS > 1 is allowed,
# with the same caveat for how many events one epoll_wait returns.
#
# Prints one line per BIN: "instr BIN CONNS SIZE INSTRUCTIONS_PER_MSG"
# (http mode: SIZE is "dDEPTH"; resp mode: "resp-dDEPTH").
#
# gnet's servers run on the backend GNET_BACKEND names (bench/run.sh sets
# it: epoll, or uring for its gnet-uring rows). On io_uring the count
# leaves out more than the syscalls: the receives and sends the ring runs
# are kernel work, which callgrind cannot see.
#
# Needs: valgrind, build/bench/load (bash bench/run.sh builds it); wrk
# for http, redis-benchmark for resp.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD=$ROOT/build/bench/load
CONNS=1 SIZE=64 SHORT='' LONG='' MODE=echo DEPTH=1 TESTS=set,get,incr
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}

usage() {
	echo "usage: instr.sh [-m echo|http|resp] [-c CONNS] [-s SIZE] [-d DEPTH] [-t SHORT,LONG] [-T TESTS] SERVER..." >&2
	exit 2
}

while getopts c:s:t:m:d:T: opt; do
	case $opt in
	c) CONNS=$OPTARG ;; s) SIZE=$OPTARG ;; m) MODE=$OPTARG ;; d) DEPTH=$OPTARG ;;
	t) SHORT=${OPTARG%,*} LONG=${OPTARG#*,} ;;
	T) TESTS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
# Seconds of load, or in resp mode requests per test.
if [ "$MODE" = resp ]; then
	SHORT=${SHORT:-5000} LONG=${LONG:-15000}
else
	SHORT=${SHORT:-1} LONG=${LONG:-3}
fi
for v in "$CONNS" "$SIZE" "$SHORT" "$LONG" "$DEPTH"; do
	[[ $v =~ ^[0-9]+$ && $v -ge 1 ]] || usage
done
[[ $TESTS =~ ^[a-z]+(,[a-z]+)*$ ]] || usage
case $MODE in echo | http | resp) ;; *) usage ;; esac
[ "$LONG" -gt "$SHORT" ] || { echo "instr.sh: LONG must exceed SHORT" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "instr.sh: valgrind is not installed" >&2; exit 1; }
case $MODE in
echo) [ -x "$LOAD" ] || { echo "instr.sh: $LOAD is missing (bash bench/run.sh builds it)" >&2; exit 1; } ;;
http) command -v wrk >/dev/null || { echo "instr.sh: wrk is not installed" >&2; exit 1; } ;;
resp) command -v redis-benchmark >/dev/null || { echo "instr.sh: redis-benchmark is not installed (redis-tools)" >&2; exit 1; } ;;
esac

WORK=$(mktemp -d /tmp/gnet-instr.XXXXXX)
SERVER=
cleanup() {
	[ -z "$SERVER" ] || kill -KILL "$SERVER" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start SERVER PORT: the server under callgrind, pinned; 0 once it listens.
start() {
	local cmd=$1 port=$2 i argv
	read -ra argv <<<"${cmd//@PORT@/$port}"
	if [[ $cmd != *@PORT@* ]]; then
		argv+=(--port "$port")
		case $(basename "${argv[0]}") in echo | http) argv+=(--loops 1) ;; esac
	fi
	taskset -c "$SERVER_CPU" valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" \
	    "${argv[@]}" >"$WORK/server.log" 2>&1 &
	SERVER=$!
	for i in $(seq 600); do
		# gnetd and the examples print "listening", redis-server "Ready
		# to accept connections".
		grep -Eq 'listening|Ready to accept' "$WORK/server.log" && return 0
		kill -0 "$SERVER" 2>/dev/null || break
		sleep 0.05
	done
	# Not listening after 30 s (or exited): gone before it is waited for.
	kill -KILL "$SERVER" 2>/dev/null || true
	wait "$SERVER" 2>/dev/null || true
	SERVER=
	return 1
}

# count BIN SECONDS: prints "INSTRUCTIONS MESSAGES" of one run, or fails.
# (resp mode: SECONDS is the requests per test.)
count() {
	local bin=$1 secs=$2 port out=$WORK/cg.out i msgs ir
	# Ports below Linux's ephemeral range (32768 up), where a client
	# socket of an earlier run can hold the one drawn; a port that is in
	# use all the same is drawn again.
	for i in 1 2 3 4 5; do
		rm -f "$out"
		port=$((20000 + RANDOM % 12000))
		start "$bin" "$port" && break
		grep -q "in use" "$WORK/server.log" || break
	done
	[ -n "$SERVER" ] || {
		echo "instr.sh: $bin did not start:" >&2
		sed 's/^/  /' "$WORK/server.log" >&2
		return 1
	}
	if [ "$MODE" = echo ]; then
		"$LOAD" --addr "tcp://127.0.0.1:$port" --conns "$CONNS" --size "$SIZE" \
		    --depth 1 --duration "$secs" --warmup 0 --cpu "$LOAD_CPU" \
		    >"$WORK/load.out" 2>&1 || true
	elif [ "$MODE" = resp ]; then
		# Every request of every test completes or redis-benchmark fails:
		# it exits 1 on an error reply, and the run gives no count.
		if taskset -c "$LOAD_CPU" redis-benchmark -h 127.0.0.1 -p "$port" -c "$CONNS" \
		    -n "$secs" -r 100000 -P "$DEPTH" -t "$TESTS" --csv >"$WORK/rb.out" 2>&1; then
			echo "RESULT msgs=$((secs * $(tr ',' '\n' <<<"$TESTS" | wc -l)))" >"$WORK/load.out"
		else
			cp "$WORK/rb.out" "$WORK/load.out"
		fi
	else
		local wrk=(taskset -c "$LOAD_CPU" wrk -t 1 -c "$CONNS" -d "${secs}s")
		[ "$DEPTH" -le 1 ] || wrk+=(-s "$ROOT/bench/pipeline.lua")
		wrk+=("http://127.0.0.1:$port/")
		[ "$DEPTH" -le 1 ] || wrk+=(-- "$DEPTH")
		"${wrk[@]}" >"$WORK/wrk.out" 2>&1 || true
		# wrk's "N requests in Ts": the load's message count.
		sed -n 's/^ *\([0-9]*\) requests in .*/RESULT msgs=\1/p' \
		    "$WORK/wrk.out" >"$WORK/load.out"
		[ -s "$WORK/load.out" ] || cp "$WORK/wrk.out" "$WORK/load.out"
	fi
	# SIGTERM: callgrind writes its totals as the server exits, whether
	# the server handles the signal or dies of it. valgrind 3.19 does not
	# take io_uring_enter for a blocking call: a thread waiting in it
	# keeps its signals blocked and, it seems, valgrind's lock, so gnet
	# on io_uring (GNET_BACKEND=uring) handles SIGTERM, and finishes
	# exiting, only after its wait returns. A connection to its port,
	# every half second, gives that wait an event. A server still up
	# after 10 s is killed (and gives no count) rather than waited for.
	kill -TERM "$SERVER" 2>/dev/null || true
	for i in $(seq 200); do
		kill -0 "$SERVER" 2>/dev/null || break
		# shellcheck disable=SC2016 # $1 is the inner shell's
		[ $((i % 10)) != 0 ] ||
		    timeout 1 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$port" 2>/dev/null || true
		sleep 0.05
	done
	if kill -0 "$SERVER" 2>/dev/null; then
		echo "instr.sh: $bin did not exit on SIGTERM; killed" >&2
		kill -KILL "$SERVER" 2>/dev/null || true
		for i in $(seq 100); do
			kill -0 "$SERVER" 2>/dev/null || break
			sleep 0.05
		done
	fi
	kill -0 "$SERVER" 2>/dev/null || wait "$SERVER" 2>/dev/null || true
	SERVER=
	msgs=$(sed -n 's/^RESULT.* msgs=\([0-9]*\).*/\1/p' "$WORK/load.out")
	ir=$(awk '$1 == "totals:" || $1 == "summary:" { print $2; exit }' "$out" 2>/dev/null)
	[ -n "$msgs" ] && [ -n "$ir" ] || {
		echo "instr.sh: $bin: no count (load: $(tail -n 1 "$WORK/load.out"))" >&2
		return 1
	}
	echo "$ir $msgs"
}

# One word naming a server: its binary, with the module it loads, if any
# ("build/release/tools/gnetd+http.so").
label() {
	local w name
	read -ra w <<<"$1"
	name=${w[0]#"$ROOT"/}
	for x in "${w[@]:1}"; do
		[[ $x != *.so ]] || name+="+$(basename "$x")"
	done
	echo "$name"
}

# In http mode the size column is the pipelining depth; in resp mode
# too, marked as resp's.
case $MODE in http) SIZE=d$DEPTH ;; resp) SIZE=resp-d$DEPTH ;; esac
for bin in "$@"; do
	read -ra first <<<"$bin"
	# A path, or a command on PATH (redis-server).
	[ -x "${first[0]}" ] || [[ ${first[0]} != */* && -n $(type -P "${first[0]}") ]] ||
	    { echo "instr.sh: ${first[0]} is not an executable" >&2; exit 1; }
	if short=$(count "$bin" "$SHORT") && long=$(count "$bin" "$LONG"); then
		awk -v bin="$(label "$bin")" -v c="$CONNS" -v s="$SIZE" -v a="$short" -v b="$long" 'BEGIN {
			split(a, x, " "); split(b, y, " ")
			if (y[2] <= x[2]) { print "instr " bin " " c " " s " FAIL"; exit }
			printf "instr %s %s %s %.0f\n", bin, c, s, (y[1] - x[1]) / (y[2] - x[2]) }'
	else
		echo "instr $(label "$bin") $CONNS $SIZE FAIL"
	fi
done
