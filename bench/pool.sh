#!/usr/bin/env bash
# bench/pool.sh -- gnet against one echo peer over several make bench runs.
#
#   bash bench/pool.sh [-g GNET] [-p PEER] bench/results/runs-A.csv bench/results/runs-B.csv ...
#
# One run's 5-7 repeats cannot rank two servers that are 1-2% apart on a
# shared VM: a repeat's ratio of two servers spreads over 0.83-1.22. This
# pools the repeats of several runs (run.sh writes each run's repeats to
# bench/results/runs-<stamp>.csv). For every echo cell it prints, over
# all pairs (gnet and PEER in the same repeat of the same run): the
# median and geometric mean of gnet CPU / PEER CPU, in how many pairs gnet
# used less, and the two-sided sign-test p-value of that count (the
# chance of a split at least that uneven if neither server were cheaper).
#
# PEER is libuv by default (raw_epoll, libevent or gnet also work). GNET
# is gnet's row: gnet (on epoll; the default) or gnet-uring (on io_uring),
# so "-g gnet-uring -p gnet" pools io_uring against epoll. Name each run
# once: runs-latest.csv is a copy of the newest dated file.
set -euo pipefail

PEER=libuv GNET=gnet
while getopts g:p: opt; do
	case $opt in
	g) GNET=$OPTARG ;;
	p) PEER=$OPTARG ;;
	*) echo "usage: pool.sh [-g GNET] [-p PEER] RUNS.csv..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: pool.sh [-g GNET] [-p PEER] RUNS.csv..." >&2; exit 2; }
for f in "$@"; do
	[ -r "$f" ] || { echo "pool.sh: cannot read $f" >&2; exit 1; }
done

# Columns of runs-*.csv: suite,framework,cell,repeat,status,msgs_per_s,
# mb_per_s,p99_us,cpu_s_per_M,errors. A run is told apart by its file.
awk -F, -v peer="$PEER" -v gnet="$GNET" '
function median(v, m,    a, b, t) {
	for (a = 2; a <= m; a++)
		for (b = a; b > 1 && v[b - 1] > v[b]; b--) { t = v[b]; v[b] = v[b - 1]; v[b - 1] = t }
	return m % 2 ? v[(m + 1) / 2] : (v[m / 2] + v[m / 2 + 1]) / 2
}
# Two-sided sign test: P(X <= k or X >= n - k) for X ~ Binomial(n, 1/2).
function sign_p(n, k,    i, p, s) {
	if (k > n - k) k = n - k
	p = 0.5 ^ n; s = 0
	for (i = 0; i <= k; i++) { s += p; p = p * (n - i) / (i + 1) }
	s *= 2
	return s > 1 ? 1 : s
}
FNR == 1 { run++; next }
$1 == "echo" && $5 == "ok" && ($2 == gnet || $2 == peer) {
	cpu[run, $3, $4, $2] = $9
	if (!($3 in seen)) { seen[$3]; order[++ncell] = $3 }
	if ($2 == gnet) key[++nkey] = run SUBSEP $3 SUBSEP $4
}
END {
	for (i = 1; i <= nkey; i++) {
		split(key[i], k, SUBSEP)
		if (!((k[1], k[2], k[3], peer) in cpu) || cpu[k[1], k[2], k[3], peer] <= 0) continue
		r = cpu[k[1], k[2], k[3], gnet] / cpu[k[1], k[2], k[3], peer]
		n[k[2]]++; v[k[2], n[k[2]]] = r; lg[k[2]] += log(r)
		if (r < 1) lo[k[2]]++
	}
	printf "%s / %s over %d run(s), pairs within each repeat:\n", gnet, peer, run
	printf "  %-16s %6s %8s %8s %10s %8s\n", "cell", "pairs", "median", "geomean", "cheaper", "sign p"
	for (c = 1; c <= ncell; c++) {
		cell = order[c]
		if (!n[cell]) continue
		delete w
		for (j = 1; j <= n[cell]; j++) w[j] = v[cell, j]
		printf "  %-16s %6d %8.3f %8.3f %5d/%-4d %8.3f\n", cell, n[cell], median(w, n[cell]),
		    exp(lg[cell] / n[cell]), lo[cell], n[cell], sign_p(n[cell], lo[cell] + 0)
		tl += lo[cell]; tn += n[cell]
	}
	printf "  all cells: %s used less in %d of %d pairs\n", gnet, tl, tn
}' "$@"
