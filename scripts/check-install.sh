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
# The version has one home, gnet.h: gnet.pc and the soname must agree.
part() { sed -n "s/^#define GNET_VERSION_$1 \\([0-9]*\\)\$/\\1/p" include/gnet.h; }
major=$(part MAJOR)
version="$major.$(part MINOR).$(part PATCH)"
deps=$(LD_LIBRARY_PATH="$dest/usr/local/lib" ldd "$dest/echo-shared")
if ! grep -qF "libgnet.so.$major => $dest" <<<"$deps"; then
	echo "install-check: echo-shared does not load the installed libgnet.so.$major:" >&2
	echo "$deps" >&2
	exit 1
fi
# A module builds against the installed gnetmodule.h alone (no library),
# and a host program against gnethost.h, linking a module in.
cc -std=c11 -Wall -Werror -fPIC -shared modules/echo/echo.c \
	$(pkg-config --cflags gnet) -o "$dest/echo-module.so"
nm -D --defined-only "$dest/echo-module.so" | grep -q ' T GnetModule_OnLoad$'
# The installed gnetd loads an installed module.
"$dest/usr/local/bin/gnetd" --check-config \
	--loadmodule "$dest/usr/local/lib/gnet/modules/echo.so" \
	listen=tcp://127.0.0.1:9000 | grep -q 'configuration OK'
# libgnet.so exports exactly the functions its headers declare GNET_API:
# nothing internal (gnet__*), nothing missing.
lib="$dest/usr/local/lib/libgnet.so"
exported=$(nm -D --defined-only "$lib" | awk '$2 == "T" { print $3 }' | sort)
declared=$(cat include/gnet.h include/gnethost.h include/gnetstats.h |
	sed -n 's/^GNET_API .*[^a-z_0-9]\(gnet_[a-z_0-9]*\)(.*/\1/p' | sort)
stray=$(nm -D --defined-only "$lib" | awk '$2 != "w" && $2 != "U" { print $3 }' | grep -v '^gnet_[a-z]' || true)
if [ "$exported" != "$declared" ] || [ -n "$stray" ]; then
	echo "install-check: libgnet.so exports differ from gnet.h's GNET_API functions:" >&2
	diff <(echo "$declared") <(echo "$exported") >&2 || true
	[ -z "$stray" ] || echo "not gnet_ API: $stray" >&2
	exit 1
fi
if [ "$(pkg-config --modversion gnet)" != "$version" ]; then
	echo "install-check: gnet.pc says $(pkg-config --modversion gnet), gnet.h $version" >&2
	exit 1
fi
echo "install-check: $(wc -l <<<"$exported") exported gnet_ functions, version $version"
echo "install-check: headers, libgnet.a, libgnet.so and gnet.pc usable"
