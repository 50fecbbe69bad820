// The worker's module entry (wrangler.toml `main`). It wraps the entrypoint that
// worker-build generates (build/index.js) for one reason: a Rust panic aborts the wasm
// instance. When that happens inside an async handler the trap is thrown from a
// microtask, the handler's promise never settles, and workerd would eventually answer
// with an opaque "worker hung" error. Instead we log it and answer the documented
// 500 JSON body at once.
//
// worker-build's own recovery is kept: its shim marks the instance broken on a trap
// (`__worker_init_state.criticalError`) and re-initialises the wasm state on the next
// construction of its class, so one panic never poisons later requests. Constructing
// that class costs two proxies and an extra async frame per request, so while nothing
// is broken the generated `fetch` is called directly (with `env` and `ctx` as the
// class would hold them); after a trap the next request constructs it, which
// re-initialises (tests/tests/foundation.rs, the panic tests).
//
// The entry is an object of handlers, not a `WorkerEntrypoint` class: workerd
// constructs a class entrypoint for every request, and nothing here needs one (no RPC);
// bench_profile showed that construction (and, under `wrangler dev`, its middleware
// wrapper class) among the worker's top frames.
import Generated from "../build/index.js";

const initState = globalThis.__worker_init_state;
const generatedFetch = Generated.prototype.fetch;

// The 500 body in each route family's documented shape (core/src/http/problem.rs).
const INTERNAL_ERROR = JSON.stringify({
  success: false,
  error_code: "INTERNAL_ERROR",
  message: "Internal Server Error",
});
const INTERNAL_ERROR_BY_PATH = {
  "/register": JSON.stringify({ success: false, message: "Registration failed" }),
  "/register_node_secret": JSON.stringify({ detail: "Internal Server Error" }),
};

// The request id, as src/observe.rs and core::http::observe choose it: Cloudflare's ray id
// when the request has a plausible one, else random hex.
function requestIdOf(request) {
  const ray = request.headers.get("cf-ray");
  return ray && /^[A-Za-z0-9-]{1,64}$/.test(ray) ? ray : crypto.randomUUID().replaceAll("-", "");
}

// A panic never reaches the Rust side's log line and data point (core::http::observe), so
// the same line and point are written here, with errorCode "PANIC".
function recordPanic(env, request, requestId, startedMs) {
  const cf = request.cf ?? {};
  const place = (v) => (typeof v === "string" && /^[A-Za-z0-9]{1,8}$/.test(v) ? v : null);
  const durationMs = Math.max(0, Date.now() - startedMs);
  console.log(JSON.stringify({
    msg: "request", requestId, route: "Unknown", method: request.method, status: 500,
    statusClass: "5xx", errorCode: "PANIC", durationMs, d1Primary: null, d1Replica: null,
    kvCalls: null, country: place(cf.country), colo: place(cf.colo),
  }));
  try {
    env.METRICS?.writeDataPoint({
      indexes: ["Unknown"],
      blobs: ["Unknown", "5xx", "PANIC", request.method, place(cf.country) ?? "", place(cf.colo) ?? ""],
      doubles: [500, durationMs, 0, 0, 0],
    });
  } catch (error) {
    console.warn("metrics: data point not written:", String(error));
  }
}

// Requests in flight on this isolate. A trap kills the one wasm instance they all
// share, so each of them is failed (none of them can complete any more).
const inFlight = new Set();

addEventListener("error", (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) {
    for (const fail of inFlight) fail(event.error);
  }
});

export default {
  async fetch(request, env, ctx) {
    const startedMs = Date.now();
    let fail;
    const trapped = new Promise((_, reject) => (fail = reject));
    inFlight.add(fail);
    try {
      const answer = initState && !initState.criticalError
        ? generatedFetch.call({ env, ctx }, request)
        : new Generated(ctx, env).fetch(request);
      return await Promise.race([answer, trapped]);
    } catch (error) {
      // What the shim's proxy does for a trap it sees thrown.
      if (initState && error instanceof WebAssembly.RuntimeError) initState.criticalError = true;
      console.error("unhandled error, answered 500:", error && error.stack ? error.stack : String(error));
      const requestId = requestIdOf(request);
      recordPanic(env, request, requestId, startedMs);
      const body = {
        ...JSON.parse(INTERNAL_ERROR_BY_PATH[new URL(request.url).pathname] ?? INTERNAL_ERROR),
        requestId,
      };
      return new Response(JSON.stringify(body), {
        status: 500,
        headers: {
          "content-type": "application/json",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
          "x-request-id": requestId,
        },
      });
    } finally {
      inFlight.delete(fail);
    }
  },

  // The Cron Trigger (wrangler.toml [triggers]): src/scheduled.rs. A trap here fails
  // the run the same way (logged; the next run starts over), never leaves it hanging.
  async scheduled(controller, env, ctx) {
    let fail;
    const trapped = new Promise((_, reject) => (fail = reject));
    inFlight.add(fail);
    try {
      const handler = new Generated(ctx, env);
      await Promise.race([handler.scheduled(controller), trapped]);
    } catch (error) {
      console.error("scheduled run failed:", error && error.stack ? error.stack : String(error));
      console.log(JSON.stringify({ msg: "maintenance", cron: controller.cron, error: "PANIC" }));
    } finally {
      inFlight.delete(fail);
    }
  }
};
