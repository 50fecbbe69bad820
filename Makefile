# gatehouse: every workflow is a make target; `make dev` and `make test` set up
# everything they need on a fresh machine (see README). Tools are installed per
# version under $(TOOLS_DIR) and reused when already present.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

TOOLS_DIR ?= $(HOME)/.cache/gatehouse/tools
DEV_PORT ?= 8787
# Links in mail point at the port the worker is served on (wrangler.toml's PUBLIC_URL
# is the default port's), so `make dev DEV_PORT=8788` mails working links.
DEV_VARS := --var PUBLIC_URL:http://127.0.0.1:$(DEV_PORT)

# Tool versions come from Cargo.lock, so the CLIs always match the crates they serve:
# worker-build must equal the `worker` crate, the wasm-bindgen CLI must equal the
# `wasm-bindgen` crate (a mismatch is a hard error at build time).
lock_version = $(shell awk '$$0 == "name = \"$(1)\"" { getline; gsub(/"/, "", $$3); print $$3; exit }' Cargo.lock)
WASM_BINDGEN_VERSION := $(call lock_version,wasm-bindgen)
WORKER_BUILD_VERSION := $(call lock_version,worker)
WASM_BINDGEN_ROOT := $(TOOLS_DIR)/wasm-bindgen-cli-$(WASM_BINDGEN_VERSION)
WORKER_BUILD_ROOT := $(TOOLS_DIR)/worker-build-$(WORKER_BUILD_VERSION)
WASM_BINDGEN := $(WASM_BINDGEN_ROOT)/bin/wasm-bindgen
WORKER_BUILD := $(WORKER_BUILD_ROOT)/bin/worker-build
NPM_STAMP := node_modules/.gatehouse-installed

# node_modules/.bin first: its `node` is Node 22 from the npm registry (wrangler needs
# >= 22; the machine's may be older). worker-build would download wasm-bindgen,
# wasm-opt and esbuild from GitHub; these point it at the pinned local ones instead.
export PATH := $(CURDIR)/node_modules/.bin:$(WASM_BINDGEN_ROOT)/bin:$(WORKER_BUILD_ROOT)/bin:$(PATH)
export WASM_BINDGEN_BIN := $(WASM_BINDGEN)
export WASM_OPT_BIN := $(CURDIR)/node_modules/.bin/wasm-opt
export ESBUILD_BIN := $(CURDIR)/node_modules/.bin/esbuild
# Keep wrangler fully offline: no cf.json fetch, no telemetry, no update check.
export CLOUDFLARE_CF_FETCH_ENABLED := false
export WRANGLER_SEND_METRICS := false
export NO_UPDATE_NOTIFIER := 1

# schemathesis (PyPI, every package pinned) in a cached venv, reinstalled when the
# pins change.
CONTRACT_VENV := $(HOME)/.cache/gatehouse/schemathesis-venv
CONTRACT_STAMP := $(CONTRACT_VENV)/.installed-$(shell sha256sum tests/contract/requirements.txt | cut -c1-16)
export SCHEMATHESIS := $(CONTRACT_VENV)/bin/schemathesis

WORKER_SOURCES := Cargo.toml Cargo.lock core/Cargo.toml core/openapi.json core/build.rs \
	core/kernels/Cargo.toml sql/Cargo.toml \
	$(shell find src core/src core/kernels/src sql/src -type f -name '*.rs' 2>/dev/null)

.PHONY: help setup build dev test test-unit test-wasm test-e2e deploy-check deploy \
	check-links chromium test-browser deploy-preflight test-deploy-preflight migrate-local fmt lint clean wrangler-build fastapi-golden demo bench contract fuzz \
	free-mail-migration

help:
	@echo "make dev     set up everything, then serve the worker on http://127.0.0.1:$(DEV_PORT)"
	@echo "             (another port: make dev DEV_PORT=8788; mailed links follow it; so does make demo)"
	@echo "make test    set up everything, then run every test suite"
	@echo "make build   build the worker bundle into build/"
	@echo "make demo    the whole onboarding against the local stack, step by step"
	@echo "make deploy  check, build and deploy [env.production] to Cloudflare (docs/deploying.md)"
	@echo "make deploy-preflight  what [env.production] still lacks before make deploy (no deploy)"
	@echo "make check-links  every relative link and #anchor in the markdown resolves"
	@echo "make lint    rustfmt check and clippy"
	@echo "make test-browser  the mailed links' pages in headless Chromium (installs it)"
	@echo "make bench   benchmarks (the numbers in docs/performance.md)"
	@echo "make contract  a longer schemathesis run against the local worker"
	@echo "make fuzz    cargo-fuzz every parser for FUZZ_SECONDS each (nightly)"

