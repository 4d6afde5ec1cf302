#!/usr/bin/env bash
# Installs into a scratch DESTDIR and builds the echo example against the
# installed header and libraries through pkg-config, as a user would.
set -euo pipefail
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
make -s install DESTDIR="$dest" PREFIX=/usr/local
export PKG_CONFIG_SYSROOT_DIR="$dest" PKG_CONFIG_PATH="$dest/usr/local/lib/pkgconfig"
cc -std=c11 -Wall -Werror examples/echo.c $(pkg-config --cflags gnet) \
	"$dest/usr/local/lib/libgnet.a" $(pkg-config --libs-only-other --libs-only-l --static gnet | sed 's/-lgnet//') \
	-o "$dest/echo-static"
cc -std=c11 -Wall -Werror examples/echo.c $(pkg-config --cflags --libs gnet) -o "$dest/echo-shared"
LD_LIBRARY_PATH="$dest/usr/local/lib" ldd "$dest/echo-shared" | grep -q "libgnet.so.0 => $dest"
echo "install-check: headers, libgnet.a, libgnet.so and gnet.pc usable"
