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

test('on a phone the navigation folds behind a menu button that works from the keyboard', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 800 });
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const menu = page.getByRole('button', { name: 'Menu' });
  const navigation = page.getByRole('navigation', { name: 'Main' });
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(navigation).toBeHidden();

  await menu.focus();
  await page.keyboard.press('Enter');
  await expect(menu).toHaveAttribute('aria-expanded', 'true');
  await expect(navigation.getByRole('link', { name: 'Audit log' })).toBeInViewport();
  // Tab reaches the navigation after the header's own links (the account,
  // sign out); Escape folds it again and gives focus back to the button.
  const overview = navigation.getByRole('link', { name: 'Overview' });
  for (let presses = 0; presses < 4 && !(await overview.evaluate((link) => link === document.activeElement)); presses += 1) {
    await page.keyboard.press('Tab');
  }
  await expect(overview).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(navigation).toBeHidden();
  await expect(menu).toBeFocused();

  // Following a link folds it too.
  await page.keyboard.press('Enter');
  await navigation.getByRole('link', { name: 'Webhooks' }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
  await expect(menu).toHaveAttribute('aria-expanded', 'false');
  await expect(navigation).toBeHidden();

  // From a laptop's width up there is no button: the navigation is a sidebar.
  await page.setViewportSize({ width: 1024, height: 800 });
  await expect(menu).toBeHidden();
  await expect(navigation).toBeVisible();
});

test('on a phone a table becomes stacked rows, each value led by its column', async ({ page, request }) => {
  const api = await operatorApi(request);
  await api.post('/api/v1/credentials', { utilityId: 'sandbox-water', username: 'stacked_rows_user', password: 'pass_good' });
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.setViewportSize({ width: 360, height: 800 });
  await page.goto('/dashboard/credentials?q=stacked_rows_user');
  const row = page.getByRole('row').filter({ hasText: 'stacked_rows_user' });
  await expect(row).toBeVisible();
  const status = row.locator('td[data-label="Status detail"]');
  const username = row.locator('td[data-label="Username"]');
  // The cells sit one under another, each as wide as the row, named by the
  // column it came from; the header row is out of sight.
  const [statusBox, usernameBox, rowBox] = await Promise.all([status.boundingBox(), username.boundingBox(), row.boundingBox()]);
  expect(statusBox!.y).toBeGreaterThan(usernameBox!.y + usernameBox!.height - 1);
  expect(statusBox!.width).toBeGreaterThan(rowBox!.width - 2);
  const label = await status.evaluate((cell) => getComputedStyle(cell, '::before').content);
  expect(label).toBe('"Status detail"');
  const header = await page.locator('table.table-stack thead').boundingBox();
  expect(header!.height).toBeLessThanOrEqual(1);

  // At a laptop's width it is a table again: cells side by side.
  await page.setViewportSize({ width: 1280, height: 800 });
  const [wideStatus, wideUsername] = await Promise.all([status.boundingBox(), username.boundingBox()]);
  expect(Math.abs(wideStatus!.y - wideUsername!.y)).toBeLessThan(wideUsername!.height);
  expect(await status.evaluate((cell) => getComputedStyle(cell, '::before').content)).toBe('none');
});
