#!/usr/bin/env bash
# Runs the end-to-end test binaries (gatehouse-e2e's tests/tests/*.rs, gatehouse-cli's
# tests and unit tests) for `make test-e2e`, E2E_JOBS binaries at a time, each with
# E2E_THREADS test threads; then lists each binary's wall time and the slowest tests.
#
# Why not one `cargo test`: it runs test binaries one after another, and most binaries
# hold only a few tests, mostly waiting on their workers (start-up, mail, sleeps up to
# a rate-limit window), so the machine idles between and within them. Each binary is
# its own `cargo test --test NAME` here (the build is done once, first); its output is
# kept in target/e2e-logs/NAME.log and printed whole when it ends, so parallel runs
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

# Built as each binary is run below: one package per cargo call. Cargo unifies the
# features of the packages a call selects, so `-p gatehouse-e2e -p gatehouse-cli` would
# build other artifacts than `-p gatehouse-e2e --test NAME` asks for, and every binary
# would be compiled twice (measured on a clean clone: ~30 dependencies again, and each
# test binary relinked while the others run).
for package in gatehouse-e2e gatehouse-cli; do
	cargo test -p "$package" --no-run || exit 1
done

# The slowest first, so the long ones do not start last; then every other binary.
first=(contract register cross_tenant accounts d1_distance register_node_secret rate_limits foundation faults)
targets=()
for name in "${first[@]}"; do
	[ -f "tests/tests/$name.rs" ] && targets+=("gatehouse-e2e:$name")
done
for file in tests/tests/*.rs cli/tests/*.rs; do
	name=$(basename "$file" .rs)
	package=gatehouse-e2e
	[[ $file == cli/* ]] && package=gatehouse-cli
	[[ " ${first[*]} " == *" $name "* && $package == gatehouse-e2e ]] && continue
	targets+=("$package:$name")
done
targets+=("bins:gatehouse-e2e" "bins:gatehouse-cli")

run_one() {
	local package=${1%%:*} name=${1#*:} log="$logs/${1/:/-}.log" start status
	start=$(date +%s)
	if [ "$package" = bins ]; then
		cargo test -p "$name" --bins -- --test-threads="$threads" > "$log" 2>&1
	else
		cargo test -p "$package" --test "$name" -- --test-threads="$threads" > "$log" 2>&1
	fi
	status=$?
	{
		flock 9
		echo "== $package --test $name: $(($(date +%s) - start)) s, exit $status"
		cat "$log"
		echo "$(($(date +%s) - start))	$package:$name	$status" >> "$logs/summary.tsv"
	} 9> "$logs/.print-lock"
	return 0
}
export -f run_one
export logs threads

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
