// Benchmark (not a test): the size of what Connect downloads, gzipped, and how
// long its first screen takes to become interactive on localhost.
//
//   scripts/run &            # or any running Gridlink with a built release app
//   node end2end/bench/connect-load.mjs [base-url] [runs]
//
// It signs in as the demo operator (GRIDLINK_DEMO_PASSWORD, default
// "demo-password"), creates a fresh Connect token per run, and measures from
// navigation start until the utility search field accepts input.
import { chromium } from '@playwright/test';
import { gzipSync } from 'node:zlib';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const runs = Number(process.argv[3] ?? 20);
const password = process.env.GRIDLINK_DEMO_PASSWORD ?? 'demo-password';

async function json(response) {
  if (!response.ok) throw new Error(`${response.url}: ${response.status} ${await response.text()}`);
  return response.json();
}

const signIn = await fetch(`${base}/api/session`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ email: 'demo@example.com', password }),
});
const cookie = signIn.headers.get('set-cookie').split(';')[0];
const { csrfToken } = await json(signIn);
const newToken = async () =>
  json(await fetch(`${base}/api/v1/connect-tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie, 'x-csrf-token': csrfToken },
    body: '{}',
  }));

// Bundle: every asset index.html loads (wasm, JavaScript, CSS).
const html = await (await fetch(`${base}/connect`)).text();
const assets = [...html.matchAll(/(?:href|src)="(\/[^"]+\.(?:wasm|js|css))"/g)].map((match) => match[1]);
let raw = 0;
let gzipped = 0;
for (const asset of new Set(assets)) {
  const bytes = Buffer.from(await (await fetch(`${base}${asset}`)).arrayBuffer());
  raw += bytes.length;
  gzipped += gzipSync(bytes, { level: 9 }).length;
}
console.log(`Connect bundle: ${assets.length} files, ${(raw / 1024).toFixed(1)} KiB raw, ${(gzipped / 1024).toFixed(1)} KiB gzipped`);

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const timings = [];
for (let run = 0; run < runs; run += 1) {
  const { url } = await newToken();
  const context = await browser.newContext();
  const page = await context.newPage();
  const started = Date.now();
  await page.goto(url);
  await page.getByLabel('Search utilities').fill('Gas');
  timings.push(Date.now() - started);
  await context.close();
}
await browser.close();
timings.sort((a, b) => a - b);
const at = (p) => timings[Math.round((timings.length - 1) * p)];
console.log(`First screen interactive over ${runs} cold loads: p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${timings.at(-1)} ms`);
