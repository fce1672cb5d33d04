// What the browser tests share: a titolare-local of their own (fresh data, free port), Debian's
// Chromium through playwright-core, the local outbox, axe-core and screenshots.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '../..');
const targetDir = process.env.CARGO_TARGET_DIR ? resolve(repo, process.env.CARGO_TARGET_DIR) : join(repo, 'target');
export const SCREENSHOTS = join(targetDir, 'screenshots');

const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

async function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => ok(port));
    });
    server.on('error', fail);
  });
}

/** Starts titolare-local on a free port with an empty data folder; `stop()` ends it. */
export async function startService() {
  const bin = process.env.TITOLARE_LOCAL_BIN ?? join(targetDir, 'debug', 'titolare-local');
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'titolare-web-'));
  const child = spawn(bin, [], {
    env: { ...process.env, PORT: String(port), TITOLARE_DATA_DIR: data, RUST_LOG: 'warn', PUBLIC_BASE_URL: `http://127.0.0.1:${port}` },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => { stderr += chunk; });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      const r = await fetch(`${base}/config.json`);
      if (r.ok) break;
    } catch { /* not up yet */ }
    if (child.exitCode !== null || i > 200) throw new Error(`titolare-local did not start (${bin}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    base,
    async stop() {
      child.kill('SIGINT');
      await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      rmSync(data, { recursive: true, force: true });
    },
  };
}

export async function startBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

/**
 * A person: a browser context of their own (their own sessionStorage), 1280 px wide, whose
 * page must log no error (a CSP violation, a failed module, an exception).
 * @param {import('playwright-core').Browser} browser
 */
export async function person(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'it-IT', timezoneId: 'Europe/Rome' });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`exception: ${e.message}`));
  page.on('console', (m) => {
    // A refused API call shows as a failed resource in the console: expected where a test
    // sends something wrong; everything else is a fault of the page.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
  page.setDefaultTimeout(10_000);
  return { context, page, problems };
}

/** @param {string} base */
export async function outbox(base) {
  const r = await fetch(`${base}/dev/outbox`);
  return /** @type {{id: string, channel: string, to: string, subject: string, text: string}[]} */ (await r.json());
}

/**
 * The newest message to `to` whose text matches `pattern`, waiting for it to be sent.
 * @param {string} base
 * @param {string} to
 * @param {RegExp} pattern
 * @param {number} [skip] how many such messages were there before
 */
export async function message(base, to, pattern, skip = 0) {
  for (let i = 0; i < 200; i++) {
    const found = (await outbox(base)).filter((m) => m.to === to && pattern.test(m.text));
    if (found.length > skip) return found[0];
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no message to ${to} matching ${pattern}`);
}

/** How many messages to `to` match `pattern` now. */
export async function count(base, to, pattern) {
  return (await outbox(base)).filter((m) => m.to === to && pattern.test(m.text)).length;
}

/**
 * The newest 6-digit code sent to `to`, after `before` codes.
 * @param {string} base
 * @param {string} to
 * @param {number} [before]
 */
export async function code(base, to, before = 0) {
  const m = await message(base, to, /\b\d{6}\b/, before);
  return /** @type {string} */ (m.text.match(/\b(\d{6})\b/)?.[1]);
}

/**
 * The link of `kind` ("gestisci" or "password") emailed to `to`; for "gestisci", the one of
 * request `transfer` (its token starts with the request's number).
 * @param {string} base
 * @param {string} to
 * @param {'gestisci' | 'password'} kind
 * @param {string} [transfer]
 */
export async function link(base, to, kind, transfer) {
  const m = await message(base, to, new RegExp(`/${kind}#token=${transfer ? `${transfer}\\.` : ''}`));
  const url = m.text.match(new RegExp(`(https?://\\S+/${kind}#token=[A-Za-z0-9._~-]+)`))?.[1];
  assert.ok(url, `a ${kind} link in: ${m.text}`);
  return url;
}

