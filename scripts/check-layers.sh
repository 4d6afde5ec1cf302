#!/usr/bin/env bash
# Keeps gnet's layering true: every folder of C code has a rank (the table
# below), and code may reach only down the ranks. That is what lets a layer
# be built, tested and fuzzed without the ones above it (make fuzz links
# codecs/ and base/ alone) and lets modules build against the public header
# without knowing the internals.
#
#   check-layers.sh [--root DIR] [--objs DIR]   check a tree: DIR defaults to
#                                                this checkout, its objects to
#                                                build/release/obj (make lib)
#   check-layers.sh --self-test                 show that the check fails on
#                                                the violations it is for
#
# Two rules, one per way of reaching another folder:
#  includes  a file may include headers of its own folder or of a lower rank
#            -- never of the same rank in another folder (codecs/ and
#            actors/ know nothing of each other). The ranks from $users up
#            are gnet's users: they may include only their own headers and
#            include/'s.
#            include/ has nothing lower: system headers and its own only.
#  uses      every symbol an object leaves undefined that another library
#            object defines (nm) must come from its own folder or a lower
#            rank. Includes alone cannot show this: a forward declaration
#            calls up without including anything.
# Both rules send every edge between folders to a strictly lower rank, so a
# circle across folders cannot exist and is not searched for.
#
# One line per violation, "layers: FILE (FOLDER, rank R) includes|uses WHAT
# from FOLDER (rank S)", then a summary; exit 1 on any violation.
set -euo pipefail

# The layers, lowest first. A new folder of C code must be added here, with
# what it is for: the check refuses a folder it has no rank for.
layers='
include   0  the public API, gnet.h (later gnetmodule.h)
base      1  byte buffer, sanitizer detection, errors and log, struct-size helpers
mailbox   2  message rings, FIFOs, wakeups between loops
kernel    3  loops (the actor schedulers), actor table, kinds, timers, poller seam
codecs    4  frame codecs
actors    4  stock actors: ticker, worker pool
net       5  sockets, listeners, the connection actor, dial, the engine composition
modules   6  users of the public headers only (gnetmodule.h)
host      6  the module host in libgnet: public headers only
tools     7  programs on the library and its module host: public headers only
redis     7  gnet_redis.so: the module host inside redis-server, public headers only
examples  6  users of the public headers only
'
# From this rank up, a folder is one of gnet's users (see "includes"
# above). tools/ ranks above host/: a program such as gnetd calls the host
# (through gnethost.h), which a module never does.
users=6
# Folders with C files but no rank: tests reach into every layer on
# purpose, bench/ and fuzz/ are harnesses around the library, and the rest
# hold no C of the library's.
not_layers=(tests bench fuzz scripts build docs .ci)

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# Builds the fixture trees in tests/layers/ -- clean/, then clean/ with each
# other folder laid over it -- compiles their .c files into objects laid out
# as make lib lays them, and compares the check's output and exit status
# with the tree's .expected file. clean/ must pass; upward/ (an include and
# a forward-declared call from kernel/ to net/) and sideways/ (codecs/ and
# actors/ using each other, an example including an internal header, a
# folder with no rank) must fail with exactly their violations.
self_test() {
	local fixtures=$here/../tests/layers variant want out rc c failed=0
	# Not local: the EXIT trap runs after this function has returned.
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	for variant in clean upward sideways; do
		rm -rf "$tmp/tree" "$tmp/obj"
		cp -R "$fixtures/clean" "$tmp/tree"
		[ "$variant" = clean ] || cp -R "$fixtures/$variant/." "$tmp/tree"
		(cd "$tmp/tree" && find . -name '*.c' | sed 's|^\./||') | while read -r c; do
			mkdir -p "$(dirname "$tmp/obj/$c")"
			(cd "$tmp/tree" && cc -std=c11 -Wall -Werror -Iinclude -I. -c "$c" -o "$tmp/obj/${c%.c}.o")
		done
		want=$([ "$variant" = clean ] && echo 0 || echo 1)
		rc=0
		out=$(bash "${BASH_SOURCE[0]}" --root "$tmp/tree" --objs "$tmp/obj") || rc=$?
		if [ "$rc" != "$want" ] || [ "$out" != "$(cat "$fixtures/$variant.expected")" ]; then
			echo "layers: self-test $variant: exit $rc (want $want), output differs from tests/layers/$variant.expected:" >&2
			diff <(cat "$fixtures/$variant.expected") <(echo "$out") >&2 || true
			failed=1
		fi
	done
	[ $failed -eq 0 ] && echo "layers: self-test passed (clean passes, upward and sideways fail as expected)"
	return $failed
}

root=$(dirname "$here")
objs=
while [ $# -gt 0 ]; do
	case $1 in
	--root) root=$2; shift 2 ;;
	--objs) objs=$2; shift 2 ;;
	--self-test) self_test; exit ;;
	*) echo "usage: check-layers.sh [--root DIR] [--objs DIR] | --self-test" >&2; exit 2 ;;
	esac
done
objs=${objs:-$root/build/release/obj}
[ -d "$objs" ] || { echo "layers: no objects in $objs: run make lib first" >&2; exit 1; }
objs=$(cd "$objs" && pwd)
cd "$root"

# Every C file of the tree, whatever its folder: an include may name any of
# them. build/ holds only generated files.
mapfile -t files < <(find . \( -name .git -o -path ./build \) -prune -o -type f -name '*.[ch]' -print |
	sed 's|^\./||' | LC_ALL=C sort)
