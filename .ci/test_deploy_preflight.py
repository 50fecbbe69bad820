#!/usr/bin/env python3
"""`make test-deploy-preflight`: `make deploy-preflight` refuses what it must and passes
a filled-in configuration.

Runs the real make target (`make deploy-preflight WRANGLER_CONFIG=<copy>`) on copies
of wrangler.toml in a temporary directory, never on the file itself:

1. the copy as committed (all-zero ids, example domain): refused, naming the D1 id,
   the KV id and every rate limiter's namespace_id;
2. the copy with fake ids, distinct namespace ids and a real-looking domain: passes;
3. that copy with two limiters on one namespace_id: refused (duplicate);
4. that copy without the production KV binding: refused (bindings are not inherited);
5. that copy with MAIL_FROM outside allowed_sender_addresses: refused;
6. that copy with PUBLIC_URL on another hostname than the routes: refused;
7. that copy without NODE_ID_MAX_LENGTH, or with an empty one: refused;
8. that copy with NODE_ID_MAX_LENGTH 65536 and NODE_SECRETS_MAX as committed (over
   2.5 GB of node ids strangers may store): refused.

Standard library only.
"""

import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FAKE_D1 = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b"
FAKE_KV = "0123456789abcdef0123456789abcdef"


def production_section(text):
    start = text.index("[env.production]")
    return text[:start], text[start:]


def filled(text):
    top, prod = production_section(text)
    prod = prod.replace('database_id = "00000000-0000-0000-0000-000000000000"', f'database_id = "{FAKE_D1}"')
    prod = prod.replace('id = "00000000000000000000000000000000"', f'id = "{FAKE_KV}"')
    numbers = iter(["4101", "4102", "4103", "4104", "4105", "4106", "4107"])
    prod = re.sub(r'namespace_id = "0"', lambda _: f'namespace_id = "{next(numbers)}"', prod)
    prod = prod.replace("gatehouse.example.com", "gatehouse.acme-storage.net")
    prod = prod.replace("no-reply@example.com", "no-reply@acme-storage.net")
    return top + prod


def run(config_text, directory, name):
    path = Path(directory) / name
    path.write_text(config_text, encoding="utf-8")
    env = dict(os.environ)
    env.pop("MAKEFLAGS", None)  # a plain sub-make: no jobserver, no -s/-k from the caller
    env.pop("MFLAGS", None)
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), "deploy-preflight", f"WRANGLER_CONFIG={path}"],
        capture_output=True,
        text=True,
        env=env,
    )
    return result.returncode, result.stdout + result.stderr


def expect(label, outcome, ok, *needles):
    code, output = outcome
    failures = []
    if (code == 0) != ok:
        failures.append(f"exit {code}, expected {'success' if ok else 'a refusal'}")
    for needle in needles:
        if needle not in output:
            failures.append(f"output lacks {needle!r}")
    if failures:
        print(f"FAIL {label}: " + "; ".join(failures) + "\n" + output, file=sys.stderr)
        return False
    print(f"ok   {label}")
    return True