/** @param {string} base @param {number} seconds */
export async function advanceClock(base, seconds) {
  const r = await fetch(`${base}/dev/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advance_seconds: seconds }) });
  assert.equal(r.status, 200);
}

/**
 * Calls the API as `username` (test set-up that is not what the test is about).
 * @param {string} base
 * @param {string} username
 */
export async function apiAs(base, username) {
  const login = await fetch(`${base}/dev/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) });
  const { token } = await login.json();
  return async (/** @type {string} */ method, /** @type {string} */ path, /** @type {unknown} */ body) => {
    const r = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const answer = await r.json();
    assert.ok(r.ok, `${method} ${path}: ${r.status} ${JSON.stringify(answer)}`);
    return answer;
  };
}

/**
 * A mailbox of `demo`'s, held by Test Azienda S.r.l., brought in as the provider's inventory
 * queue would bring it (a test of its own gets an item no other test holds).
 * @param {string} base
 * @param {string} address
 */
export async function addMailbox(base, address) {
  const r = await fetch(`${base}/dev/inventory`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      schema: 1, type: 'mailbox.upserted', version: 1, account: 'demo',
      mailbox: {
        address, holder_id: '534905', status: 'Certificato', kind: 'Standard', inbox_gb: 1,
        end_of_service: '2027-06-30', requested_on: '2020-01-10', certified_on: '2020-01-10', renewal: 'A Scadenza', duration: '1 Anno',
      },
    }),
  });
  assert.equal(r.status, 200, await r.text());
}

/**
 * Opens a request by the API as `demo` (for tests about what the holders do) and returns it.
 * @param {string} base
 * @param {object} body the POST /v1/transfers body
 */
export async function openRequest(base, body) {
  const api = await apiAs(base, 'demo');
  const draft = await api('POST', '/v1/transfers', body);
  const before = await count(base, '+393330000019', /\b\d{6}\b/);
  await api('POST', `/v1/transfers/${draft.id}/codes`, { channel: 'sms' });
  const sms = await code(base, '+393330000019', before);
  await api('POST', `/v1/transfers/${draft.id}/codes/verify`, { channel: 'sms', code: sms });
  return draft;
}

const violations = [];
/** Best-practice rules held to whatever their impact: landmarks each named apart, no empty
 * table header. */
const HELD_TO = new Set(['landmark-unique', 'empty-table-header', 'landmark-no-duplicate-main', 'duplicate-id']);

/**
 * axe-core (WCAG 2.0/2.1 A and AA, and best practice) on what the page shows now; serious
 * and critical violations, and those of the rules in HELD_TO, are collected, and the page is photographed at 1280 px and 360 px.
 * @param {import('playwright-core').Page} page
 * @param {string} name
 */
export async function check(page, name) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  for (const v of result.violations) {
    if (v.impact === 'serious' || v.impact === 'critical' || HELD_TO.has(v.id)) {
      violations.push(`${name}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
  }
  mkdirSync(SCREENSHOTS, { recursive: true });
  const size = page.viewportSize() ?? { width: 1280, height: 900 };
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-1280.png`), fullPage: true });
  await page.setViewportSize({ width: 360, height: 740 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) violations.push(`${name}: the page scrolls sideways by ${overflow}px at 360 px`);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}-360.png`), fullPage: true });
  await page.setViewportSize(size);
}

/** Fails with every accessibility violation found so far. */
export function assertAccessible() {
  assert.deepEqual(violations, [], `accessibility:\n${violations.join('\n')}`);
}

/**
 * A service and a browser for the tests of one file: started before them, stopped after.
 * @returns {{service: Awaited<ReturnType<typeof startService>>, browser: import('playwright-core').Browser}}
 */
export function useServiceAndBrowser() {
  const env = /** @type {any} */ ({});
  before(async () => {
    env.service = await startService();
    env.browser = await startBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.service?.stop();
  });
  return env;
}
