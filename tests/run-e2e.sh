#!/usr/bin/env bash
# Runs the end-to-end test binaries (gatehouse-e2e's tests/tests/*.rs, gatehouse-cli's
# tests and unit tests) for `make test-e2e`, E2E_JOBS binaries at a time, each with
# E2E_THREADS test threads; then lists each binary's wall time and the slowest tests.
#
# Why not one `cargo test`: it runs test binaries one after another, and most binaries
# hold only a few tests, mostly waiting on their workers (start-up, mail, sleeps up to
# a rate-limit window), so the machine idles between and within them. Each binary runs
# on its own here (all are built first, by one cargo call); its output is kept in
# target/e2e-logs/PACKAGE-KIND-NAME.log and printed whole when it ends, so parallel runs
# do not interleave. Test times come from the harness (GATEHOUSE_TEST_TIMES, see
# tests/src/timing.rs). Three at a time was the fastest measured on 2 cores (e2e 402 s,
# against 569 s two at a time, the machine's load ~10 both times).
set -uo pipefail

cd "$(dirname "$0")/.."
jobs=${E2E_JOBS:-3}
threads=${E2E_THREADS:-4}
logs=target/e2e-logs
export GATEHOUSE_TEST_TIMES=$PWD/target/e2e-times.tsv
rm -rf "$logs" "$GATEHOUSE_TEST_TIMES"
mkdir -p "$logs"
# Every temp file of the run (each worker's state, wrangler's scratch, test keys) goes
# under one directory of its own, checked empty at the end: a run leaves nothing behind,
# and runs of other checkouts on the same machine cannot be mistaken for ours.
run_tmp=$PWD/target/e2e-tmp
rm -rf "$run_tmp"
mkdir -p "$run_tmp"
export TMPDIR=$run_tmp
# Every wrangler process of the run (each worker's `wrangler dev`, the admin commands'
# `wrangler d1 execute`) starts node on wrangler's ~10 MB bundle: node's compile cache
# keeps the compiled code between them (a `wrangler d1 execute` 1.40 -> 1.19 CPU-s,
# 2026-11-30). Under target/, so a clean clone starts empty and `make clean` removes it.
export NODE_COMPILE_CACHE=$PWD/target/node-compile-cache
# The tests run the worker as `make dev` does, under wrangler dev's CLI (the bench
# tools' setting, tests/src/launch.rs `inspector_off`, is not for them).
unset WORKER_INSPECTOR

# Every test executable is built by one cargo call (tests/native-tests.sh, which says
# why; a no-op when `make test-unit` built them already) and run directly below, from
# the list it writes. No cargo holds the build directory's lock while they run, so
# the `cargo install` check may share it (cli/tests/install.rs).
list=target/native-tests.tsv
bash tests/native-tests.sh build || exit 1
# The build directory is where the listed executables are: <dir>/debug/deps/<name>.
GATEHOUSE_BUILD_DIR=$(dirname "$(dirname "$(dirname "$(awk -F'\t' 'NR == 1 { print $4 }' "$list")")")")
export GATEHOUSE_BUILD_DIR

# package:kind:name of every e2e and CLI test executable (the bins' own unit tests
# included); the slowest first, so the long ones do not start last.
first=(contract register cross_tenant accounts d1_distance register_node_secret rate_limits rate_limits_nodes foundation faults)
targets=()
for name in "${first[@]}"; do
	grep -q "^gatehouse-e2e	test	$name	" "$list" && targets+=("gatehouse-e2e:test:$name")
done
while IFS=$'\t' read -r package kind name _; do
	[[ $package == gatehouse-e2e && $kind == test && " ${first[*]} " == *" $name "* ]] && continue
	targets+=("$package:$kind:$name")
done < <(awk -F'\t' '$1 == "gatehouse-e2e" || $1 == "gatehouse-cli"' "$list")
[ ${#targets[@]} -gt 0 ] || { echo "no e2e or CLI test executable in $list" >&2; exit 1; }
# Every test file has its executable in the list: none is left out unseen.
for file in tests/tests/*.rs cli/tests/*.rs; do
	package=gatehouse-e2e
	[[ $file == cli/* ]] && package=gatehouse-cli
	name=$(basename "$file" .rs)
	grep -q "^$package	test	$name	" "$list" ||
		{ echo "$file: no test executable in $list" >&2; exit 1; }
done

run_one() {
	local package kind name log start status executable dir
	IFS=: read -r package kind name <<< "$1"
	log="$logs/$package-$kind-$name.log"
	IFS=$'\t' read -r executable dir < <(awk -F'\t' -v p="$package" -v k="$kind" -v n="$name" \
		'$1 == p && $2 == k && $3 == n { print $4 "\t" $5 }' "$list")
	start=$(date +%s)
	(cd "$dir" && "$executable" --test-threads="$threads") > "$log" 2>&1
	status=$?
	{
		flock 9
		echo "== $package $kind $name: $(($(date +%s) - start)) s, exit $status"
		cat "$log"
		echo "$(($(date +%s) - start))	$package:$kind:$name	$status" >> "$logs/summary.tsv"
	} 9> "$logs/.print-lock"
	return 0
}
export -f run_one
export logs threads list

start=$(date +%s)
printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$1"' _ {}

echo
echo "== e2e binaries, wall time (s), $(($(date +%s) - start)) s in all with $jobs at a time:"
sort -rn "$logs/summary.tsv" | awk -F'\t' '{ printf "  %4d  %s%s\n", $1, $2, ($3 != 0 ? "  FAILED" : "") }'
if [ -s "$GATEHOUSE_TEST_TIMES" ]; then
	echo "== the ten slowest tests (s, from first harness call to the test's end):"
	sort -rn "$GATEHOUSE_TEST_TIMES" | head -n 10 | awk -F'\t' '{ printf "  %6.1f  %s\n", $1, $2 }'
fi
# One closing line for the whole suite, summed over every binary's libtest result.
cat "$logs"/*.log | sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1 \2/p' |
	awk '{ passed += $1; failed += $2 } END { printf "e2e: %d passed, %d failed\n", passed, failed }'
failed=$(awk -F'\t' '$3 != 0 { print $2 }' "$logs/summary.tsv")
# Each target ran and wrote its line (xargs runs nothing for an empty list).
finished=0
[ -f "$logs/summary.tsv" ] && finished=$(wc -l < "$logs/summary.tsv")
if [ "$finished" -ne "${#targets[@]}" ]; then
	echo "$finished of ${#targets[@]} test executables reported" >&2
	failed="$failed unreported"
fi
left=$(find "$run_tmp" -mindepth 1 -maxdepth 1 | head -n 20)
if [ -n "$left" ]; then
	echo "the run left temp files behind (each test cleans up what it makes):" >&2
	echo "$left" >&2
	failed="$failed temp-files"
fi
if [ -n "$failed" ]; then
	echo "failed: $failed" >&2
	exit 1
fi
