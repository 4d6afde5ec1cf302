#!/usr/bin/env bash
# bench/run.sh -- gnet against its peers, in one run on one machine.
#
# Builds gnet's examples, the peer servers (bench/peers/) and the load
# generators (bench/load.c, bench/udp_load.c), then measures:
#
#   echo    gnet, gnet-uring, raw epoll, libuv, libevent: {1, 64, 1000
#           conns} x {64 B, 4 KiB} x {depth 1, 16}, driven by bench/load
#   http    gnet (examples/http.c), gnetd (the http module), each also on
#           io_uring (gnet-uring, gnetd-uring), raw epoll, nginx: {64, 1000
#           conns} x {depth 1, 16}, driven by wrk (depth 16 =
#           bench/pipeline.lua)
#   udp     gnet, gnet-uring, raw epoll (one recvfrom/sendto per datagram):
#           64 peers, 1 KiB datagrams, 4 and 16 in flight each, driven by
#           bench/udp_load
#   resp    redis-server (1 and 2 io-threads) and gnetd with the resp
#           module (1 and 2 loops): SET, GET, INCR at -P 16 and -P 1,
#           50 clients, driven by redis-benchmark; CPU per request and
#           the ratio to redis-server with one thread. Skipped with a
#           note while build/release/modules/resp.so is not built.
#   memory  RSS of each echo server with IDLE_CONNS idle connections
#   strace  syscalls per message (all of them, and io_uring_enter on its
#           own row), gnet echo on both backends vs raw epoll, 64 x 64 B
#           at depth 16 and at depth 1
#   instr   user-space instructions per message of each echo server,
#           counted by callgrind (bench/instr.sh) at depth 1: {1 conn x 64 B,
#           1 x 4 KiB, 64 x 64 B}. Where CPU time cannot rank servers (one
#           connection: the same syscalls and TCP segments for all, and
#           noise far above their difference), this count can. User space
#           only: the work io_uring does in the kernel for gnet-uring (the
#           receives and sends it runs for the loop) is not in it.
#
# gnet's backends. gnet runs twice where it appears: "gnet" (and "gnetd")
# with GNET_BACKEND=epoll, the rows every earlier run has, and
# "gnet-uring" (and "gnetd-uring") with GNET_BACKEND=uring. (Left unset,
# GNET_BACKEND would let gnet pick io_uring where the kernel has it, so
# "gnet" is pinned to epoll.) The resp and redis-host suites run gnet on
# epoll only. Before the suites, a probe starts examples/echo with
# GNET_BACKEND=uring: when it does not start (it exits with the reason
# when the kernel refuses a ring), or BACKENDS without uring, the io_uring
# rows are skipped and the report says why. BACKENDS (as in
# scripts/run-tests.sh; "epoll uring" by default) names the backends gnet
# is measured on: "epoll" alone leaves the -uring rows out, "uring" alone
# the epoll rows of gnet (not the peers, nor resp and redis-host). Every
# gnet server is checked, once started, for the backend its name promises
# (an io_uring descriptor in /proc/PID/fd, or none), and fails to start
# otherwise.
#
# The server runs on CPU SERVER_CPU, the load on CPU LOAD_CPU (taskset).
# The headline is the server's CPU time (on-CPU ns from /proc/PID/task/*/schedstat)
# per million messages, sampled inside the load's measured window; every
# cell runs REPEATS times, interleaved across frameworks, and the run whose
# CPU per million messages is the median is reported. A failing cell is
# reported as FAIL and the run goes on.
#
# Output: a table on stdout (also bench/results/latest.txt), the CSV
# bench/results/latest.csv plus a dated copy, and with gnuplot
# bench/results/cpu_per_million.png.
#
# Environment: DURATION (s, default 3), WARMUP (s, 1), REPEATS (5),
# QUICK=1 (a tiny matrix: 1 s runs, 1 repeat, 1000 idle connections),
# IDLE_CONNS (10000), SERVER_CPU (0), LOAD_CPU (1), PORT_BASE (19500),
# INSTR=0 (skip the instruction counts), BACKENDS (epoll uring),
# SUITES (which suites run; all by default), and the RESP_* knobs below.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
	DURATION=${DURATION:-1} WARMUP=${WARMUP:-1} REPEATS=${REPEATS:-1}
	IDLE_CONNS=${IDLE_CONNS:-1000}
else
	# Five short repeats beat three long ones: on a shared 2-core VM a
	# cell now and then falls into a slower regime for a whole run (the
	# loop waking once per event instead of batching), and the median of
	# five shrugs off two such runs.
	DURATION=${DURATION:-3} WARMUP=${WARMUP:-1} REPEATS=${REPEATS:-5}
	IDLE_CONNS=${IDLE_CONNS:-10000}
fi
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19500}
BACKENDS=${BACKENDS:-epoll uring}
URING_OK=0                 # 1 once uring_probe found io_uring usable
URING_NOTE=""              # why the io_uring rows are missing, if they are
# The suites to run, in this order whatever order SUITES names them in
# ("make bench-resp" is SUITES=resp).
SUITES=${SUITES:-echo http udp resp redis-host memory strace instr}
# The resp suite. RESP_THREADS: the thread counts compared, each as
# redis-server --io-threads N (redis-ioN) against gnetd --loops N
# (gnetd-lN); a server with more than one thread gets every CPU, so it
# shares LOAD_CPU with redis-benchmark. RESP_REQUESTS: requests per
# measured run (-n); by default sized for about DURATION seconds on a 2-core
# VM (redis-server: ~900k SET/s at -P 16, ~115k at -P 1), so the two
# depths are measured over a similar time.
RESP_MODULE=${RESP_MODULE:-$ROOT/build/release/modules/resp.so}
RESP_THREADS=${RESP_THREADS:-1 2}
RESP_TESTS=${RESP_TESTS:-set get incr}
if [ "$QUICK" = 1 ]; then RESP_DEPTHS=${RESP_DEPTHS:-16}; else RESP_DEPTHS=${RESP_DEPTHS:-16 1}; fi
RESP_CLIENTS=${RESP_CLIENTS:-50}
RESP_KEYSPACE=${RESP_KEYSPACE:-100000}
RESP_REQUESTS=${RESP_REQUESTS:-}
RESP_TIMEOUT=${RESP_TIMEOUT:-120}

BIN=$ROOT/build/bench
GNET_BIN=$ROOT/build/release/examples
GNET_TOOLS=$ROOT/build/release/tools
GNET_MODULES=$ROOT/build/release/modules
RESULTS=$ROOT/bench/results
CFLAGS_BENCH=(-O2 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror)
WORK=$(mktemp -d /tmp/gnet-bench.XXXXXX)
trap 'rm -rf "$WORK"' EXIT  # main sets the full clean-up once it starts servers
RAW=$WORK/raw.csv          # one row per measured run
NEXT_PORT=$PORT_BASE
STARTED=()                 # every server PID started, for the exit trap
declare -A SERVER_PID SERVER_PORT

log() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------------------
# Set-up and tear-down.

cleanup() {
	local pid
	for pid in "${STARTED[@]}"; do
		kill -0 "$pid" 2>/dev/null && stop_pid "$pid"
	done
	rm -rf "$WORK"
}

check_number() {
	[[ $2 =~ ^[0-9]+$ && $2 -ge $3 ]] || { log "run: $1=$2: need an integer >= $3"; exit 2; }
}

# selected SUITE: whether SUITES names it.
selected() {
	[[ " $SUITES " == *" $1 "* ]]
}

build() {
	log "run: building (make examples modules tools redis VARIANT=release, peers, load generators)"
	make -s examples modules tools redis VARIANT=release
	# The resp suite (and its instruction counts) needs none of the peers
	# nor the load generators, nor libuv/libevent installed:
	# redis-server and redis-benchmark are Debian's.
	selected echo || selected http || selected udp || selected memory ||
	    selected strace || return 0
	mkdir -p "$BIN"
	local p
	for p in raw_epoll_echo raw_epoll_http raw_udp_echo; do
		cc "${CFLAGS_BENCH[@]}" -o "$BIN/$p" "bench/peers/$p.c"
	done
	cc "${CFLAGS_BENCH[@]}" -o "$BIN/libuv_echo" bench/peers/libuv_echo.c \
	    $(pkg-config --cflags --libs libuv)
	cc "${CFLAGS_BENCH[@]}" -o "$BIN/libevent_echo" bench/peers/libevent_echo.c \
	    $(pkg-config --cflags --libs libevent)
	cc "${CFLAGS_BENCH[@]}" -o "$BIN/load" bench/load.c -lm
	cc "${CFLAGS_BENCH[@]}" -o "$BIN/udp_load" bench/udp_load.c
}

