// Settings: admins manage API keys, operators and Connect's embedding; members cannot.
import { expect, test } from '@playwright/test';
import { expectNoAccessibilityViolations, expectNothingOverflowsAtEveryWidth } from '../pages/app';
import { ConnectFlowPage, operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

test('an admin creates an API key, sees it once, and revokes it', async ({ page, request }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.getByRole('link', { name: 'Settings' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Settings' })).toBeVisible();
  await expect(page.getByLabel('Organisation name')).toHaveValue('Demo Energy Co');
  await expectNoAccessibilityViolations(page);

  await page.getByLabel('Name of the new key').fill('Billing sync');
  await expect(page.getByLabel('What the new key may do')).toHaveValue('READ');
  await page.getByRole('button', { name: 'Create API key' }).click();
  const secretField = page.getByLabel('New API key');
  await expect(secretField).toHaveValue(/^glk_/);
  const secret = await secretField.inputValue();
  await expect(page.getByRole('row', { name: /Billing sync/ })).toContainText('Read only');
  const withKey = await request.get('/api/v1/credentials', { headers: { authorization: `Bearer ${secret}` } });
  expect(withKey.status()).toBe(200);
  // A read-only key may not change anything.
  const writing = await request.post('/api/v1/connect-tokens', { headers: { authorization: `Bearer ${secret}` }, data: {} });
  expect(writing.status()).toBe(403);
  expect((await writing.json()).message).toContain('READ');

  await page.getByRole('button', { name: 'Revoke Billing sync' }).click();
  await expect(page.getByRole('row', { name: /Billing sync/ })).toContainText('Revoked');
  const revoked = await request.get('/api/v1/credentials', { headers: { authorization: `Bearer ${secret}` } });
  expect(revoked.status()).toBe(401);
});

test('an admin reads who did what in the audit log, filters it and exports it', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.goto('/dashboard/settings');
  const name = `Audit key ${Date.now()}`;
  await page.getByLabel('Name of the new key').fill(name);
  await page.getByLabel('What the new key may do').selectOption('WRITE');
  await page.getByRole('button', { name: 'Create API key' }).click();
  await expect(page.getByLabel('New API key')).toHaveValue(/^glk_/);

  await page.getByRole('link', { name: 'Audit log' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Audit log' })).toBeVisible();
  const created = page.getByRole('row', { name: new RegExp(name) });
  await expect(created).toContainText('API key created');
  await expect(created).toContainText('API_KEY_CREATED');
  await expect(created).toContainText('scope: WRITE');
  await expect(created).toContainText('demo@example.com');
  await expect(page.getByRole('row', { name: /Signed in/ }).first()).toBeVisible();
  await expectNoAccessibilityViolations(page);
  await expectNothingOverflowsAtEveryWidth(page);

  await page.getByLabel('Action').selectOption({ label: 'Signed in' });
  await expect(page.getByRole('row', { name: new RegExp(name) })).toHaveCount(0);
  await expect(page.getByRole('row', { name: /Signed in/ }).first()).toBeVisible();
  const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: 'Export CSV' }).click()]);
  expect(download.suggestedFilename()).toBe('audit-log.csv');
  const text = Buffer.concat(await (await download.createReadStream()).toArray()).toString('utf8');
  expect(text.split('\r\n')[0]).toBe('occurredAt,action,actorKind,actorId,actorName,client,userAgent,targetKind,targetId,details');
  expect(text).toContain('SIGN_IN_SUCCEEDED');
  expect(text).not.toContain('API_KEY_CREATED');
});

test('Settings → Utilities shows the signed sandbox adapter, its utilities and health', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.getByRole('link', { name: 'Settings' }).click();
  const utilities = page.getByRole('region', { name: 'Utilities' });
  await expect(utilities.getByRole('heading', { level: 3, name: /sandbox/ })).toBeVisible();
  await expect(utilities).toContainText('Signed');
  await expect(utilities).toContainText('Sandbox Electric, Sandbox Gas, Sandbox Water');
  await expect(utilities).toContainText(/Catalogue read\s*\d{4}-\d{2}-\d{2}/);
  await expect(utilities).toContainText(/calls in the last hour|no calls in the last hour/);
  await expectNoAccessibilityViolations(page);
  await utilities.getByRole('button', { name: 'Read catalogues now' }).click();
  await expect(utilities.getByRole('button', { name: 'Read catalogues now' })).toBeVisible();
  await expect(utilities).toContainText('Sandbox Electric, Sandbox Gas, Sandbox Water');
});

test('an embed origin that is not https is refused with the line it is on', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.goto('/dashboard/settings');
  await page.getByLabel('Allowed embed origins').fill('https://portal.example.com\nhttp://insecure.example.com');
  await page.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByText('Line 2: Use https://')).toBeVisible();
});

test('a member cannot reach the settings', async ({ page, request }) => {
  const api = await operatorApi(request);
  const email = `member-${Date.now()}@example.com`;
  await api.post('/api/v1/operators', { email, password: 'a long member password', role: 'MEMBER' });
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn(email, 'a long member password');
  await expect(page.getByRole('link', { name: 'Settings' })).toHaveCount(0);
  await expect(page.getByRole('link', { name: 'Audit log' })).toHaveCount(0);
  await page.goto('/dashboard/audit-log');
  await expect(page.getByText('Only an organisation admin can read the audit log.')).toBeVisible();
  expect((await page.request.get('/api/v1/audit-events')).status()).toBe(403);
  await page.goto('/dashboard/settings');
  await expect(page.getByText('Only an organisation admin can change settings.')).toBeVisible();
  const refused = await page.request.get('/api/v1/api-keys');
  expect(refused.status()).toBe(403);
});

test("Connect shows the organisation's branding and asks for consent to its terms", async ({ page, request }) => {
  const api = await operatorApi(request);
  const { id: _id, ...original } = await api.get('/api/v1/organisation');
  await api.put('/api/v1/organisation', {
    ...original,
    accentColor: '#0b6e4f',
    termsUrl: 'https://demo-energy.example/terms',
    privacyUrl: 'https://demo-energy.example/privacy',
  });
  try {
    const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
    await page.goto(token.url);
    await expect(page.getByRole('banner', { name: 'Connect' })).toContainText('Demo Energy Co');
    const connect = new ConnectFlowPage(page);
    await connect.enterLogin('user_good', 'pass_good');
    await expect(page.getByText('Agree to the terms and privacy policy to continue.')).toBeVisible();
    await expect(page.getByRole('link', { name: 'terms' })).toHaveAttribute('href', 'https://demo-energy.example/terms');
    await expectNoAccessibilityViolations(page);
    await page.getByRole('checkbox').check();
    await page.getByRole('button', { name: 'Submit' }).click();
    await expect(connect.heading('Your account is connected')).toBeVisible({ timeout: 15_000 });
    const accent = await page.locator('.connect-card').evaluate((card) => getComputedStyle(card).getPropertyValue('--color-accent').trim());
    expect(accent).toBe('#0b6e4f');
  } finally {
    await api.put('/api/v1/organisation', original);
  }
});
