#!/usr/bin/env bash
# Runs the suites that drive connections end to end (echo, close,
# backpressure, codec_live, client, write, transport, udp) from a
# sanitizer build under fault injection (base/fault.h): every transparent
# class at once, at rates far above any real system's. They must pass
# exactly as without faults (scripts/run-tests.sh judges them). Prints
# what was injected, summed over every test process.
#   scripts/test-faults.sh BUILD_DIR [GNET_FAULTS spec]
set -u
dir=$1
spec=${2:-eintr:0.2,short:0.5,eagain:0.2,emfile:0.03,seed:7}
suites="check_echo check_close check_backpressure check_codec_live check_client
check_write check_transport check_transport_udp check_udp_async"
# On both backends, as the other suites (BACKENDS="epoll" runs one).
# On io_uring the faults reach the wait (EINTR, after it submitted) and
# sends through the ring (short); accepts there are the ring's own.
out=$(for s in $suites; do echo "$dir/$s"; done |
    GNET_FAULTS=$spec BACKENDS=${BACKENDS:-epoll uring} \
    xargs bash "$(dirname "$0")/run-tests.sh" 2>&1)
status=$?
echo "$out" | grep -v '^gnet faults injected:'
echo "$out" | grep '^gnet faults injected:' | tr ' ' '\n' | grep '=' |
    awk -F= '{ n[$1] += $2 } END {
        printf "faults injected: eintr=%d short=%d eagain=%d emfile=%d\n",
            n["eintr"], n["short"], n["eagain"], n["emfile"] }'
exit $status
