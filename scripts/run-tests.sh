#!/usr/bin/env bash
# Runs Check test binaries (a folder of them, or the binaries given) and
# prints one closing line summing every suite: "tests: N passed, N failed".
# Each binary runs under a hard timeout so a hang fails instead of blocking.
set -u
if [ $# -eq 1 ] && [ -d "$1" ]; then
	set -- "$1"/check_*
fi
passed=0; failed=0; status=0
failures=""
for t in "$@"; do
	[ -x "$t" ] || continue
	echo "== $(basename "$t")"
	out=$(timeout -k 10 600 "$t" 2>&1); rc=$?
	echo "$out"
	# Check prints a failed test as "file:line:F:..." or ":E:", a sanitizer
	# its report as "SUMMARY: ..."; both are repeated at the end, since a
	# CI log may show only its tail.
	bad=$(echo "$out" | grep -E '^[^ ]+:[0-9]+:[FE]:|^SUMMARY: ' | head -5)
	[ -z "$bad" ] || failures="$failures$bad"$'\n'
	line=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	if [ -n "$line" ]; then
		n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
		f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
		e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
		passed=$((passed + n - f - e)); failed=$((failed + f + e))
	else
		echo "!! $(basename "$t") exited $rc without a Check summary"
		failures="$failures$(basename "$t") exited $rc without a Check summary"$'\n'
		failed=$((failed + 1))
	fi
	if [ $rc -ne 0 ]; then
		# A sanitizer report at exit, a crash after the summary or the
		# timeout: the Check line alone would hide it.
		if [ -n "$line" ]; then
			echo "!! $(basename "$t") exited $rc after its Check summary"
			failures="$failures$(basename "$t") exited $rc after its Check summary"$'\n'
		fi
		status=1
	fi
done
[ -z "$failures" ] || printf '== what failed\n%s' "$failures"
echo "tests: $passed passed, $failed failed"
[ $failed -eq 0 ] || status=1
exit $status
