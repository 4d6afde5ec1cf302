#!/usr/bin/env bash
# Installs the Debian packages `make bench` needs on top of scripts/deps.sh:
# the peer frameworks (libuv, libevent, nginx), wrk for HTTP load, gnuplot
# for the chart, strace for syscall counts and valgrind (callgrind) for
# instruction counts. As root it runs apt-get; otherwise it prints the
# exact command.
set -euo pipefail
DEPS_LABEL=deps-bench exec bash "$(dirname "${BASH_SOURCE[0]}")/deps.sh" \
    libuv1-dev libevent-dev nginx-light wrk gnuplot-nox strace valgrind
