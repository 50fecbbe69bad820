#!/usr/bin/env python3
"""Refuses to deploy an environment that is not filled in (`make deploy-preflight`).

`make deploy` runs this first. It reads wrangler.toml (or --config) and checks the
environment it is about to deploy (--env, default production):

- the D1 database_id and the KV namespace id are real ids, not the all-zero
  placeholders the file ships with;
- every rate limiter has its own namespace_id, a positive integer (namespace ids are
  per account: two limiters sharing one share their counters);
- every binding and every var of the top level is repeated in the environment:
  wrangler does not inherit bindings or vars into an environment, so one left out
  would be missing (a binding) or silently take the code's local default (a var);
- the mail sender: MAIL_FROM is one of the EMAIL binding's allowed_sender_addresses;
- nothing is still an example: PUBLIC_URL is https and, like MAIL_FROM and the routes,
  not on a reserved example/local domain, and PUBLIC_URL is on a hostname the routes
  serve (emailed links lead there); TEST_HOOKS is off and RATE_LIMITS on.

Each refusal says what to set. Standard library only (Python 3.11+: tomllib).
Exit 0: ready to deploy; 1: refused; 2: the file cannot be read.
"""

import argparse
import fnmatch
import re
import sys
import tomllib
from pathlib import Path

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
HEX32 = re.compile(r"^[0-9a-f]{32}$", re.I)
# RFC 2606 / 6761 names that can never be a real deployment's.
RESERVED_HOST = re.compile(
    r"(^|\.)(example\.(com|net|org)|example|localhost|test|invalid)$|^127\.|^\[?::1\]?$", re.I
)
BINDING_KINDS = {
    "d1_databases": "binding",
    "kv_namespaces": "binding",
    "analytics_engine_datasets": "binding",
    "send_email": "name",
    "ratelimits": "name",
}


def all_zero(value):
    return bool(value) and set(str(value).replace("-", "")) == {"0"}


def host_of(url_or_host):
    host = re.sub(r"^[a-z]+://", "", url_or_host, flags=re.I).lstrip("*.")
    return re.split(r"[/:?#*]", host, maxsplit=1)[0] if not host.startswith("[") else host