# ---------------------------------------------------------------------------
# Servers. A server is named SUITE:FRAMEWORK; server_argv sets ARGV to its
# command line for a port, and SERVER_ENV to the environment it adds.

# gnet_backend FRAMEWORK: the GNET_BACKEND gnet runs on in a framework's
# servers: uring for the *-uring twins, epoll for gnet's other rows;
# nothing for the peers.
gnet_backend() {
	case $1 in
	*-uring) echo uring ;;
	gnet | gnetd | gnetd-l*) echo epoll ;;
	esac
}

# with_uring FRAMEWORK...: the list, with gnet's io_uring twin (FW-uring)
# after each gnet framework when gnet can run on io_uring here, and the
# gnet framework itself (on epoll) unless BACKENDS leaves epoll out.
with_uring() {
	local fw list=()
	for fw; do
		if [ "$(gnet_backend "$fw")" != epoll ]; then
			list+=("$fw")
			continue
		fi
		! backend_selected epoll || list+=("$fw")
		[ "$URING_OK" != 1 ] || list+=("$fw-uring")
	done
	echo "${list[*]}"
}

# backend_selected BACKEND: whether BACKENDS names it.
backend_selected() {
	[[ " $BACKENDS " == *" $1 "* ]]
}

# uring_probe: whether gnet runs on io_uring here. examples/echo with
# GNET_BACKEND=uring either prints its listening line, with an io_uring
# descriptor among its files, or exits non-zero with the reason. Sets
# URING_OK, or URING_NOTE to say why the io_uring rows are skipped.
uring_probe() {
	local out=$WORK/uring-probe.log pid i rc=0 why=""
	URING_OK=0 URING_NOTE=""
	if ! backend_selected uring; then
		URING_NOTE="gnet on io_uring (gnet-uring, gnetd-uring) not measured: BACKENDS=$BACKENDS"
		log "run: $URING_NOTE"
		return 0
	fi
	GNET_BACKEND=uring "$GNET_BIN/echo" --loops 1 --port 0 >"$out" 2>&1 &
	pid=$!
	for i in $(seq 50); do
		grep -q listening "$out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q listening "$out"; then
		why="no listening line within 5 s"
	elif has_uring_fd "$pid"; then
		URING_OK=1
	else
		why="it started without an io_uring descriptor"
	fi
	if kill -0 "$pid" 2>/dev/null; then
		stop_pid "$pid"
	else
		wait "$pid" || rc=$?
		URING_OK=0
		why="exited with status $rc: $(tail -n 1 "$out")"
	fi
	if [ "$URING_OK" = 1 ]; then
		log "run: io_uring is usable: gnet-uring and gnetd-uring run gnet on it"
		return 0
	fi
	URING_NOTE="gnet on io_uring (gnet-uring, gnetd-uring) skipped: io_uring is not usable here"
	URING_NOTE+=" (GNET_BACKEND=uring examples/echo: $why)"
	log "run: $URING_NOTE"
}

