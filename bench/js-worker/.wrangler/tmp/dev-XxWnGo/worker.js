var __defProp = Object.defineProperty;
var __name = (target, value) => __defProp(target, "name", { value, configurable: true });

// worker.mjs
var SKEW_MS = 3e5;
var NONCE_TTL_SECONDS = 660;
var CONTEXT = "gatehouse-node-register-v1";
var MAX_CANDIDATE_KEYS = 10;
var REQUIRED = ["provider", "ip", "status", "region", "version", "timestamp", "signature"];
var ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
var REPLAY = "Replay detected: this signed request was already used or is older than the last one";
var ORG_UNUSABLE = "Unknown or banned organization";
var keys = /* @__PURE__ */ new Map();
var knownNodes = /* @__PURE__ */ new Map();
var CANDIDATE_ORG = "(org_id = ?2 OR (?2 = '' AND org_id IN (SELECT org_id FROM nodes WHERE ip = ?1)))";
var KEYS_SQL = `SELECT k.id, k.org_id, k.public_key_pem, k.proven, (SELECT banned FROM organizations o WHERE o.id = k.org_id) AS org_banned FROM org_keys k WHERE k.revoked_at_ms IS NULL AND ${CANDIDATE_ORG} ORDER BY k.id IN (SELECT key_id FROM nodes WHERE ip = ?1) DESC, k.created_at_ms DESC LIMIT ?3`;
var NODES_SQL = `SELECT org_id, last_signed_at_ms FROM nodes WHERE ip = ?1 AND ${CANDIDATE_ORG} LIMIT ?3`;
var UPSERT_SQL = "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, last_signed_at_ms, created_at_ms, updated_at_ms, node_services) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10 WHERE EXISTS (SELECT 1 FROM org_keys WHERE id = ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM organizations WHERE id = ?6 AND banned = 0) AND NOT EXISTS (SELECT 1 FROM node_tombstones WHERE org_id = ?6 AND ip = ?1 AND last_signed_at_ms >= ?8) ON CONFLICT (org_id, ip) DO UPDATE SET provider = excluded.provider, status = excluded.status, region = excluded.region, version = excluded.version, key_id = excluded.key_id, node_services = excluded.node_services, last_signed_at_ms = excluded.last_signed_at_ms, updated_at_ms = excluded.updated_at_ms WHERE excluded.last_signed_at_ms > nodes.last_signed_at_ms";
var UPDATE_SQL = "UPDATE nodes SET provider = ?2, status = ?3, region = ?4, version = ?5, key_id = ?7, last_signed_at_ms = ?8, updated_at_ms = ?9, node_services = ?10 WHERE org_id = ?6 AND ip = ?1 AND last_signed_at_ms < ?8 AND EXISTS (SELECT 1 FROM org_keys WHERE id = ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM organizations WHERE id = ?6 AND banned = 0)";
var STATE_SQL = "SELECT (SELECT org_id FROM nodes WHERE org_id = ?2 AND ip = ?1) AS node_org, max(coalesce((SELECT last_signed_at_ms FROM nodes WHERE org_id = ?2 AND ip = ?1), 0), coalesce((SELECT last_signed_at_ms FROM node_tombstones WHERE org_id = ?2 AND ip = ?1), 0)) AS last_signed_at_ms, EXISTS (SELECT 1 FROM org_keys WHERE id = ?3 AND org_id = ?2 AND revoked_at_ms IS NULL) AS key_active, (SELECT banned FROM organizations WHERE id = ?2) AS banned";
var json = /* @__PURE__ */ __name((status, body) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } }), "json");
var answer = /* @__PURE__ */ __name((status, success, message) => json(status, { success, message }), "answer");
var bad = /* @__PURE__ */ __name((message) => answer(400, false, message), "bad");
function bytesOfBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}
__name(bytesOfBase64, "bytesOfBase64");
async function cryptoKey(row) {
  let key = keys.get(row.id);
  if (!key) {
    const der = bytesOfBase64(row.public_key_pem.replace(/-----[^-]+-----|\s/g, ""));
    key = await crypto.subtle.importKey("spki", der, ALGORITHM, false, ["verify"]);
    keys.set(row.id, key);
  }
  return key;
}
__name(cryptoKey, "cryptoKey");
async function firstVerifying(rows, signature, message) {
  for (const row of rows) {
    if (await crypto.subtle.verify(ALGORITHM, await cryptoKey(row), signature, message)) return row;
  }
  return null;
}
__name(firstVerifying, "firstVerifying");
function write(db, sql, node) {
  return db.prepare(sql).bind(node.ip, node.provider, node.status, node.region, node.version, node.orgId, node.keyId, node.signedAt, node.now, 0);
}
__name(write, "write");
var state = /* @__PURE__ */ __name((db, node) => db.prepare(STATE_SQL).bind(node.ip, node.orgId, node.keyId), "state");
async function register(request, env, effects) {
  let body;
  try {
    body = await request.json();
  } catch {
    return bad("Invalid JSON body");
  }
  if (!body || REQUIRED.some((f) => typeof body[f] !== "string")) return bad("Missing required fields");
  if (!["S3", "GCS", "AZURE"].includes(body.provider)) return bad("Invalid provider");
  const idOrg = body.id_org ?? null;
  const fields = [body.provider, body.ip, body.status, body.region, body.version, body.timestamp, idOrg ?? ""];
  if (fields.some((f) => /[\u0000-\u001f\u007f]/.test(f))) return bad("Invalid field: control characters");
  const signedAt = Date.parse(body.timestamp);
  if (Number.isNaN(signedAt)) return bad("Invalid timestamp");
  if (Math.abs(Date.now() - signedAt) > SKEW_MS) return bad("Timestamp outside the allowed window");
  let signature;
  try {
    signature = bytesOfBase64(body.signature);
  } catch {
    return bad("Invalid signature encoding");
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", signature));
  const nonce = `register-nonce:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  effects.kv++;
  if (await env.NONCES.get(nonce) !== null) return bad(REPLAY);
  const db = env.DB.withSession("first-primary");
  const message = new TextEncoder().encode([CONTEXT, ...fields].join("\n"));
  const node = { ip: body.ip, provider: body.provider, status: body.status, region: body.region, version: body.version, signedAt, now: Date.now() };
  const remember = /* @__PURE__ */ __name(async () => {
    effects.kv++;
    await env.NONCES.put(nonce, "1", { expirationTtl: NONCE_TTL_SECONDS });
    return answer(200, true, "Registration successful");
  }, "remember");
  const known = knownNodes.get(body.ip);
  if (known && (!idOrg || idOrg === known.orgId)) {
    const signer = await firstVerifying(known.keys, signature, message);
    if (signer) {
      const warm = { ...node, orgId: known.orgId, keyId: signer.id };
      effects.primary++;
      const [update, read2] = await db.batch([write(db, UPDATE_SQL, warm), state(db, warm)]);
      const s = read2.results[0];
      if (update.meta.changes > 0) return remember();
      if (s.node_org === known.orgId && s.banned !== 0) return bad(ORG_UNUSABLE);
      if (s.node_org === known.orgId && s.key_active && s.last_signed_at_ms >= signedAt) return bad(REPLAY);
      knownNodes.delete(body.ip);
    }
  }
  const args = [body.ip, idOrg ?? "", MAX_CANDIDATE_KEYS];
  effects.primary++;
  const [candidates, existing] = await db.batch([
    db.prepare(KEYS_SQL).bind(...args),
    db.prepare(NODES_SQL).bind(...args)
  ]);
  const admitted = candidates.results.filter((k) => !idOrg || k.org_id === idOrg);
  const key = await firstVerifying(admitted, signature, message);
  if (!key) return bad("Invalid signature");
  if (key.org_banned !== 0) return bad(ORG_UNUSABLE);
  const mine = existing.results.find((n) => n.org_id === key.org_id);
  if (mine && signedAt <= mine.last_signed_at_ms) return bad(REPLAY);
  const cold = { ...node, orgId: key.org_id, keyId: key.id };
  effects.primary++;
  const [upsert, read] = await db.batch([write(db, UPSERT_SQL, cold), state(db, cold)]);
  if (upsert.meta.changes === 0) {
    const s = read.results[0];
    return bad(s.banned !== 0 ? ORG_UNUSABLE : !s.key_active ? "Invalid signature" : REPLAY);
  }
  const sameOrg = candidates.results.filter((k) => k.org_id === key.org_id && k.id !== key.id);
  if (knownNodes.size >= 8192) knownNodes.clear();
  knownNodes.set(body.ip, { orgId: key.org_id, keys: [key, ...sameOrg] });
  return remember();
}
__name(register, "register");
async function pbkdf2(url) {
  const hash = url.searchParams.get("hash") ?? "SHA-512";
  const iterations = Number(url.searchParams.get("iterations") ?? "100000");
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode("correct horse battery"), "PBKDF2", false, [
    "deriveBits"
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash, salt: encoder.encode("0123456789abcdef"), iterations },
    key,
    hash === "SHA-512" ? 512 : 256
  );
  return json(200, { bytes: bits.byteLength });
}
__name(pbkdf2, "pbkdf2");
function observe(env, request, response, route, startedMs, effects) {
  const requestId = crypto.randomUUID().replaceAll("-", "");
  const status = response.status;
  const statusClass = `${Math.floor(status / 100)}xx`;
  const durationMs = Math.max(0, Date.now() - startedMs);
  console.log(JSON.stringify({
    msg: "request",
    requestId,
    route,
    method: request.method,
    status,
    statusClass,
    errorCode: null,
    durationMs,
    d1Primary: effects.primary,
    d1Replica: 0,
    kvCalls: effects.kv,
    country: null,
    colo: null
  }));
  env.METRICS?.writeDataPoint({
    indexes: [route],
    blobs: [route, statusClass, "", request.method, "", ""],
    doubles: [status, durationMs, effects.primary, 0, effects.kv]
  });
  response.headers.set("x-request-id", requestId);
  return response;
}
__name(observe, "observe");
var worker_default = {
  async fetch(request, env) {
    const startedMs = Date.now();
    const url = new URL(request.url);
    const { pathname } = url;
    const effects = { primary: 0, kv: 0 };
    if (request.method === "POST" && pathname === "/register") {
      return observe(env, request, await register(request, env, effects), "Register", startedMs, effects);
    }
    if (pathname === "/pbkdf2") return pbkdf2(url);
    if (pathname === "/health") return json(200, { status: "ok" });
    return json(404, { success: false, message: "Not Found" });
  }
};

// ../../node_modules/wrangler/templates/middleware/middleware-ensure-req-body-drained.ts
var drainBody = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } finally {
    try {
      if (request.body !== null && !request.bodyUsed) {
        const reader = request.body.getReader();
        while (!(await reader.read()).done) {
        }
      }
    } catch (e) {
      console.error("Failed to drain the unused request body.", e);
    }
  }
}, "drainBody");
var middleware_ensure_req_body_drained_default = drainBody;

// ../../node_modules/wrangler/templates/middleware/middleware-miniflare3-json-error.ts
function reduceError(e) {
  return {
    name: e?.name,
    message: e?.message ?? String(e),
    stack: e?.stack,
    cause: e?.cause === void 0 ? void 0 : reduceError(e.cause)
  };
}
__name(reduceError, "reduceError");
var jsonError = /* @__PURE__ */ __name(async (request, env, _ctx, middlewareCtx) => {
  try {
    return await middlewareCtx.next(request, env);
  } catch (e) {
    const error = reduceError(e);
    const body = JSON.stringify(error);
    const headers = {
      "Content-Type": "application/json",
      "MF-Experimental-Error-Stack": "true"
    };
    const encoded = encodeURIComponent(body);
    if (encoded.length <= 8192) {
      headers["MF-Experimental-Error-Stack-Payload"] = encoded;
    }
    return new Response(body, { status: 500, headers });
  }
}, "jsonError");
var middleware_miniflare3_json_error_default = jsonError;

// .wrangler/tmp/bundle-BTWHvY/middleware-insertion-facade.js
var __INTERNAL_WRANGLER_MIDDLEWARE__ = [
  middleware_ensure_req_body_drained_default,
  middleware_miniflare3_json_error_default
];
var middleware_insertion_facade_default = worker_default;

// ../../node_modules/wrangler/templates/middleware/common.ts
var __facade_middleware__ = [];
function __facade_register__(...args) {
  __facade_middleware__.push(...args.flat());
}
__name(__facade_register__, "__facade_register__");
function __facade_invokeChain__(request, env, ctx, dispatch, middlewareChain) {
  const [head, ...tail] = middlewareChain;
  const middlewareCtx = {
    dispatch,
    next(newRequest, newEnv) {
      return __facade_invokeChain__(newRequest, newEnv, ctx, dispatch, tail);
    }
  };
  return head(request, env, ctx, middlewareCtx);
}
__name(__facade_invokeChain__, "__facade_invokeChain__");
function __facade_invoke__(request, env, ctx, dispatch, finalMiddleware) {
  return __facade_invokeChain__(request, env, ctx, dispatch, [
    ...__facade_middleware__,
    finalMiddleware
  ]);
}
__name(__facade_invoke__, "__facade_invoke__");

// .wrangler/tmp/bundle-BTWHvY/middleware-loader.entry.ts
var __Facade_ScheduledController__ = class ___Facade_ScheduledController__ {
  constructor(scheduledTime, cron, noRetry) {
    this.scheduledTime = scheduledTime;
    this.cron = cron;
    this.#noRetry = noRetry;
  }
  scheduledTime;
  cron;
  static {
    __name(this, "__Facade_ScheduledController__");
  }
  #noRetry;
  noRetry() {
    if (!(this instanceof ___Facade_ScheduledController__)) {
      throw new TypeError("Illegal invocation");
    }
    this.#noRetry();
  }
};
function wrapExportedHandler(worker) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return worker;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  const fetchDispatcher = /* @__PURE__ */ __name(function(request, env, ctx) {
    if (worker.fetch === void 0) {
      throw new Error("Handler does not export a fetch() function.");
    }
    return worker.fetch(request, env, ctx);
  }, "fetchDispatcher");
  return {
    ...worker,
    fetch(request, env, ctx) {
      const dispatcher = /* @__PURE__ */ __name(function(type, init) {
        if (type === "scheduled" && worker.scheduled !== void 0) {
          const controller = new __Facade_ScheduledController__(
            Date.now(),
            init.cron ?? "",
            () => {
            }
          );
          return worker.scheduled(controller, env, ctx);
        }
      }, "dispatcher");
      return __facade_invoke__(request, env, ctx, dispatcher, fetchDispatcher);
    }
  };
}
__name(wrapExportedHandler, "wrapExportedHandler");
function wrapWorkerEntrypoint(klass) {
  if (__INTERNAL_WRANGLER_MIDDLEWARE__ === void 0 || __INTERNAL_WRANGLER_MIDDLEWARE__.length === 0) {
    return klass;
  }
  for (const middleware of __INTERNAL_WRANGLER_MIDDLEWARE__) {
    __facade_register__(middleware);
  }
  return class extends klass {
    #fetchDispatcher = /* @__PURE__ */ __name((request, env, ctx) => {
      this.env = env;
      this.ctx = ctx;
      if (super.fetch === void 0) {
        throw new Error("Entrypoint class does not define a fetch() function.");
      }
      return super.fetch(request);
    }, "#fetchDispatcher");
    #dispatcher = /* @__PURE__ */ __name((type, init) => {
      if (type === "scheduled" && super.scheduled !== void 0) {
        const controller = new __Facade_ScheduledController__(
          Date.now(),
          init.cron ?? "",
          () => {
          }
        );
        return super.scheduled(controller);
      }
    }, "#dispatcher");
    fetch(request) {
      return __facade_invoke__(
        request,
        this.env,
        this.ctx,
        this.#dispatcher,
        this.#fetchDispatcher
      );
    }
  };
}
__name(wrapWorkerEntrypoint, "wrapWorkerEntrypoint");
var WRAPPED_ENTRY;
if (typeof middleware_insertion_facade_default === "object") {
  WRAPPED_ENTRY = wrapExportedHandler(middleware_insertion_facade_default);
} else if (typeof middleware_insertion_facade_default === "function") {
  WRAPPED_ENTRY = wrapWorkerEntrypoint(middleware_insertion_facade_default);
}
var middleware_loader_entry_default = WRAPPED_ENTRY;
export {
  __INTERNAL_WRANGLER_MIDDLEWARE__,
  middleware_loader_entry_default as default
};
//# sourceMappingURL=worker.js.map
