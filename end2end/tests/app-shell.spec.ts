// The app's two areas open, show their shells and pass axe-core.
import { expect, test } from '@playwright/test';
import { ConnectPage, DashboardPage, expectNoAccessibilityViolations } from '../pages/app';
import { OperatorDashboard } from '../pages/dashboard';

test('the dashboard opens on the overview with the system status and the demo banner', async ({ page }) => {
  const dashboard = new DashboardPage(page);
  await dashboard.open('/');
  await expect(page).toHaveURL(/\/dashboard\/sign-in$/);
  await new OperatorDashboard(page).signIn();
  await expect(dashboard.heading('Overview')).toBeVisible();
  await expect(dashboard.systemStatus.getByText('Connected')).toBeVisible();
  await expect(dashboard.systemStatus.getByText('sqlite')).toBeVisible();
  await expect(dashboard.demoBanner).toContainText('Demo mode');
  await expect(page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' })).toHaveAttribute(
    'aria-current',
    'page',
  );
  await expectNoAccessibilityViolations(page);
});

test('a keyboard user can skip straight to the content', async ({ page }) => {
  const dashboard = new DashboardPage(page);
  await new OperatorDashboard(page).signIn();
  await dashboard.open();
  await expect(dashboard.heading('Overview')).toBeVisible();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page.locator('#main-content')).toBeFocused();
});

test('connect without a token explains what to do, on a phone-sized screen too', async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 640 });
  const connect = new ConnectPage(page);
  await connect.open();
  await expect(connect.heading('This link is incomplete')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(overflow, 'no horizontal scrolling at 360 px').toBe(false);
  await expectNoAccessibilityViolations(page);
});

test('an unknown address shows a not-found page with a way back', async ({ page }) => {
  const response = await page.goto('/no-such-page');
  expect(response?.status()).toBe(404);
  await expect(page.getByRole('heading', { level: 1, name: 'Page not found' })).toBeVisible();
  await expectNoAccessibilityViolations(page);
  await page.getByRole('link', { name: 'Go to the dashboard' }).click();
  // Not signed in: the dashboard asks for a sign-in first.
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
});

test('the dashboard refuses to be framed by another site', async ({ page }) => {
  const response = await page.goto('/dashboard');
  const csp = response?.headers()['content-security-policy'] ?? '';
  expect(csp).toContain("frame-ancestors 'none'");
});

test('leaving a page cancels the reads it was still waiting for', async ({ page }) => {
  await new OperatorDashboard(page).signIn();
  // Hold the credential list's read at the network until the page is gone.
  let release = () => {};
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const listRead = /\/api\/v1\/credentials\?/;
  await page.route(listRead, async (route) => {
    await held;
    await route.continue().catch(() => {});
  });
  const cancelled = page.waitForEvent('requestfailed', (request) => listRead.test(request.url()));
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Manage your credentials' }).click();
  await expect(page.getByText('Loading credentials…')).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Overview' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  const request = await cancelled;
  expect(request.failure()?.errorText).toContain('ERR_ABORTED');
  release();
});