# has_uring_fd PID: whether the process holds an io_uring instance.
has_uring_fd() {
	readlink /proc/"$1"/fd/* 2>/dev/null | grep -qxF 'anon_inode:[io_uring]'
}

# check_backend KEY PID: a gnet server runs on the backend its name
# promises: with an io_uring descriptor for *-uring, without one for the
# epoll rows. (gnet resolves its backend before the listening line.)
check_backend() {
	case $(gnet_backend "${1#*:}") in
	uring) has_uring_fd "$2" || { log "run: $1 is not on io_uring (no io_uring descriptor)"; return 1; } ;;
	epoll) ! has_uring_fd "$2" || { log "run: $1 is on io_uring, not epoll"; return 1; } ;;
	esac
}

server_argv() {
	local key=$1 port=$2 dir backend
	CPUS=$SERVER_CPU
	SERVER_ENV=()
	backend=$(gnet_backend "${key#*:}")
	[ -z "$backend" ] || SERVER_ENV=("GNET_BACKEND=$backend")
	# A twin runs its epoll row's command line.
	key=${key%-uring}
	case $key in
	echo:gnet)      ARGV=("$GNET_BIN/echo" --loops 1 --port "$port") ;;
	echo:raw_epoll) ARGV=("$BIN/raw_epoll_echo" --port "$port") ;;
	echo:libuv)     ARGV=("$BIN/libuv_echo" --port "$port") ;;
	echo:libevent)  ARGV=("$BIN/libevent_echo" --port "$port") ;;
	http:gnet)      ARGV=("$GNET_BIN/http" --loops 1 --port "$port") ;;
	http:gnetd)     ARGV=("$GNET_TOOLS/gnetd" --loops 1 --loadmodule \
	                    "$GNET_MODULES/http.so" "listen=tcp://127.0.0.1:$port") ;;
	http:raw_epoll) ARGV=("$BIN/raw_epoll_http" --port "$port") ;;
	http:nginx)
		dir=$WORK/nginx-$port
		mkdir -p "$dir"
		sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" bench/peers/nginx.conf >"$dir/nginx.conf"
		ARGV=(nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf") ;;
	udp:gnet)       ARGV=("$GNET_BIN/udp_echo" --loops 1 --port "$port") ;;
	udp:raw_epoll)  ARGV=("$BIN/raw_udp_echo" --port "$port") ;;
	resp:redis-io*) resp_redis_argv "${key#resp:redis-io}" "$port" ;;
	resp:gnetd-l*)
		ARGV=("$GNET_TOOLS/gnetd" --loops "${key#resp:gnetd-l}" --loadmodule \
		    "$RESP_MODULE" "listen=tcp://127.0.0.1:$port")
		resp_cpus "${key#resp:gnetd-l}" ;;
	*) log "run: no server $key"; return 1 ;;
	esac
}

# redis-server --io-threads N, persistence off (nothing but the requests
# costs CPU: no RDB fork, no AOF write), its files in $WORK. With N > 1
# the threads also read and parse (io-threads-do-reads): by default
# they only write.
resp_redis_argv() {
	local n=$1 port=$2 dir=$WORK/redis-$2
	mkdir -p "$dir"
	ARGV=(redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no
	      --daemonize no --dir "$dir" --io-threads "$n")
	[ "$n" -le 1 ] || ARGV+=(--io-threads-do-reads yes)
	resp_cpus "$n"
}

# A server of one thread runs on SERVER_CPU like every other server; one
# of more threads gets every CPU (here both: it then shares LOAD_CPU with
# the load generator, which the resp table notes).
resp_cpus() {
	[ "$1" -le 1 ] || CPUS=0-$(($(nproc) - 1))
}

# Ready when it prints its "listening" line (redis-server: "Ready to
# accept connections"; nginx prints none: then when the port accepts a
# TCP connection).
wait_ready() {
	local pid=$1 port=$2 out=$3 i
	for i in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || return 1
		grep -Eq 'listening|Ready to accept' "$out" 2>/dev/null && return 0
		if [[ ${ARGV[0]} == nginx ]] && (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && { log "run: $pid ignored SIGTERM; killing it"; kill -KILL "$pid"; }
	wait "$pid" 2>/dev/null || true
}

# start_server KEY: on a fresh port, pinned to SERVER_CPU (or the CPUs
# server_argv sets).
start_server() {
	local key=$1 port=$NEXT_PORT out=$WORK/${1/:/_}.$NEXT_PORT.log pid
	NEXT_PORT=$((NEXT_PORT + 1))
	server_argv "$key" "$port" || return 1
	env ${SERVER_ENV[@]+"${SERVER_ENV[@]}"} taskset -c "$CPUS" "${ARGV[@]}" >"$out" 2>&1 &
	pid=$!
	STARTED+=("$pid")
	if ! wait_ready "$pid" "$port" "$out"; then
		log "run: $key did not start; its output:"
		sed 's/^/  /' "$out" >&2
		stop_pid "$pid"
		return 1
	fi
	if ! check_backend "$key" "$pid"; then
		stop_pid "$pid"
		return 1
	fi
	SERVER_PID[$key]=$pid
	SERVER_PORT[$key]=$port
}

stop_server() {
	local key=$1
	[ -n "${SERVER_PID[$key]:-}" ] && stop_pid "${SERVER_PID[$key]}"
	unset "SERVER_PID[$key]"
}

server_alive() {
	[ -n "${SERVER_PID[$1]:-}" ] && kill -0 "${SERVER_PID[$1]}" 2>/dev/null
}

# ---------------------------------------------------------------------------
# /proc readings.

# On-CPU time in nanoseconds of a process (all its threads) and of its
# children (nginx's worker): the scheduler's sum_exec_runtime, field 1 of
# /proc/PID/task/TID/schedstat. It is the same quantity as utime + stime
# in /proc/PID/stat (which the kernel scales to it), without the 10 ms
# clock-tick rounding, which was 0.4-0.7% of a 3 s cell.
cpu_ns() {
	local pid=$1 p
	for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
		cat /proc/"$p"/task/*/schedstat 2>/dev/null
	done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

rss_kib() {
	awk '/^VmRSS:/ { print $2 }' /proc/"$1"/status
}

# ---------------------------------------------------------------------------
# Load drivers. Each writes one RESULT line (bench/load's format) to $OUT.
# Arguments: PORT CONNS SIZE DEPTH SECONDS WARMUP LABEL.

drive_echo() {
	taskset -c "$LOAD_CPU" "$BIN/load" --addr "tcp://127.0.0.1:$1" --mode echo \
	    --conns "$2" --size "$3" --depth "$4" --duration "$5" --warmup "$6" \
	    --label "$7" >"$OUT" 2>"$OUT.err"
}

drive_udp() {
	taskset -c "$LOAD_CPU" "$BIN/udp_load" --addr "udp://127.0.0.1:$1" \
	    --conns "$2" --size "$3" --depth "$4" --duration "$5" --warmup "$6" \
	    --label "$7" >"$OUT" 2>"$OUT.err"
}

# wrk has no warm-up: a warm-up pass runs first, unmeasured. SIZE is unused.
drive_http() {
	local pass secs
	for pass in warmup measure; do
		secs=$5
		[ "$pass" = warmup ] && secs=$6
		[ "$secs" = 0 ] && continue
		[ "$pass" = measure ] && cpu_mark start
		wrk_once "$1" "$2" "$4" "$secs" >"$OUT.wrk" 2>"$OUT.err" || return 1
	done
	cpu_mark end
	wrk_result "$7" "$2" "$4" <"$OUT.wrk" >"$OUT"
}

# wrk_once PORT CONNS DEPTH SECONDS: depth > 1 pipelines with a Lua script.
wrk_once() {
	local args=(-t1 -c "$2" -d "${4}s" --latency)
	if [ "$3" -gt 1 ]; then
		args+=(-s bench/pipeline.lua "http://127.0.0.1:$1/" -- "$3")
	else
		args+=("http://127.0.0.1:$1/")
	fi
	taskset -c "$LOAD_CPU" wrk "${args[@]}"
}

# wrk's report as a RESULT line (MB = 10^6 bytes; latency in µs). wrk
# records one latency sample per pipelined batch and sometimes reports its
# 99th percentile as 0: that is left empty (n/a) rather than passed on.
wrk_result() {
	awk -v label="$1" -v conns="$2" -v depth="$3" '
	function us(v) {
		if (v ~ /us$/) return v + 0
		if (v ~ /ms$/) return v * 1000
		if (v ~ /s$/)  return v * 1000000
		return v * 60000000
	}
	function mb(v) {
		if (v ~ /GB$/) return v * 1073741824 / 1e6
		if (v ~ /MB$/) return v * 1048576 / 1e6
		if (v ~ /KB$/) return v * 1024 / 1e6
		return v / 1e6
	}
	$1 == "50%"     { p50 = us($2) }
	$1 == "99%"     { p99 = us($2) }
	/requests in/   { msgs = $1; secs = $4; sub(/,$/, "", secs)
	                  secs = (secs ~ /ms$/) ? secs / 1000 : (secs ~ /m$/ ? secs * 60 : secs + 0) }
	/^Requests\/sec:/ { rate = $2 }
	/^Transfer\/sec:/ { mbs = mb($2) }
	/Socket errors:/ { gsub(/,/, ""); errors += $4 + $6 + $8 + $10 }
	/Non-2xx/       { errors += $NF }
	END {
		if (msgs == "") exit 1
		p99 = (p99 > 0) ? sprintf("%.0f", p99) : ""
		printf "RESULT label=%s mode=http conns=%d size=0 depth=%d secs=%.3f msgs=%d msgs_per_s=%.0f mb_per_s=%.2f p50_us=%.0f p99_us=%s p999_us= errors=%d\n",
		    label, conns, depth, secs, msgs, rate, mbs, p50, p99, errors + 0
	}'
}

# redis-benchmark, one test (SIZE: set, get, incr) at DEPTH pipelined
# requests per client, keys drawn from RESP_KEYSPACE. It has no duration
# and no warm-up: an unmeasured pass of a tenth of the requests runs
# first (unless WARMUP=0), then the CPU is read right before and right
# after the measured pass and divided by its requests. One test per
# invocation, so each test's CPU is its own. redis-benchmark exits 1 on
# an error reply (say, a command the server does not know): that run
# fails, and so does one whose CSV has no row for the test.
drive_resp() {
	local n pass
	n=$(resp_requests "$4")
	for pass in warmup measure; do
		if [ "$pass" = warmup ]; then
			[ "$6" = 0 ] && continue
			resp_once "$1" "$2" "$3" "$4" $((n / 10 > 0 ? n / 10 : 1)) \
			    >"$OUT.csv" 2>"$OUT.err" || return 1
			continue
		fi
		cpu_mark start
		resp_once "$1" "$2" "$3" "$4" "$n" >"$OUT.csv" 2>"$OUT.err" || return 1
		cpu_mark end
	done
	resp_result "$7" "$2" "$3" "$4" "$n" <"$OUT.csv" >"$OUT"
}

# Requests per measured run at DEPTH: RESP_REQUESTS, or DURATION seconds
# at a rate a 2-core VM reaches.
resp_requests() {
	if [ -n "$RESP_REQUESTS" ]; then
		echo "$RESP_REQUESTS"
	elif [ "$1" -gt 1 ]; then
		echo $((DURATION * 800000))
	else
		echo $((DURATION * 100000))
	fi
}

# resp_once PORT CLIENTS TEST DEPTH REQUESTS. redis-benchmark waits
# forever for a reply that never comes (a server that drops a request, or
# answers something it cannot parse): RESP_TIMEOUT seconds bound a run,
# which then fails with a note.
resp_once() {
	local rc=0 err
	taskset -c "$LOAD_CPU" timeout -k 5 "$RESP_TIMEOUT" redis-benchmark -h 127.0.0.1 \
	    -p "$1" -c "$2" -n "$5" -r "$RESP_KEYSPACE" -P "$4" -t "$3" --csv 2>"$OUT.rb" || rc=$?
	cat "$OUT.rb" >&2
	err=$(grep -m1 'Error' "$OUT.rb" || true)
	[ "$rc" != 124 ] || echo "redis-benchmark: no result within RESP_TIMEOUT=$RESP_TIMEOUT s" >&2
	# The last line of stderr is measure's note of the failure: the
	# status, with redis-benchmark's own "Error..." line when it printed one.
	[ "$rc" = 0 ] || echo "redis-benchmark exited with status $rc${err:+: $err}" >&2
	return "$rc"
}

# redis-benchmark's CSV row as a RESULT line (latency ms -> µs). Its 7.x
# CSV has p50/p95/p99 columns, found by name; an older one without them
# leaves p99 empty (n/a).
resp_result() {
	awk -F'"' -v label="$1" -v conns="$2" -v test="$3" -v depth="$4" -v n="$5" '
	NR == 1 { for (i = 2; i <= NF; i += 2) col[$i] = i; next }
	toupper($2) == toupper(test) && $(col["rps"]) + 0 > 0 {
		rate = $(col["rps"])
		p50 = ("p50_latency_ms" in col) ? sprintf("%.0f", $(col["p50_latency_ms"]) * 1000) : ""
		p99 = ("p99_latency_ms" in col) ? sprintf("%.0f", $(col["p99_latency_ms"]) * 1000) : ""
	}
	END {
		if (rate == "") exit 1
		printf "RESULT label=%s mode=resp conns=%d size=0 depth=%d secs=%.3f msgs=%d msgs_per_s=%.0f mb_per_s= p50_us=%s p99_us=%s p999_us= errors=0\n",
		    label, conns, depth, n / rate, n, rate, p50, p99
	}'
}

# field KEY FILE: a key=value from the RESULT line in FILE.
field() {
	grep -m1 '^RESULT ' "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k { print $2 }'
}

# ---------------------------------------------------------------------------
# One measured run of one cell.
#
# Drivers with a warm-up of their own (load, udp_load) are sampled from
# the script: /proc is read a little after the warm-up ends and a little
# before the measured window closes, and the CPU is divided by msgs/s x the
# sampled wall time. drive_http and drive_resp mark their own window
# around the measured pass (cpu_mark) and the CPU is divided by the
# requests it counted.

cpu_mark() {
	local t c
	c=$(cpu_ns "$MARK_PID")
	t=$EPOCHREALTIME
	echo "$1 $c $t" >>"$OUT.marks"
}

# measure SUITE FRAMEWORK CELL REP CONNS SIZE DEPTH: appends a row to $RAW.
measure() {
	local suite=$1 fw=$2 cell=$3 rep=$4 conns=$5 size=$6 depth=$7
	local key=$suite:$fw status=ok pid lpid margin cpu msgs rate note="" whole=0
	case $suite in http | resp) whole=1 ;; esac
	OUT=$WORK/run.$suite.$fw.${cell//\//_}.$rep
	: >"$OUT.marks"
	if ! server_alive "$key"; then
		log "run: $key is not running; restarting it"
		start_server "$key" || { record "$suite" "$fw" "$cell" "$rep" fail; return 0; }
	fi
	pid=${SERVER_PID[$key]}
	MARK_PID=$pid
	"drive_$suite" "${SERVER_PORT[$key]}" "$conns" "$size" "$depth" \
	    "$DURATION" "$WARMUP" "$fw/$cell" &
	lpid=$!
	if [ "$whole" = 0 ]; then
		margin=$(awk -v d="$DURATION" 'BEGIN { m = d / 10; print (m > 0.2 ? 0.2 : m) }')
		sleep "$(awk -v w="$WARMUP" -v m="$margin" 'BEGIN { print w + m }')"
		cpu_mark start
		sleep "$(awk -v d="$DURATION" -v m="$margin" 'BEGIN { print d - 2 * m }')"
		cpu_mark end
	fi
	wait "$lpid" || status=fail
	if [ "$status" = ok ] && ! grep -q '^RESULT ' "$OUT"; then
		status=fail
	fi
	if [ "$status" = fail ]; then
		note=$(tail -n 1 "$OUT.err" 2>/dev/null || true)
		log "run: FAIL $suite $fw $cell #$rep: ${note:-no RESULT line}"
		record "$suite" "$fw" "$cell" "$rep" fail
		return 0
	fi
	rate=$(field msgs_per_s "$OUT")
	msgs=$(field msgs "$OUT")
	cpu=$(awk -v rate="$rate" -v msgs="$msgs" -v whole="$whole" '
		$1 == "start" { c0 = $2; t0 = $3 } $1 == "end" { c1 = $2; t1 = $3 }
		END {
			n = whole ? msgs : rate * (t1 - t0)
			if (n <= 0) { print "nan"; exit }
			printf "%.4f", (c1 - c0) / 1e9 / n * 1e6
		}' "$OUT.marks")
	record "$suite" "$fw" "$cell" "$rep" ok "$rate" "$(field mb_per_s "$OUT")" \
	    "$(field p99_us "$OUT")" "$cpu" "$(field errors "$OUT")"
	log "  $suite $fw $cell #$rep: $rate msg/s, server CPU $cpu s per 1M msgs"
}

# record SUITE FW CELL REP STATUS [RATE MBS P99 CPU ERRORS]
record() {
	echo "$1,$2,$3,$4,$5,${6:-},${7:-},${8:-},${9:-},${10:-}" >>"$RAW"
}

cell_name() { # CONNS SIZE DEPTH
	local size=$2
	case $size in
	0|-) size="" ;;
	*[!0-9]*) size="/$size" ;; # resp: the test's name
	*) [ $((size % 1024)) -eq 0 ] && size="/$((size / 1024))KiB" || size="/${size}B" ;;
	esac
	echo "c$1$size/d$3"
}

