// The comparison anchor of `make bench`: POST /register done the obvious other way, a
// plain JavaScript worker on WebCrypto, doing the same work as the Rust worker for the
// v1 form the benchmark sends — JSON parsing and field checks, timestamp window, KV
// nonce check, one D1 session on the primary, the same SQL (src/store/nodes.rs): the
// cold path's read batch and conditional upsert with its read-back, and the warm path
// (a node this isolate verified: its organization's keys remembered, one conditional
// update batch), RSA PKCS#1 v1.5 SHA-256 verify (keys imported once per isolate), KV
// nonce write after the answer (waitUntil) — and what the Rust worker does around every
// request: the header-section and declared-body limits (431, 413), the CORS origin
// lookup, the request id from a plausible cf-ray, `cache-control: no-store` and
// `nosniff` on every answer, the same messages, and the same one JSON log line and
// Analytics Engine data point (error code, D1 rows read and written from `meta`, KV
// reads and writes) with an x-request-id. It is a benchmark, not a product: no rate
// limits, installer form or the full error contract; it also skips the address
// canonicalisation and reserved-range checks and the field length checks, and takes its
// error code from the message it holds instead of re-parsing the body as the Rust
// worker's observe layer does (a few µs per request in JS's favour). Keep its SQL in step with
// src/store/nodes.rs and its per-request work with src/routes/mod.rs and src/observe.rs.
const SKEW_MS = 300_000;
const MAX_HEADER_BYTES = 16 * 1024; // gatehouse_core::MAX_HEADER_BYTES
const MAX_BODY_BYTES = 64 * 1024; // gatehouse_core::MAX_BODY_BYTES
const MAX_CODE = 48; // core::http::observe
const NONCE_TTL_SECONDS = 660;
const CONTEXT = "gatehouse-node-register-v1";
const MAX_CANDIDATE_KEYS = 10;
const REQUIRED = ["provider", "ip", "status", "region", "version", "timestamp", "signature"];
const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const REPLAY = "Replay detected: this signed request was already used or is older than the last one";
const ORG_UNUSABLE = "Unknown or banned organization";
const keys = new Map(); // key id -> CryptoKey, per isolate (a key id's PEM never changes)
const knownNodes = new Map(); // ip -> { orgId, keys: [{ id, public_key_pem }] }, per isolate

// src/store/nodes.rs' UNCHANGED, bound with ?11 = 0 (NODE_SEEN_RESOLUTION_SECONDS=0, as
// the benchmarks run the Rust worker): it never holds, but SQLite evaluates it as there.
const UNCHANGED =
  "(?11 > 0 AND nodes.provider IS ?2 AND nodes.status IS ?3 AND nodes.region IS ?4 AND nodes.version IS ?5 " +
  "AND nodes.key_id IS ?7 AND nodes.node_services IS ?10 AND nodes.last_signed_at_ms > ?8 - ?11)";
// src/store/nodes.rs' SECRETS_FETCHED, bound with ?12 = '' (the v1 form, which POST
// /secrets never verifies): it never holds, but SQLite evaluates it as there.
const SECRETS_FETCHED = "(?12 <> '' AND EXISTS (SELECT 1 FROM secrets_fetches WHERE nonce = ?12))";
const CANDIDATE_ORG = "(org_id = ?2 OR (?2 = '' AND org_id IN (SELECT org_id FROM nodes WHERE ip = ?1)))";
const KEYS_SQL =
  "SELECT k.id, k.org_id, k.public_key_pem, k.proven, " +
  "(SELECT banned FROM organizations o WHERE o.id = k.org_id) AS org_banned " +
  `FROM org_keys k WHERE k.revoked_at_ms IS NULL AND ${CANDIDATE_ORG} ` +
  "ORDER BY k.id IN (SELECT key_id FROM nodes WHERE ip = ?1) DESC, k.created_at_ms DESC LIMIT ?3";
