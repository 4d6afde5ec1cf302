#!/usr/bin/env bash
# Installs the Debian packages gnet needs to build, test and run its
# examples. As root it runs apt-get; otherwise it prints the exact command.
set -euo pipefail
PKGS=(build-essential pkg-config libck-dev libjemalloc-dev check libsubunit-dev socat clang libclang-rt-dev curl wrk)
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "deps: missing packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