## ---- setup: idempotent, fast when nothing is missing ---------------------------

setup: wasm-target $(WASM_BINDGEN) $(WORKER_BUILD) $(NPM_STAMP) .dev.vars dev-vars-node-env-key

.PHONY: wasm-target
wasm-target:
	@rustup target list --installed | grep -qx wasm32-unknown-unknown \
		|| rustup target add wasm32-unknown-unknown

# Without --locked: the registry index lacks one of the CLI's locked dependencies.
$(WASM_BINDGEN):
	@test -n "$(WASM_BINDGEN_VERSION)" || { echo "wasm-bindgen not found in Cargo.lock" >&2; exit 1; }
	cargo install wasm-bindgen-cli --version $(WASM_BINDGEN_VERSION) --root $(WASM_BINDGEN_ROOT)

$(WORKER_BUILD):
	@test -n "$(WORKER_BUILD_VERSION)" || { echo "worker not found in Cargo.lock" >&2; exit 1; }
	cargo install worker-build --version $(WORKER_BUILD_VERSION) --root $(WORKER_BUILD_ROOT) --locked

$(NPM_STAMP): package.json package-lock.json
	@# `npm ci` rejects this npm's lockfile (it omits other platforms' optional workerd
	@# packages); install honours the lock and the exact pins in package.json.
	npm install --no-audit --no-fund --no-save --loglevel=error
	@touch $@

# A random HS256 key for local use only; production sets it with `wrangler secret put
# JWT_SECRET --env production`.
.dev.vars:
	@umask 077; printf 'JWT_SECRET=%s\n' "$$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" > $@
	@echo "wrote .dev.vars with a fresh random JWT_SECRET (git-ignored)"

# The key that seals service environments at rest (docs/nodes.md, "Service
# environments"), added to a .dev.vars written before it existed; production sets it
# with `wrangler secret put NODE_ENV_KEY --env production`.
.PHONY: dev-vars-node-env-key
dev-vars-node-env-key: .dev.vars
	@grep -q '^NODE_ENV_KEY=' .dev.vars || { umask 077; \
		printf 'NODE_ENV_KEY=%s\n' "$$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')" >> .dev.vars; \
		echo "added a fresh random NODE_ENV_KEY to .dev.vars (git-ignored)"; }

## ---- build ------------------------------------------------------------------------

build: setup build/index.js

# wasm-bindgen warns that `strip = true` removed the target_features section: expected
# (Cargo.toml strips on purpose, -27 KiB gzip; wasm-opt then runs with the features
# worker-build enables), so that one line is filtered out; everything else is shown.
# The commit the worker is built from, in /health's version (`0.1.0+<commit>`, with
# `-dirty` when BUILD_SOURCES differ from it; an operator's own wrangler.toml does not
# count), so that an operator sees which release serves: a new commit rebuilds
# the worker, the same one does not (the file is rewritten only when it changes).
# Empty outside a git checkout.
BUILD_COMMIT_FILE := target/gatehouse-commit
# What a release is made of besides wrangler.toml (an operator's own): the worker's
# sources, the pinned build tools and the migrations make deploy applies.
BUILD_SOURCES := src core sql Cargo.toml Cargo.lock package.json package-lock.json migrations
build/index.js: $(WORKER_SOURCES) $(BUILD_COMMIT_FILE)
	GATEHOUSE_COMMIT="$$(cat $(BUILD_COMMIT_FILE))" worker-build --release 2>&1 \
		| { grep -v -F 'the `target_features` custom section is missing' || true; }
	@touch $@

.PHONY: FORCE
$(BUILD_COMMIT_FILE): FORCE
	@mkdir -p $(@D); commit="$$(git rev-parse --short=12 HEAD 2>/dev/null || true)"; \
		[ -z "$$commit" ] || git diff --quiet HEAD -- $(BUILD_SOURCES) 2>/dev/null \
			|| commit="$$commit-dirty"; \
		[ -f $@ ] && [ "$$(cat $@)" = "$$commit" ] || printf '%s' "$$commit" > $@

# Called by wrangler before `wrangler dev` / `wrangler deploy` ([build] in wrangler.toml).
wrangler-build:
	@$(MAKE) --no-print-directory build >&2

## ---- run ----------------------------------------------------------------------------

