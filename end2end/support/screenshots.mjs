// Drives a running demo in Chromium and saves the README's screenshots:
// the overview, the credential list and a credential page, at a laptop's and
// a phone's width. Called by scripts/screenshots, which starts the demo.
//
//   node end2end/support/screenshots.mjs http://127.0.0.1:3000 docs/screenshots
import { chromium } from '@playwright/test';

const [base = 'http://127.0.0.1:3000', folder = 'docs/screenshots'] = process.argv.slice(2);
const password = process.env.GRIDLINK_DEMO_PASSWORD ?? 'demo-password';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 900 }, colorScheme: 'light' });
await page.goto(`${base}/dashboard/sign-in`);
await page.getByLabel('Email').fill('demo@example.com');
await page.getByLabel('Password').fill(password);
await page.getByRole('button', { name: 'Sign in', exact: true }).click();
await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();

// The demo's logins sign in and sync on their own: wait until that settles
// (some never sync: they wait for a code or were refused).
const deadline = Date.now() + 30_000;
let unsynced = -1;
for (let steady = 0; steady < 3 && Date.now() < deadline; ) {
  await page.goto(`${base}/dashboard/credentials`);
  await page.locator('tbody tr').first().waitFor();
  const now = await page.locator('td[data-label="Last sync"]', { hasText: 'Never' }).count();
  steady = now === unsynced ? steady + 1 : 0;
  unsynced = now;
  await page.waitForTimeout(1000);
}
const credential = await page.locator('td[data-label="Username"] a').first().getAttribute('href');

const shots = [
  ['overview', '/dashboard', 'Overview'],
  ['credentials', '/dashboard/credentials', 'Manage your credentials'],
  ['credential', credential, null],
];
for (const width of [1280, 360]) {
  await page.setViewportSize({ width, height: width === 360 ? 780 : 900 });
  for (const [name, path, heading] of shots) {
    await page.goto(`${base}${path}`);
    if (heading) await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    else await page.getByRole('heading', { level: 2, name: 'Status' }).waitFor();
    await page.waitForLoadState('networkidle');
    const file = `${folder}/${name}-${width}.png`;
    await page.screenshot({ path: file, fullPage: true });
    console.log(`Saved ${file}`);
  }
}
await browser.close();