[ ${#files[@]} -gt 0 ] || { echo "layers: no C files under $root" >&2; exit 1; }
mapfile -t objects < <(cd "$objs" && find . -name '*.o' | sed 's|^\./||' | LC_ALL=C sort)

# One stream of tagged records, in the order the rules need them: ranks,
# files, includes, then objects, what they define and what they use.
{
	sed -n 's/^\([^ ]*\)  *\([0-9][0-9]*\) .*/rank \1 \2/p' <<<"$layers"
	printf 'exempt %s\n' "${not_layers[@]}"
	printf 'file %s\n' "${files[@]}"
	grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' -- "${files[@]}" | sed 's/^/include /' || true
	for o in "${objects[@]}"; do
		echo "object $o"
		# The symbols of an object older than its source describe other code.
		if [ "${o%.o}.c" -nt "$objs/$o" ]; then echo "stale $o"; fi
	done
	if [ ${#objects[@]} -gt 0 ]; then
		(cd "$objs" && nm -A --defined-only -- "${objects[@]}") | sed 's/^/def /'
		(cd "$objs" && nm -A -u -- "${objects[@]}") | sed 's/^/use /'
	fi
} | LC_ALL=C awk -v objs="$objs" -v users="$users" '
function folder(p) { return index(p, "/") ? substr(p, 1, index(p, "/") - 1) : "" }
# a/b/../c -> a/c, as the compiler opens it.
function norm(p,   n, i, part, kept, k, out) {
	n = split(p, part, "/"); k = 0
	for (i = 1; i <= n; i++) {
		if (part[i] == "" || part[i] == ".") continue
		if (part[i] == ".." && k > 0 && kept[k] != "..") { k--; continue }
		kept[++k] = part[i]
	}
	out = kept[1]
	for (i = 2; i <= k; i++) out = out "/" kept[i]
	return out
}
# The file an include opens, searched as the Makefile'"'"'s -Iinclude -I. do
# (quotes first beside the includer); "" for a header outside the tree.
function resolve(from, quoted, name,   dir) {
	if (quoted) {
		dir = from; sub(/\/[^\/]*$/, "", dir)
		if (dir == from) dir = "."
		if (norm(dir "/" name) in tree) return norm(dir "/" name)
	}
	if (norm("include/" name) in tree) return norm("include/" name)
	if (norm(name) in tree) return norm(name)
	return ""
}
# May code in folder f reach folder t? Users (rank >= users) may include
# only include/; objects of every rank may use any lower rank.
function down(f, t, including) {
	if (f == t) return 1
	if (!(t in rank)) return 0
	if (including && rank[f] >= users) return rank[t] == 0
	return rank[t] < rank[f]
}
function where(f) { return (f in rank) ? f " (rank " rank[f] ")" : (f == "" ? "the root" : f) " (no rank)" }
function report(file, how, what, t) {
	print "layers: " file " (" folder(file) ", rank " rank[folder(file)] ") " how " " what " from " where(t) | "sort"
	bad++
}
function problem(msg) { print "layers: " msg | "sort"; bad++ }

$1 == "rank"   { rank[$2] = $3 + 0; next }
$1 == "exempt" { exempt[$2] = 1; next }
$1 == "file" {
	tree[$2] = 1
	f = folder($2)
	if (f in rank) checked++
	else if (f == "") problem($2 " is in no folder: C code belongs in a layer (the table at the top of scripts/check-layers.sh)")
	else if (!(f in exempt) && !(f in stray)) {
		stray[f] = 1
		problem(f "/ has C files but no rank: add it to the table at the top of scripts/check-layers.sh")
	}
	next
}
$1 == "include" {
	line = substr($0, 9)
	file = substr(line, 1, index(line, ":") - 1)
	if (!(folder(file) in rank)) next
	if (!match(line, /[<"][^>"]*[>"]/)) next
	target = resolve(file, substr(line, RSTART, 1) == "\"", substr(line, RSTART + 1, RLENGTH - 2))
	if (target == "") next
	refs++
	if (!down(folder(file), folder(target), 1)) report(file, "includes", target, folder(target))
	next
}
# Objects count when make lib would build them: a ranked folder'"'"'s .c that
# still exists (an object left from a removed file is not in the library).
$1 == "object" { src = $2; sub(/\.o$/, ".c", src); if ((src in tree) && (folder(src) in rank)) lib[$2] = src; next }
$1 == "stale"  { if ($2 in lib) problem(objs "/" $2 " is older than " lib[$2] ": run make lib"); next }
$1 == "def" || $1 == "use" {
	o = substr($2, 1, index($2, ":") - 1)
	if (!(o in lib)) next
	# Only global symbols (upper-case types) can be reached from another
	# object, and a library that links defines each of them once.
	if ($1 == "def") { if ($(NF - 1) ~ /[A-Z]/) definer[$NF] = folder(lib[o]); next }
	if (!($NF in definer)) next
	refs++
	if (!down(folder(lib[o]), definer[$NF], 0)) report(lib[o], "uses", $NF, definer[$NF])
	next
}
END {
	# Every library source (between the public headers and the users) must
	# have been compiled, or its calls would go unchecked.
	for (src in tree)
		if (src ~ /\.c$/ && (folder(src) in rank) && rank[folder(src)] > 0 && rank[folder(src)] < users) {
			o = src; sub(/\.c$/, ".o", o)
			if (!(o in lib)) problem(src " has no object in " objs ": run make lib")
		}
	close("sort")
	if (bad) { print "layers: " checked + 0 " files, " refs + 0 " references, " bad " violations"; exit 1 }
	print "layers: " checked + 0 " files, " refs + 0 " references, all point down"
}'
