// Benchmark (not a test): how long the credential list takes to show its first
// page after a filter change, as an operator sees it.
//
//   cargo bench -p server --bench credentials -- --rows 100000 --fill-only \
//     --database data-bench/gridlink.db --organisation org_demo
//   target/release/gridlink serve --demo --data-dir data-bench --demo-password demo-password &
//   node end2end/bench/dashboard-list.mjs http://127.0.0.1:3000 10
import { chromium } from '@playwright/test';

const base = process.argv[2] ?? 'http://127.0.0.1:3000';
const runs = Number(process.argv[3] ?? 10);
const password = process.env.GRIDLINK_DEMO_PASSWORD ?? 'demo-password';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
await page.goto(`${base}/dashboard/sign-in`);
await page.getByLabel('Email').fill('demo@example.com');
await page.getByLabel('Password').fill(password);
await page.getByRole('button', { name: 'Sign in' }).click();
await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
await page.goto(`${base}/dashboard/credentials`);
const summary = page.locator('.pagination span');
await summary.waitFor();
console.log(`Unfiltered: ${await summary.textContent()}`);

const filters = [
  'MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED',
  'INVALID_CREDENTIALS',
  'MULTI_FACTOR_AUTHENTICATION_METHOD_REQUIRED',
  'LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL',
];
const timings = [];
for (let run = 0; run < runs; run += 1) {
  for (const detail of filters) {
    const started = Date.now();
    await page.getByLabel('Status detail').selectOption(detail);
    // Shown: the first row of the new page carries the chosen status detail.
    await page.locator('tbody tr').first().filter({ hasText: detail }).waitFor();
    timings.push(Date.now() - started);
  }
}
await browser.close();
timings.sort((a, b) => a - b);
const at = (p) => timings[Math.round((timings.length - 1) * p)];
console.log(`First page after a filter change (${timings.length} changes): p50 ${at(0.5)} ms, p95 ${at(0.95)} ms, max ${timings.at(-1)} ms`);
