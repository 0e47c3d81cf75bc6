// Reaching people by mail, through the sandbox's real SMTP catcher (its Mail
// page stands in for the end-user's inbox): a mailed update link repairs a
// credential, its unsubscribe link works, bulk links download as CSV, and an
// invited operator chooses their own password.
import { expect, test } from '@playwright/test';
import { sandboxURL } from '../playwright.config';
import { expectNoAccessibilityViolations } from '../pages/app';
import { ConnectFlowPage, credentialNeedingRefresh, latestCode, mailTo } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

test('an end-user opens the mailed update link and repairs the credential, then unsubscribes', async ({ page, browser, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.goto('/dashboard/settings');
  await page.getByRole('radio', { name: /When MFA must be refreshed/ }).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
  await expectNoAccessibilityViolations(page);

  const username = 'user_good+mailed';
  const contact = 'mailed.user@example.com';
  const id = await credentialNeedingRefresh(page, request, username);
  await dashboard.openCredential(id);
  await page.getByLabel('Contact email').fill(contact);
  await page.getByRole('button', { name: 'Save contact' }).click();
  await expect(page.getByText('The contact email was saved.')).toBeVisible();
  await expectNoAccessibilityViolations(page);
  // The utility refuses the token at the next sync: the notice goes out at once.
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(dashboard.status()).toHaveText('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED', { timeout: 20_000 });
  await expect.poll(async () => (await mailTo(request, contact)).length, { timeout: 20_000 }).toBe(1);

  // The end-user reads it (the sandbox's Mail page is their inbox) and follows the link.
  const endUser = await browser.newContext();
  const inbox = await endUser.newPage();
  await inbox.goto(`${sandboxURL}/mail?to=${encodeURIComponent(contact)}`);
  await expect(inbox.getByRole('heading', { name: /^Reconnect your Sandbox Electric account to / })).toBeVisible();
  await inbox.getByRole('link', { name: /\/connect\/gct_/ }).click();
  const connect = new ConnectFlowPage(inbox);
  await connect.continueUpdateLink('Sandbox Electric');
  await connect.chooseMethod(/Text message/);
  await connect.enterCode(() => latestCode(request, 'sandbox-electric', username));
  await expect(connect.heading('Your account is reconnected')).toBeVisible({ timeout: 20_000 });
  await expect(inbox.getByRole('status').filter({ hasText: 'We will email m•••@example.com' })).toBeVisible();
  await expectNoAccessibilityViolations(inbox);

  await page.reload();
  await expect(dashboard.status()).toHaveText('LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL');
  await expect(page.getByRole('region', { name: 'Timeline' })).toContainText('Update link mailed to m•••@example.com');

  // The mail's unsubscribe link opens Gridlink's page, which asks before it stops anything.
  await inbox.goto(`${sandboxURL}/mail?to=${encodeURIComponent(contact)}`);
  await inbox.getByRole('link', { name: /\/unsubscribe\/gus_/ }).click();
  await expect(inbox.getByRole('heading', { level: 1, name: 'Stop these emails?' })).toBeVisible();
  await expect(inbox.getByText(/emails m•••@example.com when your utility connection needs you/)).toBeVisible();
  await expectNoAccessibilityViolations(inbox);
  await inbox.getByRole('button', { name: 'Stop these emails' }).click();
  await expect(inbox.getByRole('heading', { level: 1, name: 'You are unsubscribed' })).toBeVisible();
  await expectNoAccessibilityViolations(inbox);
  await endUser.close();

  await page.goto('/dashboard/settings');
  await page.getByRole('radio', { name: /^Off/ }).check();
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Saved.')).toBeVisible();
});

test('update links for every credential needing a refresh download as CSV, as does the list', async ({ page, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  const id = await credentialNeedingRefresh(page, request, 'user_good+bulk');
  await dashboard.openCredential(id);
  await page.getByRole('button', { name: 'Sync now' }).click();
  await expect(dashboard.status()).toHaveText('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED', { timeout: 20_000 });

  await page.goto('/dashboard/credentials');
  await page.getByRole('button', { name: 'MFA refresh required' }).click();
  await expect(page.getByRole('row', { name: /user_good\+bulk/ })).toBeVisible();
  const generate = page.getByRole('button', { name: /^Generate update links for all \d+ credentials?$/ });
  await generate.click();
  await expect(page.getByRole('alertdialog')).toContainText('Links sent earlier stop working.');
  await expectNoAccessibilityViolations(page);
  await page.getByRole('button', { name: 'Generate links' }).click();
  const links = page.getByRole('link', { name: 'Download update-links.csv' });
  await expect(links).toBeVisible({ timeout: 20_000 });
  const [download] = await Promise.all([page.waitForEvent('download'), links.click()]);
  expect(download.suggestedFilename()).toBe('update-links.csv');
  const csv = await (await download.createReadStream()).toArray();
  const text = Buffer.concat(csv).toString('utf8');
  expect(text.split('\r\n')[0]).toBe('credentialId,correlationId,utility,username,link,expiresAt');
  expect(text).toContain(`${id},e2e-user_good+bulk,sandbox-electric,user_good+bulk,`);
  await expectNoAccessibilityViolations(page);

  const [exported] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  expect(exported.suggestedFilename()).toBe('credentials.csv');
  const rows = Buffer.concat(await (await exported.createReadStream()).toArray()).toString('utf8');
  expect(rows).toContain('MULTI_FACTOR_AUTHENTICATION_REFRESH_REQUIRED');
});

test('an invited operator chooses their own password; forgot password answers the same for anyone', async ({ page, browser, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.goto('/dashboard/settings');
  const invited = 'invited.operator@example.com';
  await page.getByLabel('Email', { exact: true }).fill(invited);
  await page.getByRole('button', { name: 'Add operator' }).click();
  await expect(page.getByText(`${invited} was invited`)).toBeVisible();
  await expect(page.getByRole('row', { name: new RegExp(invited) })).toContainText('Invited');

  await expect.poll(async () => (await mailTo(request, invited)).length, { timeout: 20_000 }).toBe(1);
  const [mail] = await mailTo(request, invited);
  expect(mail.subject).toMatch(/^You are invited to .* on Gridlink$/);
  const link = mail.text.match(/https?:\/\/\S+\/dashboard\/set-password\/\S+/)![0];

  const newcomer = await browser.newContext();
  const welcome = await newcomer.newPage();
  await welcome.goto(link);
  await expect(welcome.getByRole('heading', { level: 1, name: /^Welcome to .* on Gridlink$/ })).toBeVisible();
  await expectNoAccessibilityViolations(welcome);
  await welcome.getByLabel('Password').fill('short');
  await welcome.getByRole('button', { name: 'Set password' }).click();
  await expect(welcome.getByText(/at least 12 characters/i).last()).toBeVisible();
  await welcome.getByLabel('Password').fill('the newcomer password');
  await welcome.getByRole('button', { name: 'Set password' }).click();
  await expect(welcome.getByRole('heading', { level: 1, name: 'Your password is set' })).toBeVisible();
  await welcome.getByRole('link', { name: 'Sign in' }).click();
  await new OperatorDashboard(welcome).signIn(invited, 'the newcomer password');
  await newcomer.close();

  // "Forgot password?" from the sign-in page: the same answer whether or not the address exists.
  const stranger = await browser.newContext();
  const forgot = await stranger.newPage();
  await forgot.goto('/dashboard/sign-in');
  await forgot.getByRole('link', { name: 'Forgot password?' }).click();
  await expect(forgot.getByRole('heading', { level: 1, name: 'Forgot your password?' })).toBeVisible();
  await expectNoAccessibilityViolations(forgot);
  await forgot.getByLabel('Email').fill('nobody-here@example.com');
  await forgot.getByRole('button', { name: 'Mail me a link' }).click();
  await expect(forgot.getByRole('status')).toContainText('If an operator account uses this address');
  await stranger.close();
});