const NODES_SQL = `SELECT org_id, last_signed_at_ms FROM nodes WHERE ip = ?1 AND ${CANDIDATE_ORG} LIMIT ?3`;
const UPSERT_SQL =
  "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, last_signed_at_ms, created_at_ms, " +
  "updated_at_ms, node_services) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10 WHERE EXISTS (SELECT 1 FROM " +
  "org_keys WHERE id = ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM organizations " +
  "WHERE id = ?6 AND banned = 0) AND NOT EXISTS (SELECT 1 FROM node_tombstones WHERE org_id = ?6 AND ip = ?1 AND " +
  "last_signed_at_ms >= ?8) AND NOT " + SECRETS_FETCHED + " ON CONFLICT (org_id, ip) DO UPDATE SET provider = excluded.provider, status = " +
  "excluded.status, region = excluded.region, version = excluded.version, key_id = excluded.key_id, " +
  "node_services = excluded.node_services, last_signed_at_ms = excluded.last_signed_at_ms, updated_at_ms = " +
  "excluded.updated_at_ms WHERE excluded.last_signed_at_ms > nodes.last_signed_at_ms AND NOT " + UNCHANGED;
const UPDATE_SQL =
  "UPDATE nodes SET provider = ?2, status = ?3, region = ?4, version = ?5, key_id = ?7, last_signed_at_ms = ?8, " +
  "updated_at_ms = ?9, node_services = ?10 WHERE org_id = ?6 AND ip = ?1 AND last_signed_at_ms < ?8 AND EXISTS " +
  "(SELECT 1 FROM org_keys WHERE id = ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AND EXISTS (SELECT 1 FROM " +
  "organizations WHERE id = ?6 AND banned = 0) AND NOT " + UNCHANGED + " AND NOT " + SECRETS_FETCHED;
const STATE_SQL =
  "SELECT (SELECT org_id FROM nodes WHERE org_id = ?6 AND ip = ?1) AS node_org, " +
  "max(coalesce((SELECT last_signed_at_ms FROM nodes WHERE org_id = ?6 AND ip = ?1), 0), " +
  "coalesce((SELECT last_signed_at_ms FROM node_tombstones WHERE org_id = ?6 AND ip = ?1), 0)) AS last_signed_at_ms, " +
  "EXISTS (SELECT 1 FROM org_keys WHERE id = ?7 AND org_id = ?6 AND revoked_at_ms IS NULL) AS key_active, " +
  "(SELECT banned FROM organizations WHERE id = ?6) AS banned, " +
  `EXISTS (SELECT 1 FROM nodes WHERE org_id = ?6 AND ip = ?1 AND ${UNCHANGED}) AS unchanged, ` +
  `${SECRETS_FETCHED} AS secrets_fetched`;

const json = (status, body) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": "application/json", "x-content-type-options": "nosniff", "cache-control": "no-store" },
  });
// The message rides along on the Response for the log line's error code.
const answer = (status, success, message) => Object.assign(json(status, { success, message }), { message });
const bad = (message) => answer(400, false, message);

function bytesOfBase64(text) {
  const raw = atob(text);
  const out = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
  return out;
}

async function cryptoKey(row) {
  let key = keys.get(row.id);
  if (!key) {
    const der = bytesOfBase64(row.public_key_pem.replace(/-----[^-]+-----|\s/g, ""));
    key = await crypto.subtle.importKey("spki", der, ALGORITHM, false, ["verify"]);
    keys.set(row.id, key);
  }
  return key;
}

async function firstVerifying(rows, signature, message) {
  for (const row of rows) {
    if (await crypto.subtle.verify(ALGORITHM, await cryptoKey(row), signature, message)) return row;
  }
  return null;
}

function write(db, sql, node) {
  return db
    .prepare(sql)
    .bind(node.ip, node.provider, node.status, node.region, node.version, node.orgId, node.keyId, node.signedAt, node.now, 0, 0, "");
}

// One round trip to the primary, its billed rows counted from each result's meta.
async function batch(db, effects, statements) {
  effects.primary++;
  const results = await db.batch(statements);
  for (const { meta } of results) {
    effects.rowsRead += meta?.rows_read ?? 0;
    effects.rowsWritten += meta?.rows_written ?? 0;
  }
  return results;
}

