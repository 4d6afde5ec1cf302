#!/usr/bin/env bash
# Runs Check test binaries (a folder of them, or the binaries given) and
# prints one closing line summing every suite: "tests: N passed, N failed".
# Each binary runs under a hard timeout so a hang fails instead of blocking.
#
# Every suite runs once per poller backend (GNET_BACKEND: epoll, then
# io_uring), as the library behaves the same on both and each must show
# it. BACKENDS="epoll" (or "uring") runs one pass. The io_uring pass asks
# probe-backend, built beside the tests, whether io_uring can run here; if
# not (an old kernel, kernel.io_uring_disabled, a seccomp filter) that
# pass is skipped and the reason printed.
set -u
if [ $# -eq 1 ] && [ -d "$1" ]; then
	set -- "$1"/check_*
fi
BACKENDS=${BACKENDS:-epoll uring}
probe="$(dirname "${1:-.}")/probe-backend"
passed=0; failed=0; status=0
failures=""

# run_suite BACKEND BINARY
run_suite() {
	local be=$1 t=$2 out rc bad line n f e name start
	name="$(basename "$t") [$be]"
	echo "== $name"
	start=$SECONDS
	out=$(GNET_BACKEND=$be timeout -k 10 600 "$t" 2>&1); rc=$?
	echo "$out"
	echo "-- $name took $((SECONDS - start)) s"
	# Check prints a failed test as "file:line:F:..." or ":E:", a sanitizer
	# its report as "SUMMARY: ..."; both are repeated at the end, since a
	# CI log may show only its tail.
	bad=$(echo "$out" | grep -E '^[^ ]+:[0-9]+:[FE]:|^SUMMARY: ' | head -5 |
	    sed "s/^/[$be] /")
	[ -z "$bad" ] || failures="$failures$bad"$'\n'
	line=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		passed=$((passed + n - f - e)); failed=$((failed + f + e))
	else
		echo "!! $name exited $rc without a Check summary"
		failures="$failures$name exited $rc without a Check summary"$'\n'
		failed=$((failed + 1))
	fi
	if [ $rc -ne 0 ]; then
		# A sanitizer report at exit, a crash after the summary or the
		# timeout: the Check line alone would hide it.
		if [ -n "$line" ]; then
			echo "!! $name exited $rc after its Check summary"
			failures="$failures$name exited $rc after its Check summary"$'\n'
		fi
		status=1
	fi
}

skipped=""
for be in $BACKENDS; do
	if [ "$be" = uring ]; then
		if [ ! -x "$probe" ]; then
			echo "!! $probe is missing: build the tests first"
			failures="${failures}probe-backend missing"$'\n'
			status=1
			continue
		fi
		if ! why=$("$probe" 2>&1); then
			echo "== the io_uring pass is skipped: $why"
			skipped=" (io_uring pass skipped: $why)"
			continue
		fi
	fi
	for t in "$@"; do
		[ -x "$t" ] || continue
		run_suite "$be" "$t"
	done
done
[ -z "$failures" ] || printf '== what failed\n%s' "$failures"
echo "tests: $passed passed, $failed failed$skipped"
[ $failed -eq 0 ] || status=1
exit $status