# rotate K WORD...: the words, starting from the (K mod count)-th.
rotate() {
	local k=$1
	shift
	k=$((k % $#))
	echo "${@:k+1}" "${@:1:k}"
}

# run_suite SUITE "FRAMEWORK..." "CONNS SIZE DEPTH"...: starts every
# framework's server, runs each cell REPEATS times (each repeat goes over
# every cell and framework, so slow drift hits all alike), stops them.
# Each repeat starts the frameworks from another one, so none always runs
# first after a cell change (or right after the same neighbour).
run_suite() {
	local suite=$1 fws=$2 fw rep spec conns size depth
	shift 2
	log "run: $suite suite: frameworks $fws; ${#} cell(s) x $REPEATS repeat(s)"
	for fw in $fws; do
		start_server "$suite:$fw" || log "run: $suite:$fw cells will fail"
	done
	for rep in $(seq "$REPEATS"); do
		for spec in "$@"; do
			read -r conns size depth <<<"$spec"
			# shellcheck disable=SC2086 # fws is a word list
			for fw in $(rotate $((rep - 1)) $fws); do
				measure "$suite" "$fw" "$(cell_name "$conns" "$size" "$depth")" \
				    "$rep" "$conns" "$size" "$depth"
			done
		done
	done
	for fw in $fws; do
		stop_server "$suite:$fw"
	done
}

# ---------------------------------------------------------------------------
# Memory: RSS with IDLE_CONNS idle connections, on a fresh server.

memory_one() {
	local fw=$1 key=echo:$1 pid base loaded lpid i per status=ok
	OUT=$WORK/idle.$fw
	start_server "$key" || { echo "memory,$fw,idle$IDLE_CONNS,fail,,," >>"$WORK/mem.csv"; return 0; }
	pid=${SERVER_PID[$key]}
	sleep 0.3
	base=$(rss_kib "$pid")
	taskset -c "$LOAD_CPU" "$BIN/load" --addr "tcp://127.0.0.1:${SERVER_PORT[$key]}" \
	    --mode idle --conns "$IDLE_CONNS" --size 64 --depth 1 --duration 1 \
	    --warmup 0 --hold 5 --label "$fw/idle" >"$OUT" 2>"$OUT.err" &
	lpid=$!
	for i in $(seq 600); do
		grep -q '^idle: holding' "$OUT.err" && break
		kill -0 "$lpid" 2>/dev/null || break
		sleep 0.1
	done
	if grep -q '^idle: holding' "$OUT.err"; then
		sleep 0.5
		loaded=$(rss_kib "$pid")
		per=$(( (loaded - base) * 1024 / IDLE_CONNS ))
	else
		status=fail
		log "run: FAIL memory $fw: $(tail -n 1 "$OUT.err")"
	fi
	wait "$lpid" || true
	stop_server "$key"
	echo "memory,$fw,idle$IDLE_CONNS,$status,${base:-},${loaded:-},${per:-}" >>"$WORK/mem.csv"
	[ "$status" = ok ] && log "  memory $fw: ${base} KiB idle, ${loaded} KiB with $IDLE_CONNS connections, $per B each"
	return 0
}

# ---------------------------------------------------------------------------
# Syscalls per message under strace -c -f (2 s, 64 conns x 64 B, at
# depth 16 and at depth 1). One line per syscall in $WORK/strace.txt:
# "FRAMEWORK CELL SYSCALL CALLS_PER_MSG", and a "total" line (every
# syscall). On io_uring the receives and sends are not syscalls: what is
# left is io_uring_enter (its own row) and whatever else the loop calls.

STRACE_DEPTHS="16 1"

strace_one() {
	local fw=$1 depth=$2 key=echo:$1 spid msgs cell
	cell=$(cell_name 64 64 "$depth")
	OUT=$WORK/strace.$fw.d$depth
	start_server "$key" || { log "run: FAIL strace $fw $cell: the server did not start"; return 0; }
	strace -c -f -p "${SERVER_PID[$key]}" -o "$OUT.strace" 2>/dev/null &
	spid=$!
	sleep 0.5
	if drive_echo "${SERVER_PORT[$key]}" 64 64 "$depth" 2 0 "$fw/strace"; then
		msgs=$(field msgs "$OUT")
	else
		log "run: FAIL strace $fw $cell: $(tail -n 1 "$OUT.err")"
	fi
	kill -INT "$spid" 2>/dev/null || true
	wait "$spid" 2>/dev/null || true
	stop_server "$key"
	[ -n "${msgs:-}" ] && [ "$msgs" -gt 0 ] || return 0
	# "% time seconds usecs/call calls [errors] syscall": calls is $4.
	awk -v fw="$fw" -v cell="$cell" -v msgs="$msgs" '/^-/ { n++; next } n >= 1 && NF >= 5 {
		printf "%s %s %s %.6f\n", fw, cell, $NF, $4 / msgs }' "$OUT.strace" >>"$WORK/strace.txt"
	log "  strace $fw $cell: $(awk -v fw="$fw" -v cell="$cell" '$1 == fw && $2 == cell && $3 == "total" { t = $4 }
	    $1 == fw && $2 == cell && $3 == "io_uring_enter" { u = $4 }
	    END { printf "%.4f syscalls per message%s", t, (u != "" ? sprintf(", io_uring_enter %.4f", u) : "") }' "$WORK/strace.txt")"
}

# One table per cell: a row per syscall, a column per server; under them
# the total (every syscall) and io_uring_enter (0 for the epoll servers).
strace_table() {
	[ -s "$WORK/strace.txt" ] || { echo; echo "(no strace figures)"; return 0; }
	# Four decimals; a syscall made less than once in 20,000 messages
	# shows as "<0.0001", not as 0.
	awk '{ v[$2, $3, $1] = sprintf("%.4f", $4); if ($4 > 0 && v[$2, $3, $1] + 0 == 0) v[$2, $3, $1] = "<0.0001"
	       if (!($2 in cs)) { cs[$2]; co[++nc] = $2 }
	       if (!(($2, $3) in seen)) { seen[$2, $3]; row[$2, ++nr[$2]] = $3 }
	       if (!($1 in fws)) { fws[$1]; fo[++m] = $1 } }
	END {
		for (c = 1; c <= nc; c++) {
			cell = co[c]; split(cell, part, "/")
			print ""
			printf "Syscalls per echoed message under strace -c -f (64 conns x 64 B x depth %s, 2 s; %s):\n", substr(part[3], 2), cell
			printf "  %-16s", "syscall"; for (j = 1; j <= m; j++) printf " %12s", fo[j]; print ""
			for (i = 1; i <= nr[cell]; i++) {
				sc = row[cell, i]
				if (sc == "total" || sc == "io_uring_enter") continue
				printf "  %-16s", sc
				for (j = 1; j <= m; j++) printf " %12s", ((cell, sc, fo[j]) in v) ? v[cell, sc, fo[j]] : "-"
				print ""
			}
			printf "  %-16s", "total"
			for (j = 1; j <= m; j++) printf " %12s", ((cell, "total", fo[j]) in v) ? v[cell, "total", fo[j]] : "FAIL"
			print ""
			printf "  %-16s", "io_uring_enter"
			for (j = 1; j <= m; j++)
				printf " %12s", ((cell, "total", fo[j]) in v) ? ((cell, "io_uring_enter", fo[j]) in v ? v[cell, "io_uring_enter", fo[j]] : "0") : "FAIL"
			print ""
		}
	}' "$WORK/strace.txt"
}

