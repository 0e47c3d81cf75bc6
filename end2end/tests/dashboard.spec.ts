// Operator journeys in the dashboard, with axe checks on every page.
import { expect, test } from '@playwright/test';
import { sandboxURL } from '../playwright.config';
import { expectNoAccessibilityViolations } from '../pages/app';
import { ConnectFlowPage, credentialNeedingRefresh, latestCode } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

test('an operator signs in, sees the overview and signs out', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await page.goto('/dashboard');
  await expectNoAccessibilityViolations(page);
  await dashboard.signIn();
  await expect(page.getByRole('region', { name: 'Needs attention' })).toBeVisible();
  // The demo's connected credentials have tokens expiring within 13 weeks (Sandbox Electric: 30 days).
  const expiries = page.getByRole('region', { name: /Upcoming token expiries/ });
  await expect(expiries).toContainText(/session tokens? expires? in the next 13 weeks/);
  // Each week is named and counted; this week stands out; the table twin says the same.
  await expect(expiries.locator('.chart-labels span')).toHaveCount(13);
  await expect(expiries.locator('.chart-labels .chart-now')).toHaveText('This week');
  await expect(expiries.locator('.chart-labels span').nth(1)).toHaveText(/^[A-Z][a-z]{2} \d{1,2}$/);
  const counted = (await expiries.locator('.chart-counts span').allTextContents()).map(Number);
  const tabled = (await expiries.getByRole('table').locator('tbody td').allTextContents()).map(Number);
  expect(counted).toEqual(tabled);
  expect(counted.reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
  await expect(page.getByRole('region', { name: 'Latest events' }).getByRole('link').first()).toBeVisible();
  await expect(page.getByRole('region', { name: 'System status' })).toContainText('Webhooks');
  await expectNoAccessibilityViolations(page);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await page.goto('/dashboard/credentials');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
});

test('each reason under Needs attention leads to exactly its credentials and says what to do', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const attention = page.getByRole('region', { name: 'Needs attention' });
  for (const label of ['Needs a new verification', 'Action required', 'Awaiting verification', 'Failing utility', 'Stale']) {
    await expect(attention.getByRole('link', { name: new RegExp(`^${label} \\d+$`) })).toBeVisible();
  }
  await expect(attention).toContainText('ask the end-user to connect again');
  await expectNoAccessibilityViolations(page);

  // The demo seeds a wrong password, a locked account and security questions.
  const link = attention.getByRole('link', { name: /^Action required \d+$/ });
  const count = Number((await link.locator('.attention-count').textContent()) ?? '0');
  expect(count).toBeGreaterThanOrEqual(3);
  await link.click();
  await expect(page).toHaveURL(/statusDetail=INVALID_CREDENTIALS(,|%2C)MULTI_FACTOR_AUTHENTICATION_FAILED/);
  await expect(page.getByLabel('Status detail')).toHaveValue(
    'INVALID_CREDENTIALS,MULTI_FACTOR_AUTHENTICATION_FAILED,UNSUPPORTED_MULTI_FACTOR_AUTHENTICATION,OTHER_ACCESS_LIMITATION',
  );
  const codes = page.locator('tbody .status-code');
  await expect(codes).toHaveCount(Math.min(count, 25));
  for (const code of await codes.allTextContents()) {
    expect(['INVALID_CREDENTIALS', 'MULTI_FACTOR_AUTHENTICATION_FAILED', 'UNSUPPORTED_MULTI_FACTOR_AUTHENTICATION', 'OTHER_ACCESS_LIMITATION']).toContain(code);
  }
  await expectNoAccessibilityViolations(page);
});

test('a wrong password gets an error that does not say which part was wrong', async ({ page }) => {
  await page.goto('/dashboard/sign-in');
  await page.getByLabel('Email').fill('demo@example.com');
  await page.getByLabel('Password').fill('not the password');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('alert')).toHaveText('The email or password is incorrect.');
});

