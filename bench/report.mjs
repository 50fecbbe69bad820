// Turns the JSON lines of bench-native (hardware and software SHA) and node.mjs into
// the markdown tables of `make bench`. Reads them from stdin.
import { createInterface } from "node:readline";

const rows = [];
for await (const line of createInterface({ input: process.stdin })) {
  if (line.startsWith("{")) rows.push(JSON.parse(line));
}
const find = (o) => rows.find((r) => Object.entries(o).every(([k, v]) => r[k] === v));
const f = (x, d = 3) => (x === undefined ? "–" : x.toFixed(d));

console.log("| PBKDF2 (100 000 iterations) | SHA-512 µs/iteration | × native soft | SHA-256 µs/iteration | × native soft |");
console.log("|---|---|---|---|---|");
const baseline = (hash) => find({ bench: "kdf", platform: "native (software SHA)", implementation: "pbkdf2 crate", hash });
// Rows in the order they were measured (native, then each node).
const kdfRows = [...new Set(rows.filter((r) => r.bench === "kdf").map((r) => `${r.platform}|${r.implementation}`))];
for (const [platform, implementation] of kdfRows.map((k) => k.split("|"))) {
  const cells = ["SHA-512", "SHA-256"].flatMap((hash) => {
    const r = find({ bench: "kdf", platform, implementation, hash });
    return [f(r?.us_per_iteration), f(r && r.us_per_iteration / baseline(hash).us_per_iteration, 2)];
  });
  console.log(`| ${platform}, ${implementation} | ${cells.join(" | ")} |`);
}
console.log("\n× native soft: relative to the `pbkdf2` crate natively with `sha2/force-soft`.\n");

console.log("| RSA-2048 (PKCS#1 v1.5, SHA-256) | verify ms | parse / import key ms |");
console.log("|---|---|---|");
for (const r of rows.filter((r) => r.bench === "rsa")) {
  const allocator = r.allocator && r.allocator !== "dlmalloc" ? ` (${r.allocator})` : "";
  console.log(`| ${r.platform}, ${r.implementation}${allocator} | ${f(r.verify_ms)} | ${f(r.parse_ms)} |`);
}

console.log("\n| /register without I/O: parse, checks, canonical message, verify | ms per request |");
console.log("|---|---|");
for (const r of rows.filter((r) => r.bench === "pipeline")) {
  console.log(`| ${r.platform}, ${r.allocator} allocator | ${f(r.ms)} |`);
}
const startup = find({ bench: "startup" });
if (startup) {
  console.log(
    `\nStart-up: compiling the worker's wasm (${(startup.wasm_bytes / 1024).toFixed(0)} KiB) takes ${f(startup.compile_ms, 1)} ms in node (baseline tier).`,
  );
}
