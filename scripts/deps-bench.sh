#!/usr/bin/env bash
# Installs the Debian packages `make bench` needs on top of scripts/deps.sh:
# the peer frameworks (libuv, libevent, nginx), wrk for HTTP load, gnuplot
# for the chart and strace for syscall counts. As root it runs apt-get;
# otherwise it prints the exact command.
set -euo pipefail
PKGS=(libuv1-dev libevent-dev nginx-light wrk gnuplot-nox strace)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps-bench: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "deps-bench: missing packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