test('an expired token shows up under MFA refresh required, and Retry MFA Verification fixes it', async ({ page, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const id = await credentialNeedingRefresh(page, request, 'user_good');

  // "Sync now" reaches the utility with the expired token: the utility refuses it.
  await dashboard.openCredential(id);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(dashboard.status()).toHaveText('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED');
  // Words beside the code, the badge's words never broken inside a word.
  await expect(dashboard.statusLabel()).toHaveText('Needs a new verification');
  // The timeline names people and parts of Gridlink, not ids (the id on hover).
  const timeline = page.getByRole('region', { name: 'Timeline' });
  await expect(timeline.locator('.event-actor', { hasText: 'End-user via Connect' }).first()).toBeVisible();
  await expect(timeline.locator('.event-actor', { hasText: 'demo@example.com' }).first()).toHaveAttribute('title', /^operator:op_/);
  // What the earlier sync stored stays visible.
  await expect(page.getByRole('region', { name: 'Accounts and latest statements' })).toContainText('kWh');
  await expectNoAccessibilityViolations(page);

  await page.goto('/dashboard/credentials');
  await page.getByRole('button', { name: 'MFA refresh required' }).click();
  await expect(page).toHaveURL(/statusDetail=MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED/);
  const row = page.getByRole('row', { name: /e2e-user_good/ });
  await expect(row).toContainText('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED');
  await expect(row).toContainText('Needs a new verification');
  // The filter offers the labels.
  await expect(page.getByLabel('Status detail')).toContainText('Needs a new verification (MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED)');
  await expectNoAccessibilityViolations(page);

  await row.getByRole('link', { name: 'user_good' }).click();
  await page.getByRole('button', { name: 'Retry MFA Verification' }).click();
  const dialog = page.getByRole('dialog', { name: 'Retry MFA Verification' });
  await expect(dialog).toBeVisible();
  const frame = page.frameLocator('iframe[title="Gridlink Connect"]');
  await expect(frame.getByRole('heading', { name: 'Select your preferred verification method' })).toBeVisible({ timeout: 15_000 });
  await frame.getByRole('radio', { name: /Email/ }).check();
  await frame.getByRole('button', { name: 'Submit' }).click();
  await frame.getByLabel('Verification code').fill(await latestCode(request, 'sandbox-electric', 'user_good'));
  await frame.getByRole('button', { name: 'Submit' }).click();
  // Connect confirms in the dialog; the page behind shows the new status at once, without a reload.
  await expect(frame.getByText('Authentication was successful.')).toBeVisible({ timeout: 15_000 });
  await expect(frame.getByText('Sandbox Electric account user_good.')).toBeVisible();
  await expect(dashboard.status()).toHaveText('LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL');
  await expectNoAccessibilityViolations(page);
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  // Connected again: the stored bills are shown.
  const bills = page.getByRole('region', { name: 'Accounts and latest statements' });
  await expect(bills.getByRole('row')).toHaveCount(7);
  await expect(bills).toContainText('kWh');
  await expectNoAccessibilityViolations(page);
});

test('an update link completed by the end-user reconnects the credential; a revoked link is refused', async ({ page, browser, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const id = await credentialNeedingRefresh(page, request, 'user_slow');
  await dashboard.openCredential(id);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(dashboard.status()).toHaveText('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED', { timeout: 20_000 });

  await page.getByRole('button', { name: 'Generate update link' }).click();
  const linkField = page.getByLabel('Update link for the end-user (valid 72 hours)');
  await expect(linkField).toHaveValue(/\/connect\/gct_/);
  await expectNoAccessibilityViolations(page);
  const firstLink = await linkField.inputValue();
  await page.getByRole('button', { name: 'Revoke link' }).click();
  await expect(page.getByText('The update link was revoked.')).toBeVisible();

  const endUser = await browser.newContext();
  const endUserPage = await endUser.newPage();
  await endUserPage.goto(firstLink);
  await expect(endUserPage.getByRole('heading', { level: 1, name: 'This link is no longer valid' })).toBeVisible();

  await page.getByRole('button', { name: 'Generate update link' }).click();
  await expect(linkField).toHaveValue(/\/connect\/gct_/);
  const link = await linkField.inputValue();
  await endUserPage.goto(link);
  const connect = new ConnectFlowPage(endUserPage);
  await connect.continueUpdateLink('Sandbox Electric');
  await connect.chooseMethod(/Phone call/);
  await connect.enterCode(() => latestCode(request, 'sandbox-electric', 'user_slow'));
  await expect(connect.heading('Your account is reconnected')).toBeVisible({ timeout: 20_000 });
  await endUser.close();

  await page.reload();
  await expect(dashboard.status()).toHaveText('LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL');
  await expect(page.getByRole('region', { name: 'Timeline' })).toContainText('Update link revoked.');
});

test('an operator adds a credential the organisation owns through Connect in a dialog', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.getByRole('link', { name: 'Manage your credentials' }).click();
  await page.getByRole('button', { name: 'Add credential' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add credential' });
  await expect(dialog).toBeVisible();
  await expectNoAccessibilityViolations(page);
  const frame = page.frameLocator('iframe[title="Gridlink Connect"]');
  await frame.getByLabel('Search utilities').fill('Water');
  await frame.getByRole('button', { name: 'Sandbox Water' }).click();
  await frame.getByLabel('Username').fill('user_good');
  await frame.getByLabel('Password').fill('pass_good');
  await frame.getByRole('button', { name: 'Submit' }).click();
  await expect(frame.getByRole('heading', { name: 'Your account is connected' })).toBeVisible({ timeout: 15_000 });
  await expect(frame.getByText('Authentication was successful.')).toBeVisible();
  await expect(frame.getByText('Sandbox Water account user_good.')).toBeVisible();
  await dialog.getByRole('button', { name: 'Done' }).click();
  await expect(dialog).toBeHidden();
  await page.getByLabel('Search usernames').fill('user_good');
  await page.getByRole('button', { name: 'Search' }).click();
  await expect(page.getByRole('row', { name: /Sandbox Water/ }).first()).toContainText('LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL');

  await page.getByRole('button', { name: 'Invite end-user' }).click();
  await expect(page.getByLabel('Connect link for the end-user (valid one hour)')).toHaveValue(/\/connect\/gct_/);
});

test('when the session has ended, the next action leads to sign-in with the reason', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  // Once the overview has loaded, the session ends on the server (as after two
  // idle hours) while the page stays open.
  await page.waitForLoadState('networkidle');
  await page.context().clearCookies();
  await page.getByRole('link', { name: 'Manage your credentials' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await expect(page.getByText('Your session ended after a period of inactivity. Sign in again.')).toBeVisible();
});

test('case 20: a message from another window or origin does not close the Connect dialog', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.getByRole('link', { name: 'Manage your credentials' }).click();
  await page.getByRole('button', { name: 'Add credential' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add credential' });
  await expect(dialog).toBeVisible();
  await expect(page.frameLocator('iframe[title="Gridlink Connect"]').getByRole('heading', { level: 1 })).toBeVisible();
  const forged = JSON.stringify({ source: 'gridlink-connect', type: 'SUCCESS', metadata: { credentialId: 'cred_forged' } });
  await page.evaluate((message) => {
    // Gridlink's origin, but another window: the dashboard itself.
    window.postMessage(message, window.location.origin);
    // The Connect frame as its source, but another origin.
    const connect = document.querySelector<HTMLIFrameElement>('iframe[title="Gridlink Connect"]')!;
    window.dispatchEvent(new MessageEvent('message', { data: message, origin: 'https://evil.example', source: connect.contentWindow }));
  }, forged);
  await page.waitForTimeout(500);
  await expect(dialog).toBeVisible();
});
