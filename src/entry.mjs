// The worker's module entry (wrangler.toml `main`). It wraps the entrypoint that
// worker-build generates (build/index.js) for one reason: a Rust panic aborts the wasm
// instance. When that happens inside an async handler the trap is thrown from a
// microtask, the handler's promise never settles, and workerd would eventually answer
// with an opaque "worker hung" error. Instead we log it and answer the documented
// 500 JSON body at once.
//
// Constructing the generated class per request keeps worker-build's own recovery: its
// shim marks the instance broken on the trap and re-initialises the wasm state on the
// next construction, so one panic never poisons later requests.
import { WorkerEntrypoint } from "cloudflare:workers";
import Generated from "../build/index.js";

// The 500 body in each route family's documented shape (core/src/problem.rs).
const INTERNAL_ERROR = JSON.stringify({
  success: false,
  error_code: "INTERNAL_ERROR",
  message: "Internal Server Error",
});
const INTERNAL_ERROR_BY_PATH = {
  "/register": JSON.stringify({ success: false, message: "Registration failed" }),
  "/register_node_secret": JSON.stringify({ detail: "Internal Server Error" }),
};

// Requests in flight on this isolate. A trap kills the one wasm instance they all
// share, so each of them is failed (none of them can complete any more).
const inFlight = new Set();

addEventListener("error", (event) => {
  if (event.error instanceof WebAssembly.RuntimeError) {
    for (const fail of inFlight) fail(event.error);
  }
});

export default class Gatehouse extends WorkerEntrypoint {
  async fetch(request) {
    let fail;
    const trapped = new Promise((_, reject) => (fail = reject));
    inFlight.add(fail);
    try {
      const handler = new Generated(this.ctx, this.env);
      return await Promise.race([handler.fetch(request), trapped]);
    } catch (error) {
      console.error("unhandled error, answered 500:", error && error.stack ? error.stack : String(error));
      const body = INTERNAL_ERROR_BY_PATH[new URL(request.url).pathname] ?? INTERNAL_ERROR;
      return new Response(body, {
        status: 500,
        headers: {
          "content-type": "application/json",
          "cache-control": "no-store",
          "x-content-type-options": "nosniff",
        },
      });
    } finally {
      inFlight.delete(fail);
    }
  }
}
