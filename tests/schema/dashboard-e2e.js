#!/usr/bin/env node
// End-to-end test of the operators' dashboard (GET /) in headless Chromium,
// driven by tests/integration/t_dashboard.sh, which starts PostgreSQL, the
// gateway and the portal simulator and passes their addresses here. It uses
// playwright-core (pinned in package-lock.json) with Debian's chromium, so
// nothing is downloaded at run time.
//
// What it holds the page to, each with a bounded wait (never a timing
// assertion): the page loads with no script error and no CSP violation,
// Vietnamese first and English on the toggle; a delivered record shows the
// portal up; a 4xx from the portal makes a dead letter that the page lists
// once an operator token is entered; the portal stopped while records are
// pushed shows as down (or degraded / circuit open) with a backlog; started
// again, the backlog drains and the page says up; Replay on the dead letter
// takes it off the list and the portal receives the record. Screenshots go
// to LT_DASH_OUT (and one to LT_DASH_DOCS when set, for the README).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} must be set`);
  return v;
};
const BASE = env('LT_DASH_URL');
const CONTROL = env('LT_DASH_CONTROL');
const PUSH_TOKEN = env('LT_DASH_PUSH_TOKEN');
const OPERATOR_TOKEN = env('LT_DASH_OPERATOR_TOKEN');
const EXAMPLE = JSON.parse(fs.readFileSync(env('LT_DASH_EXAMPLE'), 'utf8'));
const SYNC_PATH = process.env.LT_DASH_SYNC_PATH || '/sync';
const OUT = env('LT_DASH_OUT');
const DOCS = process.env.LT_DASH_DOCS || '';
const CHROMIUM = process.env.LT_CHROMIUM || '/usr/bin/chromium';

const log = (msg) => process.stderr.write(`[dashboard-e2e] ${msg}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn until it returns a truthy value; fails after `seconds`, saying
// what was awaited and what fn last saw.
async function waitFor(what, seconds, fn) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e.message;
    }
    if (Date.now() > deadline) throw new Error(`waited ${seconds} s for ${what}; last saw: ${JSON.stringify(last)}`);
    await sleep(200);
  }
}

async function control(body) {
  const r = await fetch(`${CONTROL}/_control`, { method: 'POST', body: JSON.stringify(body) });
  if (!r.ok) throw new Error(`simulator control ${JSON.stringify(body)}: ${r.status} ${await r.text()}`);
}

async function portalHas(code) {
  const r = await fetch(`${CONTROL}/_latest?MaHoSo=${encodeURIComponent(code)}`);
  return r.status === 200;
}

async function push(code) {
  const rec = JSON.parse(JSON.stringify(EXAMPLE));
  rec.MaHoSo = code;
  for (const q of rec.QuaTrinhXuLy || []) q.MaHoSo = code;
  const r = await fetch(`${BASE}/v1/dossiers`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${PUSH_TOKEN}` },
    body: JSON.stringify(rec),
  });
  const text = await r.text();
  if (r.status !== 200 || JSON.parse(text).results[0].result !== 'accepted')
    throw new Error(`push ${code}: ${r.status} ${text}`);
}

async function deadLetterOf(code) {
  const r = await fetch(`${BASE}/v1/deadletters?limit=200`, { headers: { Authorization: `Bearer ${OPERATOR_TOKEN}` } });
  if (!r.ok) return null;
  return (await r.json()).deadletters.find((d) => d.MaHoSo === code) || null;
}

// What the page shows for the portal: its row's state (the attribute the
// script sets and the words the operator reads) and its backlog cell.
async function portalRow(page) {
  return page.evaluate(() => {
    const row = document.querySelector('#dest-body tr[data-destination="portal"]');
    if (!row) return null;
    return {
      state: row.getAttribute('data-state'),
      word: row.querySelector('.state').textContent,
      backlog: Number(row.children[2].textContent.replace(/[^0-9]/g, '')),
    };
  });
}

async function shot(page, name) {
  const file = path.join(OUT, name);
  await page.screenshot({ path: file, fullPage: true });
  log(`screenshot ${file}`);
  return file;
}