def main():
    original = (ROOT / "wrangler.toml").read_text(encoding="utf-8")
    good = filled(original)
    assert good != original and 'namespace_id = "0"' not in good
    top, prod = production_section(good)
    duplicate = top + prod.replace('namespace_id = "4102"', 'namespace_id = "4101"')
    no_kv = top + re.sub(r"\[\[env\.production\.kv_namespaces\]\]\n(?:(?!\[).*\n)*", "", prod)
    wrong_sender = top + prod.replace(
        'MAIL_FROM = "no-reply@acme-storage.net"', 'MAIL_FROM = "hello@acme-storage.net"'
    )
    elsewhere = top + prod.replace(
        'PUBLIC_URL = "https://gatehouse.acme-storage.net"', 'PUBLIC_URL = "https://www.acme-storage.net"'
    )
    unbounded_ids = top + re.sub(r'\nNODE_ID_MAX_LENGTH = "\d+"', "", prod)
    empty_limit = top + re.sub(r'NODE_ID_MAX_LENGTH = "\d+"', 'NODE_ID_MAX_LENGTH = ""', prod)
    assert duplicate != good and no_kv != good and wrong_sender != good and elsewhere != good
    long_ids = top + re.sub(r'NODE_ID_MAX_LENGTH = "\d+"', 'NODE_ID_MAX_LENGTH = "65536"', prod)
    assert unbounded_ids != good and empty_limit != good and long_ids != good
    results = []
    with tempfile.TemporaryDirectory(prefix="gatehouse-preflight-") as d:
        results.append(expect(
            "placeholders are refused", run(original, d, "placeholders.toml"), False,
            "database_id is '00000000-0000-0000-0000-000000000000', the placeholder",
            "id is '00000000000000000000000000000000', the placeholder",
            "rate limiter 'AUTH_LIMITER': namespace_id is '0'",
            "rate limiter 'NODE_LIMITER': namespace_id is '0'",
            "rate limiter 'AUTH_WIDE_LIMITER': namespace_id is '0'",
            "rate limiter 'NODE_WIDE_LIMITER': namespace_id is '0'",
            "rate limiter 'NODE_FLEET_LIMITER': namespace_id is '0'",
            "rate limiter 'SIGNED_IN_LIMITER': namespace_id is '0'",
            "rate limiter 'SIGNED_IN_WIDE_LIMITER': namespace_id is '0'",
            "Nothing was deployed",
        ))
        results.append(expect(
            "filled-in fake ids pass", run(good, d, "filled.toml"), True,
            f"D1 {FAKE_D1}", f"KV {FAKE_KV}", "AUTH_LIMITER=4101, NODE_LIMITER=4102, AUTH_WIDE_LIMITER=4103, NODE_WIDE_LIMITER=4104, NODE_FLEET_LIMITER=4105, SIGNED_IN_LIMITER=4106, SIGNED_IN_WIDE_LIMITER=4107",
        ))
        results.append(expect(
            "a shared namespace_id is refused", run(duplicate, d, "duplicate.toml"), False,
            "share namespace_id '4101'",
        ))
        results.append(expect(
            "a binding left out of the environment is refused", run(no_kv, d, "no-kv.toml"), False,
            "[[env.production.kv_namespaces]] has no 'NONCES'",
        ))
        results.append(expect(
            "MAIL_FROM outside allowed_sender_addresses is refused",
            run(wrong_sender, d, "sender.toml"), False,
            "is not in allowed_sender_addresses",
        ))
        results.append(expect(
            "PUBLIC_URL off the routes' hostnames is refused", run(elsewhere, d, "url.toml"), False,
            "is not on a hostname the routes serve",
        ))
        results.append(expect(
            "no NODE_ID_MAX_LENGTH is refused", run(unbounded_ids, d, "ids.toml"), False,
            "[env.production.vars] NODE_ID_MAX_LENGTH is not set",
        ))
        results.append(expect(
            "an empty NODE_ID_MAX_LENGTH is refused", run(empty_limit, d, "empty-ids.toml"), False,
            "[env.production.vars] NODE_ID_MAX_LENGTH is not set",
        ))
        results.append(expect(
            "long node ids times NODE_SECRETS_MAX over 2.5 GB are refused",
            run(long_ids, d, "long-ids.toml"), False,
            "NODE_SECRETS_MAX 1000000 node ids of up to NODE_ID_MAX_LENGTH 65536",
        ))
    if not all(results):
        return 1
    print("deploy-preflight: refuses placeholders, shared namespace ids, missing bindings, "
          "a disallowed sender, links off the routes and unbounded node ids (in length or "
          "in what they may fill); passes a "
          "filled-in configuration")
    return 0


if __name__ == "__main__":
    sys.exit(main())
