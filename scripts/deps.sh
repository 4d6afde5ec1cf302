#!/usr/bin/env bash
# Installs the Debian packages gnet needs to build, test and run its
# examples -- or, given package names, those (scripts/deps-bench.sh). As
# root it runs apt-get; otherwise it prints the exact command.
#
#   deps.sh [PACKAGE...]     DEPS_LABEL names the caller in messages
set -euo pipefail
PKGS=(build-essential pkg-config libck-dev liburing-dev libjemalloc-dev check libsubunit-dev socat clang libclang-rt-dev curl wrk redis-server redis-tools libncurses-dev tmux)
[ $# -eq 0 ] || PKGS=("$@")
label=${DEPS_LABEL:-deps}
missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "$label: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
	echo "$label: missing packages; run as root:" >&2
	echo "  apt-get install -y ${missing[*]}" >&2
	exit 1
fi