# User-space instructions per message (bench/instr.sh), one line per
# server and cell in $WORK/instr.txt: "FRAMEWORK CONNS SIZE COUNT".
# The cells of the suites selected: echo's and http's if either is,
# resp's if it is.
instr_cells() {
	if [ "$QUICK" = 1 ]; then
		echo "1 64"
	else
		printf '%s\n' "1 64" "1 4096" "64 64"
	fi
}

instr_all() {
	local c s d gnet_echo gnet_http
	local gnetd_http="$GNET_TOOLS/gnetd --loops 1 --loadmodule $GNET_MODULES/http.so listen=tcp://127.0.0.1:@PORT@"
	command -v valgrind >/dev/null || { log "run: no valgrind: no instruction counts"; return 0; }
	selected resp && instr_resp
	selected echo || selected http || return 0
	# gnet's servers on epoll, unless BACKENDS leaves it out.
	gnet_echo=() gnet_http=()
	if backend_selected epoll; then
		gnet_echo=("$GNET_BIN/echo") gnet_http=("$GNET_BIN/http" "$gnetd_http")
	fi
	while read -r c s; do
		instr_run "" -c "$c" -s "$s" ${gnet_echo[@]+"${gnet_echo[@]}"} \
		    "$BIN/raw_epoll_echo" "$BIN/libuv_echo" "$BIN/libevent_echo" ||
		    log "run: FAIL instruction counts c$c/${s}B"
		[ "$URING_OK" != 1 ] || instr_run -uring -c "$c" -s "$s" "$GNET_BIN/echo" ||
		    log "run: FAIL gnet-uring instruction counts c$c/${s}B"
	done < <(instr_cells)
	# HTTP, one connection at depth 1 and 16: the module in gnetd beside
	# the example it must cost no more than, and the raw loop. The size
	# column holds the depth ("d16").
	for d in 1 16; do
		instr_run "" -m http -c 1 -d "$d" ${gnet_http[@]+"${gnet_http[@]}"} "$BIN/raw_epoll_http" ||
		    log "run: FAIL HTTP instruction counts d$d"
		[ "$URING_OK" != 1 ] || instr_run -uring -m http -c 1 -d "$d" "$GNET_BIN/http" "$gnetd_http" ||
		    log "run: FAIL HTTP gnet-uring instruction counts d$d"
	done
}

# instr_run SUFFIX ARG...: bench/instr.sh ARG... with gnet on epoll
# (SUFFIX empty) or on io_uring (SUFFIX -uring, named gnet-uring,
# gnetd-uring), its lines appended to $WORK/instr.txt as "FRAMEWORK CONNS
# SIZE COUNT". GNET_BACKEND reaches every server; only gnet's read it.
instr_run() {
	local suffix=$1 backend=epoll fw
	shift
	[ -z "$suffix" ] || backend=uring
	GNET_BACKEND=$backend SERVER_CPU=$SERVER_CPU LOAD_CPU=$LOAD_CPU bash bench/instr.sh "$@" |
	while read -r _ bin c s n; do
		case ${bin##*/} in
		echo | http) fw=gnet$suffix ;;
		gnetd+http.so) fw=gnetd$suffix ;;
		gnetd+*) fw=gnetd-l1$suffix ;;
		raw_epoll_echo | raw_epoll_http) fw=raw_epoll ;;
		libuv_echo) fw=libuv ;; libevent_echo) fw=libevent ;;
		redis-server) fw=redis-io1 ;;
		*) fw=${bin##*/} ;;
		esac
		echo "$fw $c $s $n"
	done >>"$WORK/instr.txt"
}

# RESP: redis-server (one thread) against gnetd + resp (one loop, on
# epoll), one redis-benchmark client at depth 1 and 16, SET+GET+INCR
# (instr.sh -m resp); the size column holds "resp-dDEPTH".
instr_resp() {
	# "--save" alone is redis 7's empty save list (instr.sh splits the
	# command line on blanks, so '' would not be an empty word).
	local d servers=("redis-server --port @PORT@ --bind 127.0.0.1 --save --appendonly no --io-threads 1")
	[ -f "$RESP_MODULE" ] &&
	    servers+=("$GNET_TOOLS/gnetd --loops 1 --loadmodule $RESP_MODULE listen=tcp://127.0.0.1:@PORT@")
	for d in $([ "$QUICK" = 1 ] && echo 1 || echo 1 16); do
		instr_run "" -m resp -c 1 -d "$d" "${servers[@]}" ||
		    log "run: FAIL RESP instruction counts d$d"
	done
}

