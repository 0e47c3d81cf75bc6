// Every dashboard page fits a phone, a tablet and a laptop, in the light and
// the dark colour scheme: it never scrolls sideways and nothing sticks out of
// its card (screenshot-free checks), and axe finds nothing at a phone's and a
// laptop's width.
import { expect, test } from '@playwright/test';
import { expectNoAccessibilityViolations, expectNothingOverflowsAtEveryWidth } from '../pages/app';
import { operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

test('no dashboard page overflows at 360, 768, 1024 or 1280 pixels, in the light and the dark scheme', async ({ page, request }) => {
  // Seven pages, two schemes, four widths and axe at two: more than a journey's minute.
  test.setTimeout(240_000);
  const api = await operatorApi(request);
  const created = await api.post('/api/v1/credentials', { utilityId: 'sandbox-water', username: 'user_nomfa', password: 'pass_good' });
  await expect.poll(async () => (await api.get(`/api/v1/credentials/${created.id}`)).lastSyncedAt, { timeout: 30_000 }).toBeTruthy();
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const pages: [string, string][] = [
    ['/dashboard', 'Overview'],
    ['/dashboard/credentials', 'Manage your credentials'],
    [`/dashboard/credentials/${created.id}`, 'user_nomfa at Sandbox Water'],
    ['/dashboard/webhooks', 'Webhooks'],
    ['/dashboard/settings', 'Settings'],
    ['/dashboard/account', 'Your account'],
    ['/dashboard/audit-log', 'Audit log'],
  ];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    for (const [path, heading] of pages) {
      await test.step(`${path} in the ${colorScheme} scheme`, async () => {
        await page.goto(path);
        await expect(page.getByRole('heading', { level: 1, name: heading })).toBeVisible();
        // Let the page's data arrive before measuring.
        await page.waitForLoadState('networkidle');
        await expectNothingOverflowsAtEveryWidth(page);
        for (const width of [360, 1280]) {
          await page.setViewportSize({ width, height: 900 });
          await expectNoAccessibilityViolations(page);
        }
      });
    }
  }
});