# wrangler prints a table per run; one line says the same (all of it on a failure).
migrate-local: setup
	@out=$$(wrangler d1 migrations apply DB --local 2>&1) || { echo "$$out"; exit 1; }; \
		applied=$$(printf '%s\n' "$$out" | grep '✅' | grep -o '[0-9]\{4\}_[A-Za-z0-9_]*\.sql' | sort -u | wc -l || true); \
		if [ "$$applied" -eq 0 ]; then echo "local D1: migrations up to date (none to apply)"; \
		else echo "local D1: $$applied migration(s) applied, now up to date"; fi

# The local D1 file held open while the server runs (.ci/hold_d1_open.py says why: a
# request right after a `gatehouse-cli admin … --local` command could meet a lock).
dev: build migrate-local
	@python3 .ci/hold_d1_open.py .wrangler/state & holder=$$!; \
		trap 'kill $$holder 2> /dev/null' EXIT; \
		wrangler dev --ip 127.0.0.1 --port $(DEV_PORT) $(DEV_VARS)

# The whole onboarding over HTTP, explained step by step (gatehouse-cli demo). Uses
# the dev server on DEV_PORT if one answers, else starts one for the demo's duration.
demo: build migrate-local
	@url=http://127.0.0.1:$(DEV_PORT); \
	if ! curl -sf $$url/health > /dev/null 2>&1; then \
		echo "starting the local stack (wrangler dev) on $$url; log in .wrangler/demo.log"; \
		mkdir -p .wrangler; \
		setsid wrangler dev --ip 127.0.0.1 --port $(DEV_PORT) $(DEV_VARS) > .wrangler/demo.log 2>&1 < /dev/null & pid=$$!; \
		trap 'kill -TERM -- -$$pid 2> /dev/null; for _ in $$(seq 50); do kill -0 -- -$$pid 2> /dev/null || break; sleep 0.1; done; kill -KILL -- -$$pid 2> /dev/null || true' EXIT; \
		for _ in $$(seq 200); do curl -sf $$url/health > /dev/null 2>&1 && break; sleep 0.3; done; \
	fi; \
	cargo run -q -p gatehouse-cli -- demo --url $$url

## ---- test -----------------------------------------------------------------------------

test: check-links test-deploy-preflight test-dev-port build lint test-unit test-wasm deploy-check test-e2e

# Every relative link and #anchor in README.md, SECURITY.md, docs/, cli/README.md and
# migrations/README.md resolves, and every (docs/<file>.md, "Section") reference in
# code names a real section (.ci/check_links.py; python3, standard library only).
check-links:
	python3 .ci/check_links.py

# `make dev`/`make demo` on another port serve and mail links for that port (dry run).
.PHONY: test-dev-port
test-dev-port:
	@for target in dev demo; do \
		$(MAKE) --no-print-directory -n $$target DEV_PORT=8788 | grep -q -- '--port 8788 --var PUBLIC_URL:http://127.0.0.1:8788' \
			|| { echo "make $$target DEV_PORT=8788 does not serve and mail links on 8788" >&2; exit 1; }; \
	done; echo "dev-port: make dev/demo DEV_PORT=8788 serve and mail links on 8788"

# Every native test executable (unit, e2e, CLI) is built by one cargo call and run
# directly (tests/native-tests.sh says why): cargo resolves features per call, and
# separate calls built the shared dependencies up to three times.
.PHONY: native-tests
native-tests:
	bash tests/native-tests.sh build

test-unit: native-tests
	bash tests/native-tests.sh run gatehouse-core gatehouse-kernels gatehouse-sql

# The core crypto compiled to wasm32 and run under node by wasm-bindgen-test-runner
# (.cargo/config.toml); `wasm-pack test --node core` runs the same suite.
test-wasm: setup
	cargo test -p gatehouse-core --target wasm32-unknown-unknown --test wasm

# Boots the built worker in workerd (wrangler dev), with its own D1/KV: one per test
# binary shared by the tests that can share it, one per test for the others
# (tests/src/shared.rs); the CLI tests drive the gatehouse-cli binary against it, the
# contract test drives schemathesis against it. tests/run-e2e.sh runs E2E_JOBS test
# binaries at a time with E2E_THREADS threads each, and prints each binary's time and
# the ten slowest tests. The browser suite is one of these binaries (test-browser).
test-e2e: build chromium $(CONTRACT_STAMP)
	E2E_JOBS=$${E2E_JOBS:-3} E2E_THREADS=$${E2E_THREADS:-4} bash tests/run-e2e.sh