instr_table() {
	[ -s "$WORK/instr.txt" ] || return 0
	echo
	echo "User-space instructions per echoed message (echo cells, depth 1) or HTTP request"
	echo "(http cells: wrk, one connection; gnetd = the http module) or RESP request (resp"
	echo "cells: redis-benchmark, one client, SET+GET+INCR) -- callgrind, bench/instr.sh."
	echo "User space only: callgrind cannot see the kernel, where io_uring runs gnet-uring's"
	echo "receives and sends (and every server's syscalls), so gnet-uring's count leaves that out:"
	awk "$AWK_INSTR_CELL"'{ cell = instr_cell($2, $3); v[cell, $1] = $4
	       if (!(cell in seen)) { seen[cell]; order[++n] = cell }
	       if (!($1 in fws)) { fws[$1]; fo[++m] = $1 } }
	END {
		printf "  %-14s", "cell"; for (j = 1; j <= m; j++) printf " %11s", fo[j]; print ""
		for (i = 1; i <= n; i++) {
			printf "  %-14s", order[i]
			for (j = 1; j <= m; j++) printf " %11s", ((order[i], fo[j]) in v) ? v[order[i], fo[j]] : "-"
			print ""
		}
	}' "$WORK/instr.txt"
}

# awk: instr_cell(conns, size), the cell of an instr.txt line.
AWK_INSTR_CELL='
function instr_cell(c, s) {
	if (s ~ /^resp-/) { sub(/^resp-/, "", s); return "resp c" c "/" s }
	return s ~ /^d/ ? "http c" c "/" s : "c" c "/" s "B/d1"
}'

# ---------------------------------------------------------------------------
# Report: medians, ratios, table, CSV, chart.

# awk: median(v, m) of v[1..m] (sorts v; the lower middle when m is
# even), for the programs below.
AWK_MEDIAN='
function median(v, m,    a, b, t) {
	for (a = 2; a <= m; a++)
		for (b = a; b > 1 && (v[b - 1] + 0) > (v[b] + 0); b--) { t = v[b]; v[b] = v[b - 1]; v[b - 1] = t }
	return v[int((m + 1) / 2)]
}'

# The median run of each (suite, framework, cell) by CPU per million
# messages, and its ratio to raw_epoll (in the resp suite to redis-io1,
# redis-server with one thread): the median, over the repeats, of
# the framework's CPU divided by raw_epoll's CPU in the same repeat. A
# repeat measures every framework of a cell back to back, so a slow spell
# of the machine (a whole run in the wake-per-event regime, a noisy
# neighbour) lands on both sides of that repeat's ratio and cancels.
# The last column, ratio_uring_to_epoll, is the same ratio for an
# io_uring twin against its epoll row (gnet-uring / gnet, gnetd-uring /
# gnetd), and empty on every other row. It comes after errors so that
# the columns before it keep their places (and their readers: the table,
# the charts, the resp tables).
summarise() {
	awk -F, -v OFS=, "$AWK_MEDIAN"'
	# ratio(k, ref): the median over the repeats of the CPU of k over
	# that of ref in the same repeat, or "" when no repeat has both.
	function ratio(k, ref,    r, m, rep) {
		delete r; m = 0
		for (rep in reps)
			if (((k, rep) in at) && ((ref, rep) in at) && at[ref, rep] > 0)
				r[++m] = at[k, rep] / at[ref, rep]
		return m ? sprintf("%.3f", median(r, m)) : ""
	}
	{
		k = $1 SUBSEP $2 SUBSEP $3
		if (!(k in seen)) { seen[k]; order[++n] = k }
		runs[k]++
		if ($5 == "ok" && $9 != "nan") {
			ok[k]++; row[k, ok[k]] = $0; cpu[k, ok[k]] = $9
			at[k, $4] = $9; reps[$4]
		}
	}
	END {
		print "suite,framework,cell,runs,ok_runs,msgs_per_s,mb_per_s,p99_us,cpu_s_per_M,ratio_to_raw_epoll,errors,ratio_uring_to_epoll"
		for (i = 1; i <= n; i++) {
			k = order[i]
			if (!ok[k]) { med[k] = ""; continue }
			delete c; m = ok[k]
			# the CPU figure, with the run index after "|"
			for (j = 1; j <= m; j++) c[j] = cpu[k, j] "|" j
			split(median(c, m), parts, "|")
			med[k] = row[k, parts[2]]
		}
		for (i = 1; i <= n; i++) {
			k = order[i]; split(k, kk, SUBSEP)
			if (med[k] == "") { print kk[1], kk[2], kk[3], runs[k], 0, "", "", "", "", "", "", ""; continue }
			split(med[k], f, ",")
			ref = kk[1] SUBSEP (kk[1] == "resp" ? "redis-io1" : "raw_epoll") SUBSEP kk[3]
			twin = kk[2]
			vs_epoll = sub(/-uring$/, "", twin) ? ratio(k, kk[1] SUBSEP twin SUBSEP kk[3]) : ""
			print kk[1], kk[2], kk[3], runs[k], ok[k], f[6], f[7], f[8], f[9], ratio(k, ref), f[10], vs_epoll
		}
	}' "$RAW"
}

# pairs_table SUITE BASE PEERS TITLE: BASE against each of PEERS (all
# but BASE and raw_epoll when empty), pair by pair: in every repeat,
# BASE's CPU per message over the peer's; the median of those ratios and
# the number of repeats where BASE used less.
pairs_table() {
	awk -F, -v suite="$1" -v base="$2" -v only="$3" -v title="$4" "$AWK_MEDIAN"'
	$1 == suite && $5 == "ok" && $9 != "nan" {
		cpu[$3, $2, $4] = $9; reps[$4]
		if (!($3 in seen)) { seen[$3]; cell[++nc] = $3 }
		if (!($2 in known)) { known[$2]; fw[++nf] = $2 }
	}
	END {
		np = 0
		for (j = 1; j <= nf; j++) {
			if (only != "")
				keep = index(" " only " ", " " fw[j] " ") > 0
			else
				keep = fw[j] != base && fw[j] != "raw_epoll"
			if (keep)
				peer[++np] = fw[j]
		}
		if (!(base in known) || np == 0) exit
		print ""
		print title
		printf "  %-16s", "cell"
		for (j = 1; j <= np; j++) printf " %16s", peer[j]
		print ""
		for (i = 1; i <= nc; i++) {
			printf "  %-16s", cell[i]
			for (j = 1; j <= np; j++) {
				delete r; m = 0; w = 0
				for (rep in reps)
					if (((cell[i], base, rep) in cpu) && ((cell[i], peer[j], rep) in cpu) &&
					    cpu[cell[i], peer[j], rep] > 0) {
						r[++m] = cpu[cell[i], base, rep] / cpu[cell[i], peer[j], rep]
						if (r[m] < 1) w++
					}
				if (m) printf " %9.3f (%d/%d)", median(r, m), w, m
				else printf " %16s", "-"
			}
			print ""
		}
	}' "$RAW"
}

print_table() {
	local csv=$1
	echo "gnet benchmark: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo))"
	echo "server on CPU $SERVER_CPU, load on CPU $LOAD_CPU; ${DURATION} s measured after ${WARMUP} s warm-up; median of $REPEATS"
	echo "(vs raw: the median over the repeats of the CPU ratio to raw_epoll within each repeat;"
	echo " resp rows: to redis-io1, and CPU s/1M = CPU µs per request;"
	echo " gnet, gnetd: GNET_BACKEND=epoll; gnet-uring, gnetd-uring: GNET_BACKEND=uring, and vs epoll"
	echo " is their CPU ratio to the same program on epoll, gnet or gnetd, within each repeat)"
	[ -z "$URING_NOTE" ] || echo "NOTE: $URING_NOTE"
	echo
	awk -F, '
	NR == 1 { printf "%-6s %-12s %-16s %12s %9s %9s %11s %8s %8s\n", "suite", "framework", "cell", "msgs/s", "MB/s", "p99 us", "CPU s/1M", "vs raw", "vs epoll"; next }
	$5 == 0 { printf "%-6s %-12s %-16s %12s\n", $1, $2, $3, "FAIL"; next }
	{ line = sprintf("%-6s %-12s %-16s %12s %9s %9s %11s %8s %8s%s", $1, $2, $3, $6, $7, ($8 == "" ? "n/a" : $8), $9, $10,
	    $12, ($11 + 0 > 0 ? "  errors=" $11 : ""))
	  sub(/ +$/, "", line); print line }' "$csv"
	if [ -s "$WORK/mem.csv" ]; then
		echo
		echo "Memory: server RSS with $IDLE_CONNS idle connections"
		awk -F, '{ if ($4 != "ok") printf "  %-12s FAIL\n", $2
		           else printf "  %-12s %8s KiB idle %8s KiB loaded %7s B/conn\n", $2, $5, $6, $7 }' "$WORK/mem.csv"
	fi
}

