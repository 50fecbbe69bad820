#!/usr/bin/env bash
# `make bench`: every benchmark in one run on this machine, as markdown for docs/performance.md.
# Expects the Makefile's environment (PATH with Node 22 and the pinned wasm-bindgen).
set -euo pipefail
cd "$(dirname "$0")/.."

# A second, newer node for the wasm rows (bench only, pinned, cached like every tool):
# V8's wasm code differs by release, and production runs workerd's newer V8.
NODE_NEXT_VERSION=24.21.0
NODE_NEXT_DIR=${TOOLS_DIR:-$HOME/.cache/gatehouse/tools}/node-$NODE_NEXT_VERSION
if [[ ! -x $NODE_NEXT_DIR/node_modules/.bin/node ]]; then
  npm install --silent --prefix "$NODE_NEXT_DIR" "node@$NODE_NEXT_VERSION" >&2
fi

echo "## Benchmarks ($(date -u +%Y-%m-%d))"
echo
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "Machine: ${cpu:-unknown CPU}, $(nproc) cores, $(free -g | awk '/^Mem:/ { print $2 }') GiB;" \
  "$(rustc --version | cut -d' ' -f1-2), node $(node --version)," \
  "workerd $(node -p 'require("workerd/package.json").version')."
echo

echo "### Crypto: native vs wasm"
echo
{
  cargo run -q -p gatehouse-bench --release
  cargo run -q -p gatehouse-bench --release --features soft-sha
  cargo build -q -p gatehouse-bench --lib --release --target wasm32-unknown-unknown
  wasm-bindgen --target nodejs --out-dir target/bench-wasm \
    target/wasm32-unknown-unknown/release/gatehouse_bench.wasm
  node bench/node.mjs "$PWD/target/bench-wasm" "$PWD/build/index_bg.wasm"
  "$NODE_NEXT_DIR/node_modules/.bin/node" bench/node.mjs "$PWD/target/bench-wasm"
  # The same wasm with talc as its allocator (docs/performance.md, "Build profile").
  cargo build -q -p gatehouse-bench --lib --release --target wasm32-unknown-unknown --features talc
  wasm-bindgen --target nodejs --out-dir target/bench-wasm-talc \
    target/wasm32-unknown-unknown/release/gatehouse_bench.wasm
  BENCH_ALLOCATOR=talc node bench/node.mjs "$PWD/target/bench-wasm-talc"
} | node bench/report.mjs
echo

echo "### Password KDF inside workerd"
echo
cargo run -q -p gatehouse-e2e --bin bench_kdf --release
echo

echo "### Load per route (local workerd)"
echo
cargo run -q -p gatehouse-e2e --bin bench_load --release
echo

echo "### Where /register's time goes (Rust vs plain JS)"
echo
cargo run -q -p gatehouse-e2e --bin bench_stages --release
echo

echo "### What a request costs, and a network of N nodes"
echo
cargo run -q -p gatehouse-e2e --bin bench_cost --release
echo

echo "### The ceiling of one database"
echo
cargo run -q -p gatehouse-e2e --bin bench_ceiling --release
echo

echo "### Distance to the D1 primary"
echo
cargo run -q -p gatehouse-e2e --bin bench_distance --release
echo

echo "### Bundle"
echo
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
wrangler deploy --dry-run --outdir "$out" > "$out/report.txt" 2>&1
wasm=$(stat -c %s build/index_bg.wasm)
wasm_gz=$(gzip -9 -c build/index_bg.wasm | wc -c)
echo "wasm: $((wasm / 1024)) KiB raw, $((wasm_gz / 1024)) KiB gzip;" \
  "whole upload: $(sed -n 's/.*Total Upload: \(.*\)/\1/p' "$out/report.txt")."