# The browser suite (tests/tests/browser.rs, tests/browser/pages.mjs) drives Debian's
# chromium, installed here when it is not on PATH yet (as root, as CI runs). When it
# cannot be installed, this says so and the suite prints SKIPPED in its place; with
# GATEHOUSE_BROWSER=required a missing browser fails the suite instead.
chromium:
	@command -v chromium > /dev/null || { \
		echo "installing Debian's chromium for the browser suite"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; } \
			|| echo "WARNING: chromium could not be installed (apt-get as root): the browser suite will be SKIPPED" >&2; \
	}

# The browser suite alone (make test runs it within test-e2e).
test-browser: build chromium
	bash tests/native-tests.sh test gatehouse-e2e browser --nocapture

# schemathesis (CONTRACT_* above) is reinstalled when its pins change.
$(CONTRACT_STAMP): tests/contract/requirements.txt
	@test -x $(CONTRACT_VENV)/bin/python || python3 -m venv $(CONTRACT_VENV)
	$(CONTRACT_VENV)/bin/pip install -q --disable-pip-version-check -r tests/contract/requirements.txt
	@rm -f $(CONTRACT_VENV)/.installed-*; touch $@

# A longer schemathesis exploration than `make test` runs: a new random seed each time
# (printed; CONTRACT_SEED=<n> repeats one), CONTRACT_EXAMPLES cases per operation.
contract: build $(CONTRACT_STAMP)
	CONTRACT_SEED=$${CONTRACT_SEED:-$$RANDOM$$RANDOM} CONTRACT_EXAMPLES=$${CONTRACT_EXAMPLES:-500} \
		CONTRACT_LIMITED_EXAMPLES=$${CONTRACT_LIMITED_EXAMPLES:-$${CONTRACT_EXAMPLES:-500}} \
		bash tests/native-tests.sh test gatehouse-e2e contract --nocapture

# The exact bundle `wrangler deploy` would upload, built without an account, held to
# a gzip size budget (docs/performance.md, "Bundle size" says why this number).
# `--env ""` names the top-level (local) configuration explicitly (wrangler warns
# otherwise now that wrangler.toml has an environment); then the same upload with
# [env.production]'s bindings and vars, which wrangler must accept without a warning
# (its placeholder ids are make deploy-preflight's business, not this check's).
# wrangler's own temp files (its update check's cache) go into the removed directory
# too, not /tmp.
BUNDLE_BUDGET_GZIP_KIB ?= 425
deploy-check: build
	@out=$$(mktemp -d); trap 'rm -rf "$$out"' EXIT; export TMPDIR="$$out"; \
		wrangler deploy --dry-run --env "" --outdir "$$out/local" > "$$out/report.txt" 2>&1 || { cat "$$out/report.txt"; exit 1; }; \
		grep -v '^$$' "$$out/report.txt"; \
		gzip_kib=$$(sed -n 's/.*Total Upload:.*gzip: \([0-9.]*\) KiB.*/\1/p' "$$out/report.txt"); \
		test -n "$$gzip_kib" || { echo "no upload size in wrangler's report" >&2; exit 1; }; \
		awk -v size="$$gzip_kib" -v budget=$(BUNDLE_BUDGET_GZIP_KIB) 'BEGIN { \
			if (size > budget) { printf "bundle: %s KiB gzip, over the %s KiB budget\n", size, budget; exit 1 } \
			printf "bundle: %s KiB gzip, within the %s KiB budget\n", size, budget }'; \
		wrangler deploy --dry-run --env production --outdir "$$out/production" > "$$out/production.txt" 2>&1 \
			|| { cat "$$out/production.txt"; exit 1; }; \
		grep -q -- '--dry-run: exiting now' "$$out/production.txt" || { cat "$$out/production.txt"; exit 1; }; \
		if grep -q 'WARNING' "$$out/production.txt"; then cat "$$out/production.txt"; exit 1; fi; \
		echo "production: wrangler deploy --dry-run --env production accepts [env.production] ($$(grep -c '^env\.' "$$out/production.txt") bindings and vars)"

# Production is wrangler.toml's [env.production]; the top level stays the local one.
# deploy-preflight refuses to go on while that environment still has the all-zero
# placeholder ids, shared rate-limit namespace ids, a binding or var left out (not
# inherited), a sender the binding may not use, an example domain or a PUBLIC_URL the
# routes do not serve, and says what to set (docs/deploying.md). WRANGLER_CONFIG
# points it at another file (the tests do).
WRANGLER_CONFIG ?= wrangler.toml
DEPLOY_ENV ?= production
deploy-preflight:
	@python3 .ci/deploy_preflight.py --config $(WRANGLER_CONFIG) --env $(DEPLOY_ENV)

