// A V8 CPU profile of a worker running under `wrangler dev`, through its inspector
// (the Profiler domain of the Chrome DevTools Protocol), summarised as self time per
// function. Driven by `bench_profile` (tests/src/bin/bench_profile.rs): it starts this
// script, waits for "ready" on stdout, sends its requests, then writes one line to our
// stdin; we stop the profiler and print the summary as markdown.
//
//     node bench/profile.mjs <inspector port> [top N]
//
// PROFILE_INTERVAL_US sets the sampling interval (default 50 µs). The sampler counts
// wall time and, at short intervals, slows the isolate and over-charges native calls
// (docs/rust-vs-js.md, "What was found and done"): read shares, not milliseconds.
//
// PROFILE_KIND=heap profiles allocation instead: V8's sampling heap profiler (one
// sample per KiB allocated), counting objects that the GC has since collected too, as
// KiB allocated per function — what each worker hands the garbage collector.
// PROFILE_KIND=retained: the same sampler, but only what is still alive at the end —
// what each worker keeps, plus the young garbage not yet collected (workerd's
// inspector never answers HeapProfiler.collectGarbage, so no collection is forced).
import { createInterface } from "node:readline";

const [port, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 30);

const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
const target = targets.find((t) => t.webSocketDebuggerUrl);
if (!target) throw new Error(`no inspectable worker on port ${port}: ${JSON.stringify(targets)}`);
// wrangler's inspector proxy refuses an upgrade without an allowed Origin.
const socket = new WebSocket(target.webSocketDebuggerUrl, { headers: { Origin: "http://127.0.0.1" } });
await new Promise((resolve, reject) => {
  socket.onopen = resolve;
  socket.onerror = reject;
});

let nextId = 1;
const pending = new Map();
socket.onmessage = (event) => {
  const message = JSON.parse(event.data);
  const settle = pending.get(message.id);
  if (!settle) return;
  pending.delete(message.id);
  message.error ? settle.reject(new Error(JSON.stringify(message.error))) : settle.resolve(message.result);
};
const send = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    socket.send(JSON.stringify({ id, method, params }));
  });

const retained = process.env.PROFILE_KIND === "retained";
const heap = retained || process.env.PROFILE_KIND === "heap";
if (heap) {
  await send("HeapProfiler.enable");
  await send("HeapProfiler.startSampling", {
    samplingInterval: 1024,
    includeObjectsCollectedByMajorGC: !retained,
    includeObjectsCollectedByMinorGC: !retained,
  });
} else {
  await send("Profiler.enable");
  await send("Profiler.setSamplingInterval", { interval: Number(process.env.PROFILE_INTERVAL_US ?? 50) });
  await send("Profiler.start");
}
console.log("ready");

for await (const _ of createInterface({ input: process.stdin })) break;
const where = ({ functionName, url, lineNumber }) =>
  `${functionName || "(anonymous)"}${url ? ` ${url.split("/").pop()}:${lineNumber + 1}` : ""}`;
const table = (unit, totals, scale) => {
  const rows = [...totals].sort((a, b) => b[1] - a[1]).slice(0, top);
  console.log(`| function (self) | ${unit} | % |`);
  console.log(`|---|---|---|`);
  const all = [...totals.values()].reduce((a, b) => a + b, 0);
  for (const [name, v] of rows) {
    console.log(`| ${name.replaceAll("|", "\\|")} | ${(v / scale).toFixed(1)} | ${((100 * v) / all).toFixed(1)} |`);
  }
};

if (heap) {
  const { profile } = await send("HeapProfiler.stopSampling");
  socket.close();
  const byFunction = new Map();
  let bytes = 0;
  const walk = (node) => {
    const key = where(node.callFrame);
    byFunction.set(key, (byFunction.get(key) ?? 0) + node.selfSize);
    bytes += node.selfSize;
    node.children.forEach(walk);
  };
  walk(profile.head);
  const what = retained ? "retained" : "allocated";
  table(`KiB ${what}`, byFunction, 1024);
  console.log(`\n${what} ${(bytes / 1024).toFixed(0)} KiB in all`);
  process.exit(0);
}

const { profile } = await send("Profiler.stop");
socket.close();

// Self time per sampled node, then per function (name and script, line).
const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
const byFunction = new Map();
let busyUs = 0;
for (const [id, us] of selfUs) {
  const name = where(byNode.get(id).callFrame);
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  if (name !== "(idle)") busyUs += us;
}
const idleUs = byFunction.get("(idle)") ?? 0;
byFunction.delete("(idle)");
table("ms", byFunction, 1000);
console.log(`\nbusy ${(busyUs / 1000).toFixed(1)} ms (idle ${(idleUs / 1000).toFixed(1)} ms)`);
process.exit(0); // the socket and stdin would keep the loop alive
