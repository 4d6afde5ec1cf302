#!/usr/bin/env bash
# Runs the suites that drive connections end to end (echo, close,
# backpressure, codec_live, client, write, transport, udp) from a
# sanitizer build under fault injection (base/fault.h): every transparent
# class at once, at rates far above any real system's. They must pass
# exactly as without faults. Prints what was injected, summed over each
# suite's test processes.
#   scripts/test-faults.sh BUILD_DIR [GNET_FAULTS spec]
set -u
dir=$1
spec=${2:-eintr:0.2,short:0.5,eagain:0.2,emfile:0.03,seed:7}
suites="check_echo check_close check_backpressure check_codec_live check_client
check_write check_transport check_transport_udp check_udp_async"
status=0
for s in $suites; do
	out=$(GNET_FAULTS=$spec timeout -k 10 600 "$dir/$s" 2>&1); rc=$?
	summary=$(echo "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
	sums=$(echo "$out" | grep '^gnet faults injected:' | tr ' ' '\n' |
	    grep '=' | awk -F= '{ n[$1] += $2 } END {
	        printf "eintr=%d short=%d eagain=%d emfile=%d",
	            n["eintr"], n["short"], n["eagain"], n["emfile"] }')
	echo "$s: ${summary:-no Check summary} | injected: $sums"
	if [ $rc -ne 0 ]; then
		echo "$out" | grep -E '^[^ ]+:[0-9]+:[FE]:|^SUMMARY: ' | head -5
		status=1
	fi
done
exit $status