async function main() {
  fs.mkdirSync(OUT, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Root in a container has no user namespace for Chromium's sandbox.
    chromiumSandbox: false,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const problems = [];
  let page = null;
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'vi-VN' });
    page = await context.newPage();
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('console', (m) => {
      // A refused resource or a CSP violation shows up as a console error.
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
    // Every request the page makes stays on the gateway's origin.
    page.on('request', (r) => {
      if (!r.url().startsWith(BASE) && !r.url().startsWith('data:')) problems.push(`outside request: ${r.url()}`);
    });

    // ---- the page loads, Vietnamese first ------------------------------------
    const resp = await page.goto(`${BASE}/`);
    if (resp.status() !== 200) throw new Error(`GET / answered ${resp.status()}`);
    await waitFor('the portal row', 15, () => portalRow(page));
    const lang0 = await page.evaluate(() => document.documentElement.lang);
    if (lang0 !== 'vi') throw new Error(`the page starts in ${lang0}, not vi`);
    const h2vi = await page.textContent('#h-links');
    await page.click('#lang');
    const h2en = await page.textContent('#h-links');
    const lang1 = await page.evaluate(() => document.documentElement.lang);
    if (lang1 !== 'en' || h2en !== 'Links' || h2vi === h2en)
      throw new Error(`the language toggle: lang ${lang1}, heading "${h2vi}" -> "${h2en}"`);
    await page.click('#lang');
    if ((await page.textContent('#h-links')) !== h2vi) throw new Error('the toggle does not come back to Vietnamese');
    if (problems.length) throw new Error(`on load: ${problems.join('; ')}`);

    // ---- a delivered record: the portal is up -----------------------------------
    await push('000.00.06.H56-240611-0901');
    await waitFor('the first record at the portal', 30, () => portalHas('000.00.06.H56-240611-0901'));
    await waitFor('the portal shown up', 15, async () => {
      const r = await portalRow(page);
      return r && r.state === 'up' && r;
    });
    log('portal shown up');

    // ---- a 4xx from the portal: a dead letter, listed with the operator token ----
    const D = '000.00.06.H56-240611-0909';
    await control({ status: 422, only_path: SYNC_PATH, for_calls: 1 });
    await push(D);
    const dead = await waitFor(`a dead letter for ${D}`, 30, () => deadLetterOf(D));
    if (await portalHas(D)) throw new Error('the refused record is at the portal already');
    const listedBefore = await page.$$eval('#dead-body tr[data-deadletter]', (rows) => rows.length);
    if (listedBefore !== 0) throw new Error('dead letters listed without a token');
    await page.fill('#token', OPERATOR_TOKEN);
    await page.click('#token-form button[type=submit]');
    const row = `#dead-body tr[data-deadletter="${dead.id}"]`;
    await waitFor('the dead letter listed', 15, () => page.$(row));
    const stored = await page.evaluate(() => ({ session: Object.keys(sessionStorage), local: Object.keys(localStorage) }));
    if (stored.session.length !== 1 || stored.local.some((k) => /token/i.test(k)))
      throw new Error(`the token is kept outside sessionStorage: ${JSON.stringify(stored)}`);
    log(`dead letter ${dead.id} listed`);

    // ---- the portal stops while records are pushed --------------------------
    await control({ down: true });
    const downAt = Date.now();
    for (let i = 2; i <= 4; i++) await push(`000.00.06.H56-240611-090${i}`);
    const down = await waitFor('the portal shown down with a backlog', 20, async () => {
      const r = await portalRow(page);
      return r && ['down', 'degraded', 'circuit_open'].includes(r.state) && r.backlog > 0 && r;
    });
    const words = ['Mất kết nối', 'Suy giảm', 'Tạm ngắt'];
    if (!words.includes(down.word)) throw new Error(`the state is not said in words: "${down.word}"`);
    log(`portal shown ${down.state} ("${down.word}", backlog ${down.backlog}) ${((Date.now() - downAt) / 1000).toFixed(1)} s after it stopped`);
    await shot(page, 'portal-down.png');
    if (DOCS) {
      // The README's copy: the visible part only, one pixel per CSS pixel,
      // JPEG when the name says so, to keep it small.
      const jpeg = /\.jpe?g$/i.test(DOCS);
      await page.screenshot({ path: DOCS, fullPage: false, type: jpeg ? 'jpeg' : 'png', quality: jpeg ? 70 : undefined });
      log(`README copy ${DOCS} (${fs.statSync(DOCS).size} bytes)`);
    }

    // ---- the portal comes back: the backlog drains ------------------------------
    await control({ down: false });
    await waitFor('the portal shown up with no backlog', 120, async () => {
      const r = await portalRow(page);
      return r && r.state === 'up' && r.backlog === 0 && r;
    });
    for (let i = 2; i <= 4; i++)
      if (!(await portalHas(`000.00.06.H56-240611-090${i}`))) throw new Error(`record ${i} did not reach the portal`);
    log('portal drained and shown up');
    await shot(page, 'portal-up.png');

    // ---- Replay --------------------------------------------------------------------
    await page.click(`${row} button.replay`);
    await waitFor('the replayed dead letter to leave the list', 20, async () => !(await page.$(row)));
    await waitFor(`${D} at the portal`, 30, () => portalHas(D));
    const note = await page.textContent('#dead-msg');
    log(`replayed: "${note}"`);
    await shot(page, 'replayed.png');

    if (problems.length) throw new Error(problems.join('; '));
    await context.close();
  } catch (e) {
    // What the page showed when it failed, beside the other screenshots.
    if (page) await page.screenshot({ path: path.join(OUT, 'failure.png'), fullPage: true }).catch(() => {});
    throw e;
  } finally {
    await browser.close();
  }
}

main().then(
  () => log('passed'),
  (e) => {
    log(`FAIL: ${e.message}`);
    process.exitCode = 1;
  }
);
