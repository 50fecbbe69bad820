"""Produce (or --check) fixtures.json and fixtures_constrained.json: what FastAPI
answers to each request, with Infera's model and with the constrained one (app.py).

    python -m venv .venv && .venv/bin/pip install -r requirements.txt
    .venv/bin/python generate.py          # rewrite fixtures.json
    .venv/bin/python generate.py --check  # exit 1 if fixtures.json is stale

The app is called directly over ASGI (no HTTP client in between), so the bytes and
headers are exactly what the table says. Cases on which FastAPI itself crashes (it
cannot render NaN/Infinity or lone surrogates and answers a bare 500) are left out;
gatehouse's deliberate deviations there are unit-tested in core.
"""
import asyncio
import base64
import json
import random
import sys

import app as reference

JSON = "application/json"

# (name, content-type or None, body bytes)
TABLE = [
    ("no body", JSON, b""),
    ("no body, no content type", None, b""),
    ("whitespace only", JSON, b" \t\n"),
    ("truncated object", JSON, b'{"node_id": '),
    ("trailing comma", JSON, b'{"node_id":"n",}'),
    ("single quotes", JSON, b"{'node_id':'n'}"),
    ("unterminated string", JSON, b'{"node_id":"abc'),
    ("control char in string", JSON, b'{"node_id":"a\nb"}'),
    ("bad escape", JSON, b'{"node_id":"a\\qb"}'),
    ("bad unicode escape", JSON, b'{"node_id":"a\\u12G4"}'),
    ("unicode escape at end", JSON, b'{"node_id":"\\u1234'),
    ("missing colon", JSON, b'{"a" 1}'),
    ("missing comma", JSON, b'{"a":1 "b":2}'),
    ("extra data", JSON, b"{} {}"),
    ("array trailing comma", JSON, b"[1,]"),
    ("lone minus", JSON, b"-"),
    ("partial literal", JSON, b"tru"),
    ("leading zero", JSON, b"01"),
    ("non-ascii before error", JSON, '["é" 1]'.encode()),
    ("invalid utf-8", JSON, b'{"node_id":"\xff"}'),
    ("utf-8 bom", JSON, b'\xef\xbb\xbf{"node_id":5}'),
    ("utf-16", JSON, '{"node_id":5}'.encode("utf-16-le")),
    ("json null", JSON, b"null"),
    ("json array", JSON, b"[1,2]"),
    ("json string", JSON, b'"hello"'),
    ("json number", JSON, b"42"),
    ("json true", JSON, b"true"),
    ("empty object", JSON, b"{}"),
    ("only node_id", JSON, b'{"node_id":"n"}'),
    ("only secret with extras", JSON, b'{"secret":"0123456789abcdef","x":[1,{"y":null}]}'),
    ("number and bool", JSON, b'{"node_id":5,"secret":true}'),
    ("null and array", JSON, b'{"node_id":null,"secret":[1]}'),
    ("object and float", JSON, b'{"node_id":{"a":1},"secret":1.5}'),
    ("floats as python prints them", JSON, b'{"node_id":1e5,"secret":-0.0}'),
    ("tiny and huge floats", JSON, b'{"node_id":1e16,"secret":1.5e-7}'),
    ("negative zero int", JSON, b'{"node_id":-0,"secret":12}'),
    ("big int", JSON, b'{"node_id":' + b"9" * 40 + b"}"),
    ("int over python's digit limit", JSON, b'{"node_id":' + b"9" * 4301 + b"}"),
    ("too short", JSON, b'{"node_id":"","secret":"abc"}'),
    ("a short secret (Infera's example)", JSON, b'{"node_id":"n","secret":"abc"}'),
    ("empty strings", JSON, b'{"node_id":"","secret":""}'),
    ("too long, counted in characters", JSON, json.dumps({"node_id": "é" * 129, "secret": "x" * 513}).encode()),
    ("exactly at the limits", JSON, json.dumps({"node_id": "é" * 128, "secret": "😀" * 16}, ensure_ascii=False).encode()),
    ("one under the secret minimum", JSON, json.dumps({"node_id": "n", "secret": "😀" * 15}, ensure_ascii=False).encode()),
    ("surrogate pair escape", JSON, b'{"node_id":"\\ud83d\\ude00"}'),
    ("duplicate keys, last wins", JSON, b'{"secret":"s","node_id":"a","secret":5}'),
    ("control chars echoed", JSON, b'{"node_id":"a\\u0001\\u007f\\u2028b"}'),
    ("text/plain", "text/plain", b'{"node_id":"n","secret":"0123456789abcdef"}'),
    ("no content type", None, b'{"node_id":"n","secret":"0123456789abcdef"}'),
    ("empty content type", "", b"{}"),
    ("upper-case content type", "APPLICATION/JSON", b"{}"),
    ("+json content type", "application/problem+json; charset=x", b"{}"),
    ("space after slash", "application/ json", b"{}"),
    ("text/json", "text/json", b"{}"),
    ("valid", JSON, b'{"node_id":"node-1","secret":"0123456789abcdef"}'),
    ("valid with extras", JSON, b'{"node_id":"node-2","secret":"0123456789abcdef","extra":1}'),
    ("deeply nested", JSON, b"[" * 2000 + b"]" * 2000),
    ("nested at the recursion limit", JSON, b"[" * 963 + b"]" * 963),
    ("nested past the recursion limit", JSON, b"[" * 969 + b"]" * 969),
]