// The read-back, with the write's parameters (as src/store/nodes.rs' stored_state).
const state = (db, node) => write(db, STATE_SQL, node);

async function register(request, env, ctx, effects) {
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
  const serverNow = Date.now();
  if (Math.abs(serverNow - signedAt) > SKEW_MS) {
    return bad(
      `Timestamp outside the allowed window of ±${SKEW_MS / 1000} seconds: the request says ` +
        `${new Date(signedAt).toISOString()}, the server's time is ${new Date(serverNow).toISOString()}`,
    );
  }
  let signature;
  try {
    signature = bytesOfBase64(body.signature);
  } catch {
    return bad("Invalid signature encoding");
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", signature));
  const nonce = `register-nonce:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  effects.kvReads++;
  if ((await env.NONCES.get(nonce)) !== null) return bad(REPLAY);

  const db = env.DB.withSession("first-primary");
  const message = new TextEncoder().encode([CONTEXT, ...fields].join("\n"));
  const node = { ip: body.ip, provider: body.provider, status: body.status, region: body.region, version: body.version, signedAt, now: Date.now() };
  // After the answer, as the Rust worker does (the write is not on the critical path).
  const remember = () => {
    effects.kvWrites++;
    ctx.waitUntil(env.NONCES.put(nonce, "1", { expirationTtl: NONCE_TTL_SECONDS }));
    return answer(200, true, "Registration successful");
  };

  // Warm: a node this isolate verified, one conditional update batch.
  const known = knownNodes.get(body.ip);
  if (known && (!idOrg || idOrg === known.orgId)) {
    const signer = await firstVerifying(known.keys, signature, message);
    if (signer) {
      const warm = { ...node, orgId: known.orgId, keyId: signer.id };
      const [update, read] = await batch(db, effects, [write(db, UPDATE_SQL, warm), state(db, warm)]);
      const s = read.results[0];
      if (update.meta.changes > 0) return remember();
      if (s.node_org === known.orgId && s.banned !== 0) return bad(ORG_UNUSABLE);
      if (s.node_org === known.orgId && s.key_active && s.last_signed_at_ms >= signedAt) return bad(REPLAY);
      knownNodes.delete(body.ip); // recheck on the cold path
    }
  }

  // Cold: one read batch, verify, one conditional upsert batch.
  const args = [body.ip, idOrg ?? "", MAX_CANDIDATE_KEYS];
  const [candidates, existing] = await batch(db, effects, [
    db.prepare(KEYS_SQL).bind(...args),
    db.prepare(NODES_SQL).bind(...args),
  ]);
  const admitted = candidates.results.filter((k) => !idOrg || k.org_id === idOrg);
  const key = await firstVerifying(admitted, signature, message);
  if (!key) return bad("Invalid signature");
  if (key.org_banned !== 0) return bad(ORG_UNUSABLE);
  const mine = existing.results.find((n) => n.org_id === key.org_id);
  if (mine && signedAt <= mine.last_signed_at_ms) return bad(REPLAY);
  const cold = { ...node, orgId: key.org_id, keyId: key.id };
  const [upsert, read] = await batch(db, effects, [write(db, UPSERT_SQL, cold), state(db, cold)]);
  if (upsert.meta.changes === 0) {
    const s = read.results[0];
    return bad(s.banned !== 0 ? ORG_UNUSABLE : !s.key_active ? "Invalid signature" : REPLAY);
  }
  const sameOrg = candidates.results.filter((k) => k.org_id === key.org_id && k.id !== key.id);
  if (knownNodes.size >= 8192) knownNodes.clear();
  knownNodes.set(body.ip, { orgId: key.org_id, keys: [key, ...sameOrg] });
  return remember();
}

// workerd's own PBKDF2 (WebCrypto; it allows at most 100 000 iterations), timed from
// outside by bench_kdf: the clock does not advance inside a request.
async function pbkdf2(url) {
  const hash = url.searchParams.get("hash") ?? "SHA-512";
  const iterations = Number(url.searchParams.get("iterations") ?? "100000");
  const encoder = new TextEncoder();
  const key = await crypto.subtle.importKey("raw", encoder.encode("correct horse battery"), "PBKDF2", false, [
    "deriveBits",
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: "PBKDF2", hash, salt: encoder.encode("0123456789abcdef"), iterations },
    key,
    hash === "SHA-512" ? 512 : 256,
  );
  return json(200, { bytes: bits.byteLength });
}

// The Rust worker's observability (core::http::observe): one log line, one data point.
function codeFromText(text) {
  let code = "";
  for (const c of text) {
    if (code.length >= MAX_CODE) break;
    if (/[A-Za-z0-9]/.test(c)) code += c.toUpperCase();
    else if (code && !code.endsWith("_")) code += "_";
  }
  return code.replace(/_+$/, "");
}

function observe(env, arrival, response, route, message, effects) {
  const status = response.status;
  const statusClass = `${Math.floor(status / 100)}xx`;
  const errorCode = status < 400 ? null : codeFromText(message.split(/[:;.(]/)[0]) || `HTTP_${status}`;
  const durationMs = Math.max(0, Date.now() - arrival.startedMs);
  const kvCalls = effects.kvReads + effects.kvWrites;
  // Fields in the Rust line's order (sorted by name).
  console.log(JSON.stringify({
    colo: null, country: null, d1Primary: effects.primary, d1Replica: 0, d1RowsRead: effects.rowsRead,
    d1RowsWritten: effects.rowsWritten, durationMs, errorCode, kvCalls, kvReads: effects.kvReads,
    kvWrites: effects.kvWrites, method: arrival.method, msg: "request", requestId: arrival.requestId, route, status,
    statusClass,
  }));
  env.METRICS?.writeDataPoint({
    blobs: [route, statusClass, errorCode ?? "", arrival.method, "", ""],
    doubles: [status, durationMs, effects.primary, 0, kvCalls, effects.rowsRead, effects.rowsWritten, effects.kvReads, effects.kvWrites],
    indexes: [route],
  });
  response.headers.set("x-request-id", arrival.requestId);
  return response;
}

// What src/routes/mod.rs checks before routing: the header section and a declared
// body over their limits.
function refusedBeforeReading(request) {
  let headerBytes = 0;
  for (const [name, value] of request.headers) headerBytes += name.length + value.length + 4;
  if (headerBytes > MAX_HEADER_BYTES) return [431, `Request headers exceed ${MAX_HEADER_BYTES} bytes`];
  const declared = Number(request.headers.get("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) return [413, `Request body exceeds ${MAX_BODY_BYTES} bytes`];
  return null;
}

export default {
  async fetch(request, env, ctx) {
    const ray = request.headers.get("cf-ray");
    const arrival = {
      startedMs: Date.now(),
      method: request.method,
      requestId: ray && /^[A-Za-z0-9-]{1,64}$/.test(ray) ? ray : crypto.randomUUID().replaceAll("-", ""),
    };
    // CORS: the Rust worker answers an allowed Origin (none configured here).
    const origin = request.headers.get("origin");
    const allowed =
      origin !== null &&
      (env.CORS_ALLOWED_ORIGINS ?? "").split(",").some((o) => o.trim().toLowerCase() === origin.toLowerCase());
    const url = new URL(request.url);
    const { pathname } = url;
    const effects = { primary: 0, rowsRead: 0, rowsWritten: 0, kvReads: 0, kvWrites: 0 };
    if (request.method === "POST" && pathname === "/register") {
      const refused = refusedBeforeReading(request);
      const response = refused ? answer(refused[0], false, refused[1]) : await register(request, env, ctx, effects);
      if (allowed) response.headers.set("access-control-allow-origin", origin);
      return observe(env, arrival, response, "Register", response.message ?? "", effects);
    }
    if (pathname === "/pbkdf2") return pbkdf2(url);
    if (pathname === "/health") return json(200, { status: "ok" });
    return json(404, { success: false, message: "Not Found" });
  },
};
