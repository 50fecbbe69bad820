// Wasm side of `make bench`: loads the bench crate compiled to wasm32 (wasm-bindgen,
// --target nodejs) into node — V8, like workerd — and times the same work as the
// native runner, plus node's own WebCrypto for PBKDF2 and RSA (BoringSSL/OpenSSL,
// like workerd's). One JSON object per measurement on stdout.
//
//     node bench/node.mjs <dir with gatehouse_bench.js>
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { webcrypto } from "node:crypto";

const require = createRequire(import.meta.url);
const wasm = require(`${process.argv[2]}/gatehouse_bench.js`);
const subtle = webcrypto.subtle;
const ITERATIONS = 100_000;
const RUNS = 7;

async function medianMs(work) {
  await work(); // warm up (compile tiers, caches)
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(RUNS / 2)];
}

// Rows name the node major: V8's wasm compiler differs a lot between them (docs/performance.md, "Benchmarks").
const NODE = `node ${process.versions.node.split(".")[0]}`;
const out = (o) => console.log(JSON.stringify(o));
const N = 200;

// The allocator comparison (run.sh runs this file once more on a talc build): only
// the allocation-heavy work, the rest does not depend on the allocator.
const allocator = process.env.BENCH_ALLOCATOR ?? "dlmalloc";
const pipelineMs = async () => {
  if (wasm.register_pipeline(1) !== 1) throw new Error("fixture registration does not verify");
  return (await medianMs(() => wasm.register_pipeline(N))) / N;
};
out({ bench: "pipeline", platform: `wasm in ${NODE}`, allocator, ms: await pipelineMs() });
out({ bench: "rsa", platform: `wasm in ${NODE}`, allocator, implementation: "ours", verify_ms: (await medianMs(() => wasm.rsa_verify(N))) / N, parse_ms: (await medianMs(() => wasm.rsa_parse(N))) / N });
if (allocator !== "dlmalloc") process.exit(0);

const password = new TextEncoder().encode("correct horse battery");
const salt = new TextEncoder().encode("0123456789abcdef");
const passwordKey = await subtle.importKey("raw", password, "PBKDF2", false, ["deriveBits"]);

for (const [hash, sha512] of [["SHA-512", true], ["SHA-256", false]]) {
  for (const [implementation, kdf] of [["ours", wasm.kdf_ours], ["pbkdf2 crate", wasm.kdf_crate]]) {
    const ms = await medianMs(() => kdf(sha512, ITERATIONS));
    out({ bench: "kdf", platform: `wasm in ${NODE}`, implementation, hash, us_per_iteration: (ms * 1000) / ITERATIONS });
  }
  const ms = await medianMs(() =>
    subtle.deriveBits({ name: "PBKDF2", hash, salt, iterations: ITERATIONS }, passwordKey, sha512 ? 512 : 256),
  );
  out({ bench: "kdf", platform: NODE, implementation: "WebCrypto", hash, us_per_iteration: (ms * 1000) / ITERATIONS });
}

// Script start-up: compiling the production worker's wasm (what a cold isolate does
// before its first request; V8 compiles lazily, so this is the baseline tier).
if (process.argv[3]) {
  const bytes = readFileSync(process.argv[3]);
  const compileMs = await medianMs(() => WebAssembly.compile(bytes));
  out({ bench: "startup", platform: NODE, wasm_bytes: bytes.length, compile_ms: compileMs });
}

out({
  bench: "rsa",
  platform: `wasm in ${NODE}`,
  implementation: "rsa crate",
  verify_ms: (await medianMs(() => wasm.rsa_crate_verify(N))) / N,
  parse_ms: (await medianMs(() => wasm.rsa_crate_parse(N))) / N,
});

const fixtures = new URL("./fixtures/", import.meta.url);
const pem = readFileSync(new URL("rsa2048.pub.pem", fixtures), "utf8");
const spki = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ""), "base64");
const signature = readFileSync(new URL("rsa2048.sig", fixtures));
const message = new TextEncoder().encode(
  "gatehouse-node-register-v1\nS3\n203.0.113.7\nactive\neu-west-1\n1.4.2\n2026-11-22T10:30:00.000Z\nacme",
);
const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const importKey = () => subtle.importKey("spki", spki, algorithm, false, ["verify"]);
const key = await importKey();
if (!(await subtle.verify(algorithm, key, signature, message))) throw new Error("fixture signature does not verify");
out({
  bench: "rsa",
  platform: NODE,
  implementation: "WebCrypto",
  verify_ms:
    (await medianMs(async () => {
      for (let i = 0; i < N; i++) await subtle.verify(algorithm, key, signature, message);
    })) / N,
  parse_ms:
    (await medianMs(async () => {
      for (let i = 0; i < N; i++) await importKey();
    })) / N,
});