# uring_tables: gnet on io_uring against gnet on epoll and the peers,
# pair by pair within each repeat, per cell (pairs_table), in every suite
# that ran it; or the note saying why it did not run.
uring_tables() {
	if [ -n "$URING_NOTE" ]; then
		echo
		echo "io_uring: $URING_NOTE"
		return 0
	fi
	pairs_table echo gnet-uring "gnet raw_epoll libuv libevent" \
	    "Echo, gnet on io_uring against gnet on epoll and each peer within each repeat (median of gnet-uring CPU / other CPU; repeats where gnet-uring used less):"
	pairs_table http gnet-uring "gnet raw_epoll nginx" \
	    "HTTP, examples/http.c on io_uring against it on epoll and the peers within each repeat (median of gnet-uring CPU / other CPU; repeats where gnet-uring used less):"
	pairs_table http gnetd-uring "gnetd raw_epoll gnet-uring" \
	    "HTTP, the http module in gnetd on io_uring against it on epoll, the raw loop and examples/http.c on io_uring (median of gnetd-uring CPU / other CPU; repeats where gnetd-uring used less):"
	pairs_table udp gnet-uring "gnet raw_epoll" \
	    "UDP, gnet on io_uring against gnet on epoll and the raw loop within each repeat (median of gnet-uring CPU / other CPU; repeats where gnet-uring used less):"
}

# resp_table CSV: the resp suite, one table per pipeline depth, from the
# summary CSV (the median run's rps, p99 and CPU) and the runs in $RAW
# (the ratios, pair by pair within each repeat, as pairs_table does):
# every server against redis-io1, and gnetd-lN against redis-ioN, the
# redis-server with as many threads, in CPU per request and in rps.
resp_table() {
	local csv=$1 d fws="" n
	grep -q '^resp,' "$csv" || [ -n "${RESP_NOTE:-}" ] || return 0
	for n in $RESP_THREADS; do fws+="redis-io$n gnetd-l$n "; done
	for d in $RESP_DEPTHS; do
		echo
		echo "RESP at -P $d: redis-benchmark -c $RESP_CLIENTS -r $RESP_KEYSPACE -P $d -t TEST, $(resp_requests "$d") requests per run, median of $REPEATS"
		echo "(CPU us/req: server CPU, all threads, per request; CPU vs X: median over the repeats of the server's CPU"
		echo " per request over X's in the same repeat, with the repeats where it used less; rps vs X: the same for rps,"
		echo " with the repeats where it was faster;"
		echo " servers of more than one thread (*) run on every CPU and share CPU $LOAD_CPU with redis-benchmark)"
		[ -z "${RESP_NOTE:-}" ] || echo "$RESP_NOTE"
		awk -F, -v depth="d$d" -v clients="$RESP_CLIENTS" -v fws="$fws" -v tests="$RESP_TESTS" "$AWK_MEDIAN"'
		# pair: the median ratio of column col (6 rps, 9 CPU), a over
		# b, and the repeats where a did better (less CPU, more rps).
		function pair(cell, a, b, col,    r, m, w, rep) {
			delete r; m = 0; w = 0
			for (rep in reps)
				if (((cell, a, rep, col) in v) && ((cell, b, rep, col) in v) && v[cell, b, rep, col] > 0) {
					r[++m] = v[cell, a, rep, col] / v[cell, b, rep, col]
					if (col == 9 ? r[m] < 1 : r[m] > 1) w++
				}
			return m ? sprintf("%.3f (%d/%d)", median(r, m), w, m) : "-"
		}
		FNR == NR { if ($1 == "resp" && FNR > 1) sum[$3, $2] = $0; next }
		$1 == "resp" && $5 == "ok" && $9 != "nan" {
			v[$3, $2, $4, 6] = $6; v[$3, $2, $4, 9] = $9; reps[$4]
		}
		END {
			nf = split(fws, fw, " "); nt = split(tests, tt, " ")
			printf "  %-11s %-5s %10s %8s %11s %16s %16s %16s\n", "server", "test", "rps", "p99 us",
			    "CPU us/req", "CPU vs redis-io1", "CPU vs redis-ioN", "rps vs redis-ioN"
			for (t = 1; t <= nt; t++) {
				cell = "c" clients "/" tt[t] "/" depth
				for (j = 1; j <= nf; j++) {
					f = fw[j]; name = f; threads = f; sub(/^[a-z]+-[a-z]+/, "", threads)
					if (threads + 0 > 1) name = name "*"
					if (!((cell, f) in sum)) continue
					split(sum[cell, f], s, ",")
					if (s[5] == 0) { printf "  %-11s %-5s %10s\n", name, tt[t], "FAIL"; continue }
					peer = "redis-io" threads
					vs1 = (f == "redis-io1") ? "1.000" : pair(cell, f, "redis-io1", 9)
					vsn = (f ~ /^gnetd/) ? pair(cell, f, peer, 9) : ""
					rpsn = (f ~ /^gnetd/) ? pair(cell, f, peer, 6) : ""
					out = sprintf("  %-11s %-5s %10s %8s %11s %16s %16s %16s", name, tt[t], s[6],
					    (s[8] == "" ? "n/a" : s[8]), s[9], vs1, vsn, rpsn)
					sub(/ +$/, "", out)
					print out
				}
			}
			# The target: gnetd with one loop at most 0.7x redis-server
			# with one thread in CPU per request, on every test.
			line = ""
			for (t = 1; t <= nt; t++) {
				cell = "c" clients "/" tt[t] "/" depth
				r = pair(cell, "gnetd-l1", "redis-io1", 9)
				if (r == "-") {
					# gnetd-l1 measured and failed: say so, the goal is unshown
					if ((cell, "gnetd-l1") in sum) line = line sprintf(" %s FAIL;", tt[t])
					continue
				}
				split(r, x, " ")
				line = line sprintf(" %s %s %s;", tt[t], x[1], (x[1] + 0 <= 0.7 ? "met" : "MISSED"))
			}
			sub(/;$/, "", line)
			if (line != "") print "  goal, gnetd-l1 CPU/req <= 0.70 x redis-io1:" line
		}' "$csv" "$RAW"
	done
}

# chart CSV PNG COLUMN TITLE YLABEL GNUPLOT-SETTINGS: one bar per framework
# for every echo cell, from column COLUMN of the summary CSV.
chart() {
	local csv=$1 png=$2 col=$3 title=$4 ylabel=$5 settings=$6 dat
	command -v gnuplot >/dev/null || { log "run: gnuplot not installed; no chart"; return 0; }
	dat=$(mktemp /tmp/gnet-chart.XXXXXX)
	# Rows: echo cells; columns: frameworks.
	awk -F, -v col="$col" 'NR > 1 && $1 == "echo" {
		if (!($3 in cs)) { cs[$3]; co[++n] = $3 }
		if (!($2 in fs)) { fs[$2]; fo[++m] = $2 }
		v[$3, $2] = ($col == "" ? "?" : $col)
	} END {
		printf "cell"; for (j = 1; j <= m; j++) printf " %s", fo[j]; print ""
		for (i = 1; i <= n; i++) { printf "%s", co[i]; for (j = 1; j <= m; j++) printf " %s", v[co[i], fo[j]]; print "" }
	}' "$csv" >"$dat"
	if [ "$(wc -l <"$dat")" -gt 1 ]; then
		gnuplot <<EOF || log "run: gnuplot failed; no chart $png"
set terminal pngcairo size 1400,600 noenhanced
set output '$png'
set title '$title'
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set datafile missing '?'
set key autotitle columnheader outside right top
set ylabel '$ylabel'
set xtics rotate by -30
set grid ytics
$settings
plot for [i=2:$(( $(head -1 "$dat" | wc -w) ))] '$dat' using i:xtic(1)
EOF
	fi
	rm -f "$dat"
}

