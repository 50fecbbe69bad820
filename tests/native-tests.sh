#!/usr/bin/env bash
# The workspace's native test executables, built in one cargo call and run directly.
#
#   native-tests.sh build             builds them and lists them in target/native-tests.tsv
#   native-tests.sh run PACKAGE...    runs every listed executable of those packages
#   native-tests.sh test PACKAGE NAME [ARG...]
#                                     builds, then runs one test file's executable with
#                                     ARGs (`make test-browser`, `make contract`)
#
# Why one call: cargo resolves features per call, over the packages it selects, so
# `cargo test -p gatehouse-core`, `-p gatehouse-e2e` and `-p gatehouse-cli` each built
# rsa, syn, rustix, ureq, gatehouse-core and everything above them with other features,
# three times over (measured on an empty target dir: 49 + 65 + 53 s one after another,
# 118 s as one call). Why run them directly: a later `cargo test -p X --test Y` would
# resolve X's features alone and rebuild; the executables of the one call are what
# the list names, run as cargo runs them (from the package's directory, with the same
# arguments). And no cargo holds the build directory's lock while they run, so the
# `cargo install` check (cli/tests/install.rs) can share it (GATEHOUSE_BUILD_DIR).
#
# The list's columns: package, target kind (lib, bin, test), target name, executable,
# package directory. Doc tests are off in every package (`doctest = false`).
set -euo pipefail

cd "$(dirname "$0")/.."
list=target/native-tests.tsv
packages=(gatehouse-core gatehouse-kernels gatehouse-sql gatehouse-e2e gatehouse-cli)

case "${1:-}" in
build)
	mkdir -p target
	new=$(mktemp "$list.XXXXXX")
	trap 'rm -f "$new"' EXIT
	# Diagnostics are rendered as usual (stderr); the JSON lines name what was built.
	cargo test "${packages[@]/#/-p}" --no-run --message-format=json-render-diagnostics |
		python3 -c '
import json, os, sys
for line in sys.stdin:
    if not line.startswith("{"):
        continue
    msg = json.loads(line)
    if msg.get("reason") != "compiler-artifact" or not msg["profile"]["test"] or not msg.get("executable"):
        continue
    # "path+file:///…/core#gatehouse-core@0.1.0", or "…/name#0.1.0" where the
    # directory is named as the package.
    source, _, fragment = msg["package_id"].rpartition("#")
    package = fragment.split("@")[0] if "@" in fragment else source.rstrip("/").rsplit("/", 1)[-1]
    target = msg["target"]
    print(package, target["kind"][0], target["name"], msg["executable"],
          os.path.dirname(msg["manifest_path"]), sep="\t")
' > "$new"
	mv "$new" "$list"
	;;
run)
	shift
	[ -s "$list" ] || { echo "no $list: run '$0 build' first" >&2; exit 1; }
	[ $# -gt 0 ] || { echo "usage: $0 run PACKAGE..." >&2; exit 2; }
	status=0
	for package in "$@"; do
		ran=0
		# The list on descriptor 3: a test's stdin is /dev/null, never the list.
		while IFS=$'\t' read -r -u 3 _ kind name executable dir; do
			echo "     Running $package $kind $name ($executable)"
			(cd "$dir" && "$executable" < /dev/null) || status=1
			ran=$((ran + 1))
		done 3< <(awk -F'\t' -v p="$package" '$1 == p' "$list")
		[ "$ran" -gt 0 ] || { echo "$package: no test executable in $list" >&2; status=1; }
	done
	exit "$status"
	;;
test)
	[ $# -ge 3 ] || { echo "usage: $0 test PACKAGE NAME [ARG...]" >&2; exit 2; }
	package=$2 name=$3
	shift 3
	bash tests/native-tests.sh build || exit 1
	IFS=$'\t' read -r executable dir < <(awk -F'\t' -v p="$package" -v n="$name" \
		'$1 == p && $2 == "test" && $3 == n { print $4 "\t" $5 }' "$list") || true
	[ -n "${executable:-}" ] || { echo "$package: no test executable $name in $list" >&2; exit 1; }
	cd "$dir" && exec "$executable" "$@"
	;;
*)
	echo "usage: $0 build | run PACKAGE... | test PACKAGE NAME [ARG...]" >&2
	exit 2
	;;
esac
