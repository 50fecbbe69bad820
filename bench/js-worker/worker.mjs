// The comparison anchor of `make bench`: POST /register done the obvious other way, a
// plain JavaScript worker on WebCrypto, doing the same work as the Rust worker —
// JSON parsing and field checks, timestamp window, KV nonce check, the same D1 read
// batch and conditional upsert (same schema, same SQL), RSA PKCS#1 v1.5 SHA-256 verify
// (keys imported once per isolate), KV nonce write. It is a benchmark, not a product:
// no rate limits, CORS or the full error contract.
const SKEW_MS = 300_000;
const CONTEXT = "gatehouse-node-register-v1";
const REQUIRED = ["provider", "ip", "status", "region", "version", "timestamp", "signature"];
const ALGORITHM = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
const keys = new Map(); // key id -> CryptoKey, per isolate (a key id's PEM never changes)

const json = (status, body) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
const bad = (message) => json(400, { success: false, message });

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

async function register(request, env) {
  let body;
  try {
    body = await request.json();
  } catch {
    return bad("Invalid JSON body");
  }
  if (!body || REQUIRED.some((f) => typeof body[f] !== "string")) return bad("Missing required fields");
  if (!["S3", "GCS", "AZURE"].includes(body.provider)) return bad("Invalid provider");
  const fields = [body.provider, body.ip, body.status, body.region, body.version, body.timestamp, body.id_org ?? ""];
  if (fields.some((f) => /[\u0000-\u001f\u007f]/.test(f))) return bad("Invalid field: control characters");
  const signedAt = Date.parse(body.timestamp);
  if (Number.isNaN(signedAt)) return bad("Invalid timestamp");
  const now = Date.now();
  if (Math.abs(now - signedAt) > SKEW_MS) return bad("Timestamp outside the allowed window");
  let signature;
  try {
    signature = bytesOfBase64(body.signature);
  } catch {
    return bad("Invalid signature encoding");
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", signature));
  const nonce = `register-nonce:${[...digest].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  if ((await env.NONCES.get(nonce)) !== null) return bad("Replay detected");

  const idOrg = body.id_org ?? null;
  const keysQuery = idOrg
    ? env.DB.prepare(
        "SELECT k.id, k.org_id, k.public_key_pem FROM org_keys k JOIN organizations o ON o.id = k.org_id AND o.banned = 0 " +
          "WHERE k.org_id = ?1 AND k.revoked_at_ms IS NULL ORDER BY k.created_at_ms DESC LIMIT ?2",
      ).bind(idOrg, 50)
    : env.DB.prepare(
        "SELECT k.id, k.org_id, k.public_key_pem FROM org_keys k JOIN organizations o ON o.id = k.org_id AND o.banned = 0 " +
          "LEFT JOIN nodes n ON n.ip = ?1 AND n.key_id = k.id WHERE k.revoked_at_ms IS NULL " +
          "ORDER BY (n.ip IS NOT NULL) DESC, k.created_at_ms DESC LIMIT ?2",
      ).bind(body.ip, 50);
  const [candidates, org, node] = await env.DB.batch([
    keysQuery,
    env.DB.prepare("SELECT banned FROM organizations WHERE id = ?1").bind(idOrg ?? ""),
    env.DB.prepare("SELECT org_id, last_signed_at_ms FROM nodes WHERE ip = ?1").bind(body.ip),
  ]);
  if (idOrg && !(org.results[0] && org.results[0].banned === 0)) return bad("Unknown or banned organization");
  const message = new TextEncoder().encode([CONTEXT, ...fields].join("\n"));
  let matched = null;
  for (const row of candidates.results) {
    if (await crypto.subtle.verify(ALGORITHM, await cryptoKey(row), signature, message)) {
      matched = row;
      break;
    }
  }
  if (!matched) return bad("Invalid signature");
  const existing = node.results[0];
  if (existing && existing.org_id !== matched.org_id) return bad("Node is registered to another organization");
  if (existing && signedAt <= existing.last_signed_at_ms) return bad("Replay detected");
  const [write] = await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO nodes (ip, provider, status, region, version, org_id, key_id, last_signed_at_ms, created_at_ms, updated_at_ms) " +
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9) ON CONFLICT (ip) DO UPDATE SET provider = excluded.provider, " +
        "status = excluded.status, region = excluded.region, version = excluded.version, key_id = excluded.key_id, " +
        "last_signed_at_ms = excluded.last_signed_at_ms, updated_at_ms = excluded.updated_at_ms " +
        "WHERE excluded.last_signed_at_ms > nodes.last_signed_at_ms AND nodes.org_id = excluded.org_id",
    ).bind(body.ip, body.provider, body.status, body.region, body.version, matched.org_id, matched.id, signedAt, now),
  ]);
  if (write.meta.changes === 0) return bad("Replay detected");
  await env.NONCES.put(nonce, "1", { expirationTtl: 660 });
  return json(200, { success: true, message: "Registration successful" });
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

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const { pathname } = url;
    if (request.method === "POST" && pathname === "/register") return register(request, env);
    if (pathname === "/pbkdf2") return pbkdf2(url);
    if (pathname === "/health") return json(200, { status: "ok" });
    return json(404, { success: false, message: "Not Found" });
  },
};