# make test: deploy-preflight refuses a copy of wrangler.toml as committed and passes
# the same copy with fake ids filled in (.ci/test_deploy_preflight.py).
test-deploy-preflight:
	@python3 .ci/test_deploy_preflight.py

# Needs wrangler logged in (`npx wrangler login`) or CLOUDFLARE_API_TOKEN (+
# CLOUDFLARE_ACCOUNT_ID) in the environment, as in CI.
deploy: deploy-preflight build
	wrangler d1 migrations apply DB --remote --env $(DEPLOY_ENV)
	wrangler deploy --env $(DEPLOY_ENV)

# Re-checks tests/fastapi_golden/fixtures.json against the real FastAPI (pinned in
# requirements.txt, installed from PyPI into a cached venv). GOLDEN=write regenerates.
FASTAPI_VENV := $(HOME)/.cache/gatehouse/fastapi-venv
fastapi-golden:
	@test -x $(FASTAPI_VENV)/bin/python || python3 -m venv $(FASTAPI_VENV)
	$(FASTAPI_VENV)/bin/pip install -q -r tests/fastapi_golden/requirements.txt
	cd tests/fastapi_golden && $(FASTAPI_VENV)/bin/python generate.py $(if $(filter write,$(GOLDEN)),,--check)

# A new migration loading the free-mail domain list of the pinned npm package
# free-email-domains (package.json), when the pin moved; `make test` checks it.
free-mail-migration: $(NPM_STAMP)
	FREE_MAIL=write bash tests/native-tests.sh test gatehouse-e2e free_mail_domains --nocapture

# Fuzzing (cargo-fuzz on nightly, libFuzzer): each target for FUZZ_SECONDS. New inputs
# go to fuzz/corpus/<target> (git-ignored), crashes to fuzz/artifacts/<target>; the
# committed seeds are valid requests to start from. A crash becomes a unit test in
# core (docs/development.md, "Tests").
CARGO_FUZZ_VERSION := 0.13.2
CARGO_FUZZ_ROOT := $(TOOLS_DIR)/cargo-fuzz-$(CARGO_FUZZ_VERSION)
FUZZ_TARGETS := register_request node_secret_request account_inputs public_key_pem rsa_verify phc_hash bearer_token
FUZZ_SECONDS ?= 60

$(CARGO_FUZZ_ROOT)/bin/cargo-fuzz:
	cargo install cargo-fuzz --version $(CARGO_FUZZ_VERSION) --root $(CARGO_FUZZ_ROOT) --locked

fuzz: $(CARGO_FUZZ_ROOT)/bin/cargo-fuzz
	@rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
	@cd fuzz && mkdir -p logs && for target in $(FUZZ_TARGETS); do \
		mkdir -p corpus/$$target; \
		echo "== fuzz $$target ($(FUZZ_SECONDS) s, log fuzz/logs/$$target.log)"; \
		PATH=$(CARGO_FUZZ_ROOT)/bin:$$PATH cargo +nightly fuzz run $$target corpus/$$target seeds/$$target \
			-- -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
			> logs/$$target.log 2>&1 || { tail -n 40 logs/$$target.log; exit 1; }; \
		grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units)' logs/$$target.log; \
	done

# Benchmarks print numbers for docs/performance.md (a markdown report); never timed
# tests. Native (hardware and software SHA), wasm in node, inside workerd, load per
# route against the local worker and the plain-JS anchor, /register's stages, the cost
# table, the ceiling of one database, distance, bundle sizes. ~20 min on 2 quiet cores.
bench: build
	TOOLS_DIR=$(TOOLS_DIR) bash bench/run.sh

fmt:
	cargo fmt --all

lint: wasm-target
	cargo fmt --all --check
	cargo fmt --manifest-path fuzz/Cargo.toml --check
	cargo clippy -p gatehouse-core -p gatehouse-kernels -p gatehouse-sql -p gatehouse-cli -p gatehouse-e2e -p gatehouse-bench --all-targets -- -D warnings
	cargo clippy -p gatehouse --target wasm32-unknown-unknown -- -D warnings
	@# The fuzz targets build on stable too (without instrumentation): they cannot rot.
	cargo clippy --manifest-path fuzz/Cargo.toml --bins -- -D warnings

clean:
	rm -rf build target .wrangler
