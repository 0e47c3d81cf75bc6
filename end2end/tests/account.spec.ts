// An operator's own account: change the password (other sessions end), see
// and end sessions, and the sign-in history.
import { expect, test } from '@playwright/test';
import { expectNoAccessibilityViolations } from '../pages/app';
import { operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

test('an operator changes their password, which ends their other sessions', async ({ page, browser, request }) => {
  const api = await operatorApi(request);
  const email = `account-${Date.now()}@example.com`;
  await api.post('/api/v1/operators', { email, password: 'the first long password', role: 'MEMBER' });

  // A second session elsewhere (another browser context).
  const elsewhere = await browser.newContext();
  const otherPage = await elsewhere.newPage();
  await new OperatorDashboard(otherPage).signIn(email, 'the first long password');

  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn(email, 'the first long password');
  await page.getByRole('link', { name: email }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Your account' })).toBeVisible();
  const sessions = page.getByRole('region', { name: 'Your sessions' });
  await expect(sessions.getByRole('row')).toHaveCount(3);
  await expect(sessions).toContainText('This session');
  const history = page.getByRole('region', { name: 'Sign-in history' });
  await expect(history.getByRole('row', { name: /Signed in/ })).toHaveCount(2);
  await expectNoAccessibilityViolations(page);

  // A wrong current password is refused next to its field.
  await page.getByLabel('Current password').fill('not my password');
  await page.getByLabel('New password').fill('the second long password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('This is not your current password.')).toBeVisible();

  await page.getByLabel('Current password').fill('the first long password');
  await page.getByLabel('New password').fill('the second long password');
  await page.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Your password was changed. Your other sessions have ended.')).toBeVisible();
  await expect(sessions.getByRole('row')).toHaveCount(2);

  // The other session has ended: its next action leads to sign-in.
  await otherPage.reload();
  await expect(otherPage.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await new OperatorDashboard(otherPage).signIn(email, 'the second long password');
  await elsewhere.close();

  // Back on the account page: the new session can be ended from here.
  await page.reload();
  await expect(sessions.getByRole('row')).toHaveCount(3);
  await sessions.getByRole('button', { name: /End the session/ }).click();
  await expect(sessions.getByRole('row')).toHaveCount(2);
  await page.setViewportSize({ width: 360, height: 800 });
  await expectNoAccessibilityViolations(page);
});