VALID = [
    b'{"node_id":"node-7","secret":"0123456789abcdef"}',
    b'{"secret": "s3cr3t-s3cr3t-s3cr3t", "node_id": "\\u00e9t\\u00e9"}',
    b'[{"node_id": [1, 2.5e3, -0.0, true, null], "secret": {"k": "v"}}]',
]
ALPHABET = b'{}[],:"\\ \n\t0123456789eE.+-tfnrulsaxNI\x00\x1f\xc3\xa9'


def mutations(seed=20261122, count=400):
    rng = random.Random(seed)
    for i in range(count):
        body = bytearray(rng.choice(VALID))
        for _ in range(rng.randint(1, 3)):
            op = rng.random()
            pos = rng.randrange(len(body) + 1)
            if op < 0.35 and body:
                del body[min(pos, len(body) - 1)]
            elif op < 0.7:
                body[pos:pos] = bytes([rng.choice(ALPHABET)])
            elif op < 0.85:
                body = body[:pos]
            else:
                body[pos:pos] = bytes(rng.choice(ALPHABET) for _ in range(rng.randint(2, 6)))
        yield (f"mutation {i}", JSON, bytes(body))


async def call(asgi_app, content_type, body):
    headers = [] if content_type is None else [(b"content-type", content_type.encode("latin-1"))]
    pending = [{"type": "http.request", "body": body, "more_body": False}]
    sent = []

    async def receive():
        return pending.pop(0) if pending else {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/register_node_secret", "headers": headers,
        "query_string": b"", "asgi": {"version": "3.0"}, "http_version": "1.1", "scheme": "http",
        "server": ("test", 80), "client": ("test", 1), "root_path": "",
    }
    reference.STORED.clear()
    await asgi_app(scope, receive, send)
    status = sent[0]["status"]
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def build(asgi_app):
    cases = []
    for name, content_type, body in TABLE + list(mutations()):
        try:
            status, response = asyncio.run(call(asgi_app, content_type, body))
        except (ValueError, UnicodeError):
            continue  # FastAPI crashes on these (500); see the module docstring
        cases.append({
            "name": name,
            "content_type": content_type,
            "body_b64": base64.b64encode(body).decode(),
            "status": status,
            "response": response.decode("utf-8"),
        })
    return {"fastapi": reference.fastapi_version(), "cases": cases}


TABLES = [
    ("fixtures.json", reference.app, None),
    ("fixtures_constrained.json", reference.constrained_app, reference.CONSTRAINTS),
]

if __name__ == "__main__":
    stale = []
    for path, asgi_app, settings in TABLES:
        fixtures = build(asgi_app)
        if settings is not None:
            fixtures["settings"] = settings
        text = json.dumps(fixtures, indent=1, ensure_ascii=False) + "\n"
        if "--check" in sys.argv:
            with open(path, encoding="utf-8") as f:
                if f.read() != text:
                    stale.append(path)
            print(f"{path}: {len(fixtures['cases'])} cases checked")
        else:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            print(f"wrote {len(fixtures['cases'])} cases to {path}")
    if stale:
        sys.exit(f"stale: {', '.join(stale)}: run generate.py")
