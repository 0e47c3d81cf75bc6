// Benchmark (not a test): the size of what Connect downloads, as the server
// sends it to a browser that accepts brotli (and gzipped at level 9 for
// comparison), and how long its first screen takes to become interactive on
// localhost.
//
//   scripts/run &            # or any running Gridlink with a built release app
//   node end2end/bench/connect-load.mjs [base-url] [runs]
//
// Prints `BENCH connect_wire_brotli_kib`, `BENCH connect_gzip9_kib` and
// `BENCH connect_first_screen_p50_ms`.
//
// It signs in as the demo operator (GRIDLINK_DEMO_PASSWORD, default
// "demo-password"), creates a fresh Connect token per run, and measures from
// navigation start until the utility search field accepts input.
import { chromium } from '@playwright/test';
import { gzipSync } from 'node:zlib';
import http from 'node:http';

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

// The bytes of `path` exactly as sent to a browser accepting `encoding`
// (node's http does not decode), with the response's headers.
const sent = (path, encoding) =>
  new Promise((resolve, reject) => {
    http
      .get(`${base}${path}`, { headers: { 'accept-encoding': encoding } }, (response) => {
        const chunks = [];
        response.on('data', (chunk) => chunks.push(chunk));
        response.on('end', () => resolve({ bytes: Buffer.concat(chunks), headers: response.headers }));
      })
      .on('error', reject);
  });

// Bundle: every asset the Connect page loads (wasm, JavaScript, CSS).
const html = await (await fetch(`${base}/connect`)).text();
const assets = [...new Set([...html.matchAll(/(?:href|src)="(\/[^"]+\.(?:wasm|js|css))"/g)].map((match) => match[1]))];
let raw = 0;
let gzipped = 0;
let brotliOnWire = 0;
for (const asset of assets) {
  const plain = await sent(asset, 'identity');
  raw += plain.bytes.length;
  gzipped += gzipSync(plain.bytes, { level: 9 }).length;
  const wire = await sent(asset, 'br, gzip');
  if (wire.headers['content-encoding'] !== 'br') throw new Error(`${asset} was not sent with brotli`);
  if (!/accept-encoding/i.test(wire.headers.vary ?? '')) throw new Error(`${asset} has no Vary: Accept-Encoding`);
  brotliOnWire += wire.bytes.length;
}
console.log(
  `Connect bundle: ${assets.length} files, ${(raw / 1024).toFixed(1)} KiB raw, ` +
    `${(brotliOnWire / 1024).toFixed(1)} KiB as sent with brotli, ${(gzipped / 1024).toFixed(1)} KiB gzipped at level 9`,
);

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
console.log(`BENCH connect_wire_brotli_kib ${(brotliOnWire / 1024).toFixed(1)}`);
console.log(`BENCH connect_gzip9_kib ${(gzipped / 1024).toFixed(1)}`);
console.log(`BENCH connect_first_screen_p50_ms ${at(0.5)}`);