# Both charts of a summary CSV, into the directory DIR.
charts() {
	local csv=$1 dir=$2
	chart "$csv" "$dir/cpu_per_million.png" 9 \
	    'Echo: server CPU seconds per million messages (median run; lower is better; log scale)' \
	    'CPU s per 1M messages' 'set logscale y'
	chart "$csv" "$dir/cpu_vs_raw.png" 10 \
	    'Echo: server CPU relative to the raw epoll loop (median of per-repeat ratios; lower is better)' \
	    'CPU / raw epoll CPU' 'set yrange [0.8:1.6]; set ytics 0.1; set label 1 "bars above 1.6 are cut" at graph 0.01, graph 0.96 front'
}

report() {
	local stamp csv=$RESULTS/latest.csv
	stamp=$(date -u +%Y%m%d-%H%M%S)
	mkdir -p "$RESULTS"
	summarise >"$csv"
	if [ -s "$WORK/mem.csv" ]; then
		echo "suite,framework,cell,status,rss_idle_kib,rss_loaded_kib,bytes_per_conn" >"$RESULTS/memory.csv"
		cat "$WORK/mem.csv" >>"$RESULTS/memory.csv"
		cp "$RESULTS/memory.csv" "$RESULTS/memory-$stamp.csv"
	fi
	cp "$csv" "$RESULTS/$stamp.csv"
	{ echo "suite,framework,cell,repeat,status,msgs_per_s,mb_per_s,p99_us,cpu_s_per_M,errors"
	  cat "$RAW"; } >"$RESULTS/runs-$stamp.csv"
	cp "$RESULTS/runs-$stamp.csv" "$RESULTS/runs-latest.csv"
	if [ -s "$WORK/strace.txt" ]; then
		echo "framework,cell,syscall,calls_per_msg" >"$RESULTS/strace.csv"
		tr ' ' , <"$WORK/strace.txt" >>"$RESULTS/strace.csv"
	fi
	if [ -s "$WORK/instr.txt" ]; then
		echo "framework,cell,instructions_per_msg" >"$RESULTS/instr.csv"
		awk "$AWK_INSTR_CELL"'{ printf "%s,%s,%s\n", $1, instr_cell($2, $3), $4 }' \
		    "$WORK/instr.txt" >>"$RESULTS/instr.csv"
	fi
	{ print_table "$csv"
	  pairs_table echo gnet "libuv libevent" "Echo, gnet against each peer within each repeat (median of gnet CPU / peer CPU; repeats where gnet used less):"
	  pairs_table http gnetd gnet "HTTP, the http module in gnetd against examples/http.c within each repeat (median of module CPU / example CPU; repeats where the module used less):"
	  ! { selected echo || selected http || selected udp || selected memory || selected strace || selected instr; } ||
	      uring_tables
	  resp_table "$csv"
	  ! selected strace || strace_table
	  instr_table; } | tee "$RESULTS/latest.txt"
	charts "$csv" "$RESULTS"
	log "run: CSV $csv (and $RESULTS/$stamp.csv); table $RESULTS/latest.txt"
}

# ---------------------------------------------------------------------------

# The cells of a suite as "CONNS SIZE DEPTH" words.
echo_cells() {
	local c s d
	if [ "$QUICK" = 1 ]; then
		printf '%s\n' "64 64 1" "64 64 16"
		return
	fi
	for c in 1 64 1000; do
		for s in 64 4096; do
			for d in 1 16; do
				echo "$c $s $d"
			done
		done
	done
}

# "CLIENTS TEST DEPTH": every test at every depth.
resp_cells() {
	local d t
	for d in $RESP_DEPTHS; do
		for t in $RESP_TESTS; do
			echo "$RESP_CLIENTS $t $d"
		done
	done
}

# The resp suite: redis-server with RESP_THREADS io-threads against gnetd
# with as many loops.
run_resp() {
	local fws="" n cells
	if ! command -v redis-server >/dev/null || ! command -v redis-benchmark >/dev/null; then
		log "run: redis-server or redis-benchmark is not installed (scripts/deps.sh): no resp suite"
		return 0
	fi
	RESP_NOTE=""
	if [ ! -f "$RESP_MODULE" ]; then
		log "run: $RESP_MODULE is missing (make modules builds it; RESP_MODULE names another)"
		exit 1
	fi
	for n in $RESP_THREADS; do
		fws+="redis-io$n gnetd-l$n "
	done
	mapfile -t cells < <(resp_cells)
	run_suite resp "${fws% }" "${cells[@]}"
}

http_cells() {
	local c d
	if [ "$QUICK" = 1 ]; then
		echo "64 - 16"
		return
	fi
	for c in 64 1000; do
		for d in 1 16; do
			echo "$c - $d"
		done
	done
}

main() {
	local cells fw d
	if [ "${1:-}" = --charts ]; then
		# Redraw the charts of the last run (bench/results/latest.csv).
		charts "$RESULTS/latest.csv" "$RESULTS"
		rm -rf "$WORK"
		return
	fi
	check_number DURATION "$DURATION" 1
	check_number WARMUP "$WARMUP" 0
	check_number REPEATS "$REPEATS" 1
	check_number IDLE_CONNS "$IDLE_CONNS" 1
	check_number RESP_CLIENTS "$RESP_CLIENTS" 1
	check_number RESP_KEYSPACE "$RESP_KEYSPACE" 1
	[ -z "$RESP_REQUESTS" ] || check_number RESP_REQUESTS "$RESP_REQUESTS" 1
	check_number RESP_TIMEOUT "$RESP_TIMEOUT" 1
	for fw in $RESP_THREADS $RESP_DEPTHS; do check_number "RESP_THREADS/RESP_DEPTHS" "$fw" 1; done
	[ -n "${BACKENDS// /}" ] || { log "run: BACKENDS is empty (epoll uring)"; exit 2; }
	for fw in $BACKENDS; do
		case $fw in
		epoll | uring) ;;
		*) log "run: BACKENDS: no backend $fw (epoll uring)"; exit 2 ;;
		esac
	done
	for fw in $SUITES; do
		case $fw in
		echo | http | udp | resp | redis-host | memory | strace | instr) ;;
		*) log "run: SUITES: no suite $fw (echo http udp resp redis-host memory strace instr)"; exit 2 ;;
		esac
	done
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	[ -f bench/load.c ] || { log "run: bench/load.c is missing"; exit 1; }
	build
	: >"$RAW"
	# gnet on io_uring beside gnet on epoll, where the suites run gnet's
	# examples (not resp, not redis-host).
	if selected echo || selected http || selected udp || selected memory ||
	    selected strace || selected instr; then
		uring_probe
	fi
	if selected echo; then
		mapfile -t cells < <(echo_cells)
		run_suite echo "$(with_uring gnet) raw_epoll libuv libevent" "${cells[@]}"
	fi
	if selected http; then
		mapfile -t cells < <(http_cells)
		run_suite http "$(with_uring gnet gnetd) raw_epoll nginx" "${cells[@]}"
	fi
	# The issue's cell (4 in flight), and 16 in flight, where consecutive
	# replies to one peer are common enough for GSO runs to pay.
	selected udp && run_suite udp "$(with_uring gnet) raw_epoll" "64 1024 4" "64 1024 16"
	selected resp && run_resp
	# gnet_redis.so against the native port of the same redis-server, on
	# epoll as the other gnet rows without -uring.
	if selected redis-host; then
		log "run: redis-host (bench/redis_host.sh)"
		QUICK_N=$([ "$QUICK" = 1 ] && echo 100000 || echo 400000)
		GNET_BACKEND=epoll REQUESTS=$QUICK_N REPEATS=$([ "$QUICK" = 1 ] && echo 1 || echo 3) \
		    bash bench/redis_host.sh | tee "$RESULTS/redis_host.txt"
	fi
	if selected memory; then
		log "run: memory with $IDLE_CONNS idle connections"
		for fw in $(with_uring gnet) raw_epoll libuv libevent; do
			memory_one "$fw"
		done
	fi
	if selected strace; then
		log "run: syscalls per message (strace)"
		for d in $STRACE_DEPTHS; do
			for fw in $(with_uring gnet) raw_epoll; do
				strace_one "$fw" "$d"
			done
		done
	fi
	if selected instr && [ "${INSTR:-1}" != 0 ]; then
		log "run: user-space instructions per message (callgrind)"
		instr_all
	fi
	report
}

main "$@"