def check(config, env_name):
    problems = []
    env = config.get("env", {}).get(env_name)
    if env is None:
        return [f"there is no [env.{env_name}] in the configuration: add one (docs/deploying.md)"]
    where = f"[env.{env_name}]"

    # Bindings and vars are not inherited: the environment must name each again.
    for kind, key in BINDING_KINDS.items():
        top = {b.get(key) for b in config.get(kind, [])}
        mine = {b.get(key) for b in env.get(kind, [])}
        for missing in sorted(top - mine):
            problems.append(
                f"[[env.{env_name}.{kind}]] has no {missing!r}: wrangler does not inherit "
                f"bindings into an environment; copy the top-level [[{kind}]] entry "
                f"{key} = {missing!r} under [[env.{env_name}.{kind}]]"
            )
    top_vars, my_vars = config.get("vars", {}), env.get("vars", {})
    for missing in sorted(set(top_vars) - set(my_vars)):
        problems.append(
            f"[env.{env_name}.vars] has no {missing}: vars are not inherited either, so it "
            f"would fall back to the code's default; set it (the local value is "
            f"{top_vars[missing]!r})"
        )

    for db in env.get("d1_databases", []):
        db_id = str(db.get("database_id", ""))
        if all_zero(db_id) or not UUID.match(db_id):
            problems.append(
                f"{where} D1 {db.get('binding')!r}: database_id is {db_id!r}, "
                f"{'the placeholder' if all_zero(db_id) else 'not a D1 id'}: run "
                f"`npx wrangler d1 create {db.get('database_name', 'gatehouse')}` and set "
                "the printed database_id (a UUID) in [[env."
                f"{env_name}.d1_databases]]"
            )
    for kv in env.get("kv_namespaces", []):
        kv_id = str(kv.get("id", ""))
        if all_zero(kv_id) or not HEX32.match(kv_id):
            problems.append(
                f"{where} KV {kv.get('binding')!r}: id is {kv_id!r}, "
                f"{'the placeholder' if all_zero(kv_id) else 'not a KV namespace id'}: run "
                "`npx wrangler kv namespace create gatehouse-nonces` and set the printed id "
                f"(32 hex digits) in [[env.{env_name}.kv_namespaces]]"
            )

    seen = {}
    for index, limiter in enumerate(env.get("ratelimits", [])):
        name, ns = limiter.get("name"), str(limiter.get("namespace_id", ""))
        if not ns.isdigit() or int(ns) == 0:
            problems.append(
                f"{where} rate limiter {name!r}: namespace_id is {ns!r}; set a positive "
                "integer (as a string) that no other rate limiter in your Cloudflare "
                f"account uses, e.g. \"{1001 + index}\""
            )
        elif ns in seen:
            problems.append(
                f"{where} rate limiters {seen[ns]!r} and {name!r} share namespace_id {ns!r}: "
                "they would share one budget; give each its own positive integer, unique "
                "in your account"
            )
        else:
            seen[ns] = name
        if "simple" not in limiter:
            problems.append(f"{where} rate limiter {name!r} has no `simple = {{ limit, period }}`")

    mail_from = str(my_vars.get("MAIL_FROM", ""))
    public_url = str(my_vars.get("PUBLIC_URL", ""))
    for sender in env.get("send_email", []):
        allowed = sender.get("allowed_sender_addresses")
        if allowed is not None and mail_from and mail_from not in allowed:
            problems.append(
                f"{where} send_email {sender.get('name')!r}: MAIL_FROM {mail_from!r} is not "
                f"in allowed_sender_addresses {allowed}: the binding would refuse every "
                "mail; make them equal"
            )
    if mail_from and "@" in mail_from and RESERVED_HOST.search(mail_from.rsplit("@", 1)[1]):
        problems.append(
            f"[env.{env_name}.vars] MAIL_FROM is {mail_from!r}: set an address at the domain "
            "you onboarded to Cloudflare Email Sending (docs/deploying.md), in "
            "allowed_sender_addresses too"
        )
    if public_url:
        if not public_url.lower().startswith("https://"):
            problems.append(
                f"[env.{env_name}.vars] PUBLIC_URL is {public_url!r}: set the https:// URL "
                "people reach the worker at (it goes into the emailed links)"
            )
        elif RESERVED_HOST.search(host_of(public_url)):
            problems.append(
                f"[env.{env_name}.vars] PUBLIC_URL is {public_url!r}, an example: set the "
                "https:// URL of your own hostname (the one in routes)"
            )
    routes = env.get("routes", []) + ([env["route"]] if "route" in env else [])
    for route in routes:
        pattern = route if isinstance(route, str) else route.get("pattern", "")
        if RESERVED_HOST.search(host_of(pattern)):
            problems.append(
                f"{where} routes: {pattern!r} is an example; set your hostname (a Custom "
                "Domain in a zone of your account, or a route pattern with zone_name)"
            )
    # A route's hostname, wildcards kept (`*.acme.net/*` serves gatehouse.acme.net).
    route_hosts = {
        re.split(r"[/:?#]", r if isinstance(r, str) else r.get("pattern", ""), maxsplit=1)[0].lower()
        for r in routes
    }
    if public_url.lower().startswith("https://") and route_hosts:
        public_host = host_of(public_url).lower()
        if not any(fnmatch.fnmatchcase(public_host, h) for h in route_hosts):
            problems.append(
                f"[env.{env_name}.vars] PUBLIC_URL {public_url!r} is not on a hostname the "
                f"routes serve ({', '.join(sorted(route_hosts))}): emailed links would lead "
                "elsewhere; make them agree"
            )
    if str(my_vars.get("TEST_HOOKS", "off")) != "off":
        problems.append(f"[env.{env_name}.vars] TEST_HOOKS must be \"off\" in production")
    if str(my_vars.get("RATE_LIMITS", "on")) != "on":
        problems.append(f"[env.{env_name}.vars] RATE_LIMITS must be \"on\" in production")
    id_limit = str(my_vars.get("NODE_ID_MAX_LENGTH", "")).strip()
    if not (id_limit.isdigit() and 1 <= int(id_limit) <= 65536):
        problems.append(
            f"[env.{env_name}.vars] NODE_ID_MAX_LENGTH is {id_limit or 'not set'}: without "
            "a whole number a stranger's /register_node_secret stores node ids up to the "
            '64 KiB body limit (SECURITY.md, "Known gaps"); set 1 to 65536 (256 as '
            "committed; 65536 keeps Infera's unbounded model, with NODE_SECRETS_MAX "
            "at most ~4700)"
        )
    else:
        # What strangers may store through /register_node_secret at most: NODE_SECRETS_MAX
        # node ids, each twice (row and key index) at NODE_ID_MAX_LENGTH characters of up
        # to four bytes each (UTF-8), ~300 bytes more.
        held = str(my_vars.get("NODE_SECRETS_MAX", "1000000")).strip()
        if held.isdigit():
            worst = int(held) * (2 * 4 * int(id_limit) + 300)
            if worst > NODE_SECRETS_BUDGET_BYTES:
                problems.append(
                    f"[env.{env_name}.vars] NODE_SECRETS_MAX {held} node ids of up to "
                    f"NODE_ID_MAX_LENGTH {id_limit} characters is up to ~{worst / 1e9:.1f} GB "
                    "(four bytes a character, as UTF-8 allows) that strangers may fill, more "
                    "than 2.5 GB of the database's 10 GB "
                    "(docs/nodes.md, \"POST /register_node_secret\"); lower one of them"
                )
    return problems


# The share of D1's 10 GB that node ids registered by strangers may take.
NODE_SECRETS_BUDGET_BYTES = 2_500_000_000


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--config", default="wrangler.toml")
    parser.add_argument("--env", default="production")
    args = parser.parse_args(argv)
    path = Path(args.config)
    try:
        config = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        print(f"deploy-preflight: cannot read {path}: {e}", file=sys.stderr)
        return 2
    problems = check(config, args.env)
    if problems:
        print(f"deploy-preflight: {path} [env.{args.env}] is not ready to deploy:", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Nothing was deployed. See docs/deploying.md.", file=sys.stderr)
        return 1
    env = config["env"][args.env]
    print(
        f"deploy-preflight: {path} [env.{args.env}] ready: D1 "
        + ", ".join(str(d.get("database_id")) for d in env.get("d1_databases", []))
        + "; KV "
        + ", ".join(str(k.get("id")) for k in env.get("kv_namespaces", []))
        + "; rate limiters "
        + ", ".join(f"{r.get('name')}={r.get('namespace_id')}" for r in env.get("ratelimits", []))
        + f"; PUBLIC_URL {env.get('vars', {}).get('PUBLIC_URL')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
