// The two pages people open from their mail (verify-email, reset-password), used in a
// real headless Chromium as a person would: the link read from the mail, the password
// typed into the labelled field, the button clicked; once with JavaScript enabled and
// once with it disabled (the pages need none). Parsing the HTML cannot tell whether a
// browser submits the form (CSP form-action, the Origin it sends against the worker's
// cross-site refusal), whether password managers and screen readers find the field,
// or whether the page fits a phone; this does.
//
// Usage: node tests/browser/pages.mjs BASE_URL [SCREENSHOT_DIR]
//   BASE_URL  a booted worker whose PUBLIC_URL is BASE_URL (tests/tests/browser.rs)
//   CHROMIUM  the browser binary (default: chromium on PATH, Debian's package)
// Exit code 0 when every check passed; 1 with each failure printed otherwise.
// Screenshots (phone and desktop width, JavaScript on) go to SCREENSHOT_DIR if given.

import { readFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import puppeteer from "puppeteer-core";

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
const BASE = process.argv[2]?.replace(/\/$/, "");
const SHOTS = process.argv[3];
const PHONE = { width: 375, height: 667, deviceScaleFactor: 2, isMobile: true, hasTouch: true };
const DESKTOP = { width: 1280, height: 800, deviceScaleFactor: 1 };
const CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const SIGNUP_PASSWORD = "Correct1horse";

if (!BASE) {
  console.error("usage: node tests/browser/pages.mjs BASE_URL [SCREENSHOT_DIR]");
  process.exit(2);
}

let checks = 0;
const failures = [];
function check(ok, what) {
  checks += 1;
  if (!ok) failures.push(what);
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
}

async function http(method, path, body, token) {
  const headers = body ? { "content-type": "application/json" } : {};
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(BASE + path, {
    method,
    headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, body: await res.text() };
}

async function signUp(email) {
  const res = await http("POST", "/user/register", {
    email, password: SIGNUP_PASSWORD, firstName: "Ada", lastName: "Lovelace",
    companyName: "Acme", isBusiness: true,
  });
  if (res.status !== 201) throw new Error(`sign-up of ${email}: ${res.status} ${res.body}`);
}

/// Whether the account's address is verified: signs in over HTTP, reads the profile.
async function validated(email, password) {
  const login = await http("POST", "/user/login", { email, password });
  if (login.status !== 200) throw new Error(`login of ${email}: ${login.status} ${login.body}`);
  const profile = await http("GET", "/user/profile", undefined, JSON.parse(login.body).accessToken);
  return JSON.parse(profile.body).data?.validated;
}

/// The link in the newest mail to `to` with `subject`, from wrangler's local mail explorer.
async function mailedLink(to, subject, path) {
  const api = "/cdn-cgi/local/explorer/api/local/email/sending";
  for (let i = 0; i < 100; i++) {
    const list = JSON.parse((await http("GET", api)).body).result ?? [];
    const mails = list
      .filter((m) => (m.to ?? []).includes(to) && m.subject === subject)
      .sort((a, b) => String(a.sentAt).localeCompare(String(b.sentAt)));
    if (mails.length) {
      const id = encodeURIComponent(mails.at(-1).messageId);
      const full = JSON.parse((await http("GET", `${api}?email_id=${id}`)).body).result;
      const link = full.text.split(/\s+/).find((w) => w.includes(`${path}?token=`));
      if (!link) throw new Error(`no ${path} link in: ${full.text}`);
      return link;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no mail "${subject}" to ${to}`);
}

/// What the page shows, read through the DevTools protocol's DOM (works with the page's
/// JavaScript disabled).
async function facts(page, field) {
  return page.evaluate((field) => {
    const input = document.getElementById(field);
    const label = input && input.labels && input.labels[0];
    const box = (el) => el && el.getBoundingClientRect();
    const visible = (el) => {
      const b = box(el);
      return !!b && b.width > 0 && b.height > 0 && getComputedStyle(el).visibility !== "hidden";
    };
    const button = document.querySelector("button[type=submit]");
    const described = (input?.getAttribute("aria-describedby") ?? "").split(/\s+/).filter(Boolean);
    const error = document.getElementById(`${field}-error`);
    return {
      title: document.title,
      h1: document.querySelector("h1")?.textContent,
      text: document.body.innerText,
      scrollWidth: document.documentElement.scrollWidth,
      scripts: document.scripts.length,
      styles: document.querySelectorAll("style, link, [style]").length,
      hasField: !!input,
      type: input?.type,
      autocomplete: input?.getAttribute("autocomplete"),
      minlength: input?.getAttribute("minlength"),
      required: input?.required,
      labelText: label?.textContent.trim(),
      labelFor: label?.htmlFor,
      labelVisible: visible(label),
      buttonVisible: visible(button),
      buttonInside: !!button && box(button).right <= window.innerWidth && box(button).left >= 0,
      described: described.map((id) => document.getElementById(id)?.textContent.trim()),
      errorText: error?.textContent.trim(),
      errorRole: error?.getAttribute("role"),
      invalid: input?.getAttribute("aria-invalid"),
      // Pixels between the field's bottom and the error's top: "next to the field".
      errorGap: input && error ? box(error).top - box(input).bottom : null,
      errorDescribes: described.includes(`${field}-error`),
    };
  }, field);
}

/// axe-core in the page: serious and critical violations fail the check.
async function axe(page, where) {
  await page.evaluate(AXE);
  const result = await page.evaluate(async () => {
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")) }));
  });
  const bad = result.filter((v) => v.impact === "serious" || v.impact === "critical");
  const minor = result.filter((v) => !bad.includes(v)).map((v) => `${v.id} (${v.impact})`);
  check(bad.length === 0, `${where}: axe-core finds no serious or critical violation${bad.length ? `: ${JSON.stringify(bad)}` : ""}${minor.length ? ` [minor: ${minor.join(", ")}]` : ""}`);
}

/// axe-core needs JavaScript: with the page's disabled, it runs on the same document
/// re-enabled for the check only (the page has no script of its own to run).
async function audit(page, where, jsEnabled) {
  if (!jsEnabled) await page.setJavaScriptEnabled(true);
  await axe(page, where);
  if (!jsEnabled) await page.setJavaScriptEnabled(false);
}

async function phoneChecks(page, where, f) {
  check(f.scrollWidth <= 375, `${where}: no horizontal scroll at 375 px (scrollWidth ${f.scrollWidth})`);
  // Nothing the strict CSP would block: the page works the same with JavaScript off.
  check(f.scripts === 0 && f.styles === 0, `${where}: no script, no style (${f.scripts}, ${f.styles})`);
}

async function shoot(page, name) {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
  await page.setViewport(DESKTOP);
  await page.screenshot({ path: join(SHOTS, `${name}-desktop.png`), fullPage: true });
  await page.setViewport(PHONE);
}

/// Opens `url` in a new tab at phone width: the response, the page, CSP reports seen.
async function open(browser, url, jsEnabled) {
  const page = await browser.newPage();
  await page.setViewport(PHONE);
  await page.setJavaScriptEnabled(jsEnabled);
  const cspViolations = [];
  page.on("console", (m) => {
    if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
  });
  const response = await page.goto(url, { waitUntil: "load" });
  return { page, response, cspViolations };
}

/// Types into the labelled field (found by its label, as a person finds it) and clicks
/// the button; returns the answer's response.
async function submit(page, labelText, value) {
  const field = await page.$(`::-p-aria(${labelText}[role="textbox"])`) ?? await page.$(`::-p-aria(${labelText})`);
  if (!field) throw new Error(`no field labelled "${labelText}"`);
  await field.click({ count: 3 });
  await page.keyboard.press("Backspace");
  await field.type(value);
  const button = await page.$("button[type=submit]");
  const [response] = await Promise.all([page.waitForNavigation({ waitUntil: "load" }), button.click()]);
  return response;
}

function headerChecks(where, response) {
  const h = response.headers();
  check(h["content-security-policy"] === CSP, `${where}: the strict CSP (${h["content-security-policy"]})`);
  check(h["x-frame-options"] === "DENY" && h["referrer-policy"] === "no-referrer", `${where}: never framed, Referer only to the worker`);
}

async function verifyFlow(browser, jsEnabled) {
  const mode = jsEnabled ? "JS on" : "JS off";
  const email = `ada@verify-${jsEnabled ? "js" : "nojs"}.example`;
  await signUp(email);
  check((await validated(email, SIGNUP_PASSWORD)) === false, `verify (${mode}): unverified before the link`);
  const link = await mailedLink(email, "An account was created with this address", "/user/verify-email");
  check(link.startsWith(`${BASE}/user/verify-email?token=`), `verify (${mode}): the mailed link points at the worker (${link})`);
  const { page, response, cspViolations } = await open(browser, link, jsEnabled);
  let where = `verify page (${mode})`;
  check(response.status() === 200, `${where}: 200`);
  headerChecks(where, response);
  let f = await facts(page, "password");
  check(f.h1 === "Confirm your email address", `${where}: titled "${f.h1}"`);
  check(f.type === "password" && f.required, `${where}: a required password field`);
  check(f.autocomplete === "current-password", `${where}: autocomplete="${f.autocomplete}" (the existing password)`);
  check(f.labelText === "Password" && f.labelFor === "password" && f.labelVisible, `${where}: a visible <label for> names the field ("${f.labelText}")`);
  check(f.buttonVisible && f.buttonInside, `${where}: the button is visible within the width`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "verify");

  // A wrong password: the form again, the error right under the field.
  let answer = await submit(page, "Password", "Wrong1horse");
  where = `verify, wrong password (${mode})`;
  check(answer.status() === 401, `${where}: 401 (${answer.status()})`);
  f = await facts(page, "password");
  check(f.h1 === "Email not verified", `${where}: titled "${f.h1}"`);
  check(f.hasField && f.autocomplete === "current-password", `${where}: the form is shown again`);
  check(/not the password chosen at sign-up/.test(f.errorText ?? ""), `${where}: the error is on the page ("${f.errorText}")`);
  check(f.errorDescribes && f.invalid === "true" && f.errorRole === "alert", `${where}: the error describes the field (aria-describedby, aria-invalid, role=alert)`);
  check(f.errorGap !== null && f.errorGap >= 0 && f.errorGap < 60, `${where}: the error is right under the field (${f.errorGap} px)`);
  check(f.buttonVisible && f.buttonInside, `${where}: the button is visible within the width`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "verify-wrong-password");

  answer = await submit(page, "Password", SIGNUP_PASSWORD);
  where = `verify, done (${mode})`;
  check(answer.status() === 200, `${where}: 200 (${answer.status()})`);
  headerChecks(where, answer);
  f = await facts(page, "password");
  check(f.h1 === "Email verified" && /You can close this page and sign in/.test(f.text), `${where}: "${f.h1}"`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "verify-done");
  check(cspViolations.length === 0, `verify (${mode}): no CSP violation reported ${cspViolations.join(" | ")}`);
  check((await validated(email, SIGNUP_PASSWORD)) === true, `verify (${mode}): the profile says verified`);
  await page.close();
}

async function resetFlow(browser, jsEnabled) {
  const mode = jsEnabled ? "JS on" : "JS off";
  const email = `ada@reset-${jsEnabled ? "js" : "nojs"}.example`;
  const newPassword = "Fresh1horse";
  await signUp(email);
  const asked = await http("POST", "/user/request-reset-password", { email });
  check(asked.status === 200, `reset (${mode}): asked over HTTP (${asked.status})`);
  const link = await mailedLink(email, "Reset your password", "/user/reset-password");
  const { page, response, cspViolations } = await open(browser, link, jsEnabled);
  let where = `reset page (${mode})`;
  check(response.status() === 200, `${where}: 200`);
  headerChecks(where, response);
  let f = await facts(page, "newPassword");
  check(f.h1 === "Choose a new password", `${where}: titled "${f.h1}"`);
  check(f.type === "password" && f.required, `${where}: a required password field`);
  check(f.autocomplete === "new-password", `${where}: autocomplete="${f.autocomplete}" (managers offer to generate and save)`);
  check(f.minlength === "8", `${where}: minlength="${f.minlength}"`);
  check(f.described.some((t) => /At least 8 characters/.test(t ?? "")) && /At least 8 characters/.test(f.text), `${where}: the minimum is shown and tied to the field`);
  check(f.labelText === "New password" && f.labelFor === "newPassword" && f.labelVisible, `${where}: a visible <label for> names the field ("${f.labelText}")`);
  check(f.buttonVisible && f.buttonInside, `${where}: the button is visible within the width`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "reset");

  if (jsEnabled) {
    // The browser itself holds back a password under the announced minimum.
    await (await page.$("#newPassword")).type("Ab1");
    await page.click("button[type=submit]");
    await new Promise((r) => setTimeout(r, 300));
    const held = await page.evaluate(() => ({ url: location.href, tooShort: document.getElementById("newPassword").validity.tooShort }));
    check(held.url === link && held.tooShort, `${where}: a 3-character password is held back by the browser (minlength)`);
  }

  // Long enough but refused by the policy (no digit, no uppercase): the form again,
  // the error right under the field.
  let answer = await submit(page, "New password", "weakpassword");
  where = `reset, weak password (${mode})`;
  check(answer.status() === 400, `${where}: 400 (${answer.status()})`);
  f = await facts(page, "newPassword");
  check(f.h1 === "Password not changed", `${where}: titled "${f.h1}"`);
  check(f.hasField && f.autocomplete === "new-password" && f.minlength === "8", `${where}: the form is shown again`);
  check(/uppercase|digit/i.test(f.errorText ?? ""), `${where}: the error is on the page ("${f.errorText}")`);
  check(f.errorDescribes && f.invalid === "true" && f.errorRole === "alert", `${where}: the error describes the field (aria-describedby, aria-invalid, role=alert)`);
  check(f.errorGap !== null && f.errorGap >= 0 && f.errorGap < 120, `${where}: the error is right under the field and its hint (${f.errorGap} px)`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "reset-weak-password");

  answer = await submit(page, "New password", newPassword);
  where = `reset, done (${mode})`;
  check(answer.status() === 200, `${where}: 200 (${answer.status()})`);
  headerChecks(where, answer);
  f = await facts(page, "newPassword");
  check(f.h1 === "Password changed" && /sign in with the new one/.test(f.text), `${where}: "${f.h1}"`);
  await phoneChecks(page, where, f);
  await audit(page, where, jsEnabled);
  if (jsEnabled) await shoot(page, "reset-done");
  check(cspViolations.length === 0, `reset (${mode}): no CSP violation reported ${cspViolations.join(" | ")}`);
  await page.close();

  const login = await http("POST", "/user/login", { email, password: newPassword });
  check(login.status === 200, `reset (${mode}): logs in over HTTP with the new password (${login.status})`);
  const old = await http("POST", "/user/login", { email, password: SIGNUP_PASSWORD });
  check(old.status === 401, `reset (${mode}): the old password is refused (${old.status})`);
}

/// The same page served under another origin (localhost instead of PUBLIC_URL's
/// 127.0.0.1): the browser's form post carries that Origin, and the worker refuses it.
async function crossSiteFlow(browser) {
  const email = "ada@cross-site.example";
  await signUp(email);
  const link = await mailedLink(email, "An account was created with this address", "/user/verify-email");
  const elsewhere = link.replace("://127.0.0.1:", "://localhost:");
  if (elsewhere === link) return check(false, "cross-site: PUBLIC_URL is on 127.0.0.1");
  const { page } = await open(browser, elsewhere, true);
  const answer = await submit(page, "Password", SIGNUP_PASSWORD);
  const text = await page.evaluate(() => document.body.innerText);
  check(answer.status() === 403 && /can only be sent from its own page/.test(text), `cross-site: a form posted from another origin is refused (${answer.status()})`);
  await page.close();
  check((await validated(email, SIGNUP_PASSWORD)) === false, "cross-site: the account stays unverified");
}

const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || "chromium",
  headless: true,
  // Root in CI: Chromium's sandbox needs an unprivileged user namespace it may lack.
  args: ["--no-sandbox", "--disable-dev-shm-usage", "--no-first-run"],
});
try {
  console.log(`browser: ${await browser.version()}, worker ${BASE}`);
  for (const js of [true, false]) {
    await verifyFlow(browser, js);
    await resetFlow(browser, js);
  }
  await crossSiteFlow(browser);
} catch (e) {
  failures.push(`aborted: ${e.stack ?? e}`);
  console.log(`FAIL aborted: ${e.stack ?? e}`);
} finally {
  await browser.close();
}
console.log(`${checks - failures.length} passed, ${failures.length} failed`);
process.exit(failures.length ? 1 : 0);
