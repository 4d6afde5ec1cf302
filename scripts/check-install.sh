#!/usr/bin/env bash
# Installs into a scratch DESTDIR and builds the echo example against the
# installed header and libraries through pkg-config, as a user would.
set -euo pipefail
trap 'echo "install-check: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
# Under build/, not /tmp: a small or noexec /tmp must not fail the check.
mkdir -p build
dest=$(mktemp -d "$PWD/build/install-check.XXXXXX")
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr/local
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$dest/usr/local/lib/pkgconfig"
cc -std=c11 -Wall -Werror examples/echo.c $(pkg-config --cflags gnet) \
	"$dest/usr/local/lib/libgnet.a" $(pkg-config --libs-only-other --libs-only-l --static gnet | sed 's/-lgnet//') \
	-o "$dest/echo-static"
cc -std=c11 -Wall -Werror examples/echo.c $(pkg-config --cflags --libs gnet) -o "$dest/echo-shared"
# The shared build must resolve to the installed library, not another copy.
deps=$(LD_LIBRARY_PATH="$dest/usr/local/lib" ldd "$dest/echo-shared")
if ! grep -qF "libgnet.so.0 => $dest" <<<"$deps"; then
	echo "install-check: echo-shared does not load the installed libgnet.so.0:" >&2
	echo "$deps" >&2
	exit 1
fi
echo "install-check: headers, libgnet.a, libgnet.so and gnet.pc usable"
