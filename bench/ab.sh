#!/usr/bin/env bash
# bench/ab.sh -- compare echo servers (two builds of gnet, or gnet and a
# peer) on one cell, alternating them so slow spells of the machine hit
# every binary alike.
#
#   bash bench/ab.sh [-c CONNS] [-s SIZE] [-d DEPTH] [-r REPEATS] [-t SECONDS] BIN...
#
# Each BIN is an echo server taking --port N (examples/echo, the peers in
# build/bench/). Per run it prints the server's CPU per message (on-CPU
# time from /proc/PID/task/*/schedstat over the window, as run.sh does), the messages per
# second, and the server's busy share. When a cell keeps the server at
# ~100% busy (1000 x 4 KiB x depth 1 does here), msgs/s is the inverse of
# the cost per message and is the steadier of the two figures. At the
# end a summary gives each binary's median CPU per message and its
# per-repeat ratios to the first binary (median, range, and in how many
# repeats it used less CPU).
#
# Needs: make examples VARIANT=release, and build/bench/load (bash
# bench/run.sh builds it; or: cc -O2 -o build/bench/load bench/load.c).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOAD=$ROOT/build/bench/load
CONNS=1000 SIZE=4096 DEPTH=1 REPEATS=3 SECS=4  # SECS: whole seconds, >= 2
SERVER_CPU=${SERVER_CPU:-0} LOAD_CPU=${LOAD_CPU:-1}

usage() {
	echo "usage: ab.sh [-c CONNS] [-s SIZE] [-d DEPTH] [-r REPEATS] [-t SECONDS] BIN..." >&2
	exit 2
}

while getopts c:s:d:r:t: opt; do
	case $opt in
	c) CONNS=$OPTARG ;; s) SIZE=$OPTARG ;; d) DEPTH=$OPTARG ;;
	r) REPEATS=$OPTARG ;; t) SECS=$OPTARG ;; *) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
for v in "$CONNS" "$SIZE" "$DEPTH" "$REPEATS"; do
	[[ $v =~ ^[0-9]+$ && $v -ge 1 ]] || usage
done
[[ $SECS =~ ^[0-9]+$ && $SECS -ge 2 ]] || usage
[ -x "$LOAD" ] || { echo "ab.sh: $LOAD is missing (bash bench/run.sh builds it)" >&2; exit 1; }
for bin in "$@"; do
	[ -x "$bin" ] || { echo "ab.sh: $bin is not an executable" >&2; exit 1; }
done

# On-CPU nanoseconds of every thread of PID (run.sh's cpu_ns, children aside).
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

one_run() {
	local bin=$1 label=${1#"$ROOT"/} port pid lpid out a b rate win
	win=$(awk -v s="$SECS" 'BEGIN { print s - 0.4 }')
	port=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768 up)
	taskset -c "$SERVER_CPU" "$bin" --port "$port" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 100); do
		ss -ltn | grep -q ":$port " && break
		sleep 0.05
	done
	out=$(mktemp)
	"$LOAD" --addr "tcp://127.0.0.1:$port" --conns "$CONNS" --size "$SIZE" \
	    --depth "$DEPTH" --duration "$SECS" --warmup 1 --cpu "$LOAD_CPU" \
	    >"$out" 2>/dev/null &
	lpid=$!
	# Sample inside load's measured window: 0.2 s after the warm-up,
	# 0.2 s before the end.
	sleep 1.2
	a=$(cpu_ns "$pid")
	sleep "$win"
	b=$(cpu_ns "$pid")
	wait "$lpid" || true
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null || true
	rate=$(sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p' "$out")
	rm -f "$out"
	[ -n "$rate" ] || { printf '%-40s FAIL\n' "$label"; return; }
	awk -v bin="$label" -v a="$a" -v b="$b" -v rate="$rate" \
	    -v win="$win" 'BEGIN {
		cpu = (b - a) / 1e9
		printf "%-40s %10.0f msg/s  %7.4f us CPU/msg  busy %.2f\n",
		    bin, rate, cpu / (rate * win) * 1e6, cpu / win }'
}

# summary FILE NAME...: from "repeat index us-per-msg" lines, each
# binary's median CPU per message and, for the second binary on, the
# median of its per-repeat ratios to the first one (a repeat runs the
# binaries back to back, so a slow spell of the machine cancels out of
# its ratio).
summary() {
	local file=$1
	shift
	awk -v names="$*" '
	function median(v, m,    a, b, t) {
		for (a = 2; a <= m; a++)
			for (b = a; b > 1 && v[b - 1] > v[b]; b--) { t = v[b]; v[b] = v[b - 1]; v[b - 1] = t }
		return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
	}
	{ us[$2, $1] = $3 + 0; reps[$1] }
	END {
		nb = split(names, name, " ")
		print "summary: median us CPU/msg; per-repeat ratio to the first binary: median (min-max), repeats where it used less CPU"
		for (i = 0; i < nb; i++) {
			delete v; delete r; m = 0; k = 0; lo = 0
			for (rep in reps) {
				if (!((i, rep) in us)) continue
				v[++m] = us[i, rep]
				if (i > 0 && ((0, rep) in us) && us[0, rep] > 0) {
					r[++k] = us[i, rep] / us[0, rep]
					if (r[k] < 1) lo++
				}
			}
			if (m == 0) { printf "  %-40s no run\n", name[i + 1]; continue }
			printf "  %-40s %8.4f", name[i + 1], median(v, m)
			if (k > 0) {
				mn = mx = r[1]
				for (j = 2; j <= k; j++) { if (r[j] < mn) mn = r[j]; if (r[j] > mx) mx = r[j] }
				printf "   %.3f (%.3f-%.3f)  %d/%d", median(r, k), mn, mx, lo, k
			}
			print ""
		}
	}' "$file"
}

RESULTS=$(mktemp)
trap 'rm -f "$RESULTS"' EXIT
echo "cell c$CONNS/${SIZE}B/d$DEPTH, $SECS s runs, server on CPU $SERVER_CPU, load on CPU $LOAD_CPU"
for rep in $(seq "$REPEATS"); do
	idx=0
	for bin in "$@"; do
		line=$(one_run "$bin")
		echo "$line"
		us=$(awk '{ for (k = 2; k <= NF; k++) if ($k == "us") print $(k - 1) }' <<<"$line")
		[ -z "$us" ] || echo "$rep $idx $us" >>"$RESULTS"
		idx=$((idx + 1))
	done
done
labels=()
for bin in "$@"; do
	labels+=("${bin#"$ROOT"/}")
done
summary "$RESULTS" "${labels[@]}"
