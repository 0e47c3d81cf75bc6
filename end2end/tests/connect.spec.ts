// End-user journeys through Connect, reading codes from the sandbox outbox.
import { expect, test } from '@playwright/test';
import { expectAccessibleAtEveryWidth, expectNoAccessibilityViolations } from '../pages/app';
import { ConnectFlowPage, credentialNeedingRefresh, latestCode, operatorApi, utilityContacts } from '../pages/connect';

for (const [method, title, username] of [
  ['SMS', /Text message/, 'user_good'],
  ['Call', /Phone call/, 'user_good'],
  ['Email', /Email/, 'user_good'],
] as const) {
  test(`a new credential connects with MFA by ${method}`, async ({ page, request }) => {
    const api = await operatorApi(request);
    const token = await api.post('/api/v1/connect-tokens', { correlationId: `e2e-${method}` });
    await page.goto(token.url);
    const connect = new ConnectFlowPage(page);
    await connect.chooseUtility('Sandbox Electric');
    await expectNoAccessibilityViolations(page);
    await connect.enterLogin(username, 'pass_good');
    await expect(connect.heading('Select your preferred verification method')).toBeVisible({ timeout: 15_000 });
    await expect(page.getByText('•••-•••-', { exact: false }).first()).toBeVisible();
    await expectNoAccessibilityViolations(page);
    await connect.chooseMethod(title);
    await expect(connect.heading('Enter your verification code')).toBeVisible();
    await expect(page.getByLabel('Verification code')).toHaveAttribute('autocomplete', 'one-time-code');
    await expectNoAccessibilityViolations(page);
    await connect.enterCode(() => latestCode(request, 'sandbox-electric', username));
    await expect(connect.heading('Your account is connected')).toBeVisible();
    await expectNoAccessibilityViolations(page);
  });
}

test('a utility without MFA goes from connecting straight to success', async ({ page, request }) => {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
  await page.goto(token.url);
  const connect = new ConnectFlowPage(page);
  await connect.enterLogin('user_good', 'pass_good');
  await expect(connect.heading('Your account is connected')).toBeVisible({ timeout: 15_000 });
});

test('a wrong code shows the attempts left, then the right code succeeds', async ({ page, request }) => {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-gas' });
  await page.goto(token.url);
  const connect = new ConnectFlowPage(page);
  await connect.enterLogin('user_good', 'pass_good');
  await connect.chooseMethod(/Text message/);
  const code = await latestCode(request, 'sandbox-gas', 'user_good');
  await connect.enterCode(code === '000000' ? '111111' : '000000');
  await expect(page.getByText('That code is not right. 4 attempts left.')).toBeVisible();
  await connect.enterCode(code);
  await expect(connect.heading('Your account is connected')).toBeVisible();
});

test('a wrong password can be corrected, and the flow resumes after a reload', async ({ page, request }) => {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-municipal-power' });
  await page.goto(token.url);
  const connect = new ConnectFlowPage(page);
  await connect.enterLogin('user_good', 'not-the-password');
  await expect(page.getByRole('alert')).toContainText('did not accept that username or password', { timeout: 15_000 });
  await connect.enterLogin('user_good', 'pass_good');
  await expect(connect.heading('Select your preferred verification method')).toBeVisible({ timeout: 15_000 });
  await page.reload();
  await connect.chooseMethod(/Email/);
  await page.reload();
  await connect.enterCode(() => latestCode(request, 'sandbox-municipal-power', 'user_good'));
  await expect(connect.heading('Your account is connected')).toBeVisible();
});

test('the whole flow works on a 360-pixel-wide phone screen', async ({ page, request }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens');
  await page.goto(token.url);
  const connect = new ConnectFlowPage(page);
  await connect.chooseUtility('Sandbox Electric');
  await connect.enterLogin('user_good', 'pass_good');
  await connect.chooseMethod(/Phone call/);
  await connect.enterCode(() => latestCode(request, 'sandbox-electric', 'user_good'));
  await expect(connect.heading('Your account is connected')).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth);
  expect(overflow, 'no horizontal scrolling at 360 px').toBe(false);
});

test('an update link opened by the end-user in a fresh browser reconnects without the login, and shows its success to that browser alone', async ({ browser, request }) => {
  const api = await operatorApi(request);
  // A connected credential whose token the utility then expired.
  const created = await api.post('/api/v1/credentials', { utilityId: 'sandbox-electric', username: 'user_nomfa', password: 'pass_good' });
  await expect.poll(async () => (await api.get(`/api/v1/credentials/${created.id}`)).statusDetail, { timeout: 15_000 })
    .toBe('LOGIN_AND_DATA_DISCOVERY_SUCCESSFUL');
  const link = await api.post(`/api/v1/credentials/${created.id}/update-links`);
  const endUser = await browser.newContext();
  const page = await endUser.newPage();
  await page.goto(link.url);
  const connect = new ConnectFlowPage(page);
  await connect.continueUpdateLink('Sandbox Electric');
  // user_nomfa is never asked for a code: connecting leads straight to success.
  await expect(connect.heading('Your account is reconnected')).toBeVisible({ timeout: 15_000 });
  await page.reload();
  await expect(connect.heading('Your account is reconnected')).toBeVisible();
  // Case 42: the same link in another browser says only that it was used.
  const stranger = await browser.newContext();
  const strangerPage = await stranger.newPage();
  await strangerPage.goto(link.url);
  await expect(strangerPage.getByRole('heading', { level: 1, name: 'This link was already used' })).toBeVisible();
  for (const hidden of ['user_nomfa', 'Sandbox Electric', 'reconnected']) {
    await expect(strangerPage.getByText(hidden)).toHaveCount(0);
  }
  await expectNoAccessibilityViolations(strangerPage);
  await stranger.close();
  await endUser.close();
});

for (const [language, heading, asks, button] of [
  ['en', 'Verify your Sandbox Electric account', 'Demo Energy Co needs you to verify your Sandbox Electric account again', 'Continue'],
  ['es', 'Verifique su cuenta de Sandbox Electric', 'Demo Energy Co necesita que vuelva a verificar su cuenta de Sandbox Electric', 'Continuar'],
] as const) {
  test(`an update link that is only fetched or loaded contacts no utility until Continue (${language})`, async ({ page, browser, request }) => {
    const username = `user_good+scanned-${language}`;
    const id = await credentialNeedingRefresh(page, request, username);
    const api = await operatorApi(request);
    const link = await api.post(`/api/v1/credentials/${id}/update-links`);
    const url = language === 'en' ? link.url : `${link.url}?lang=es`;
    const before = await utilityContacts(request, 'sandbox-electric');

    // A mail scanner: a plain fetch of the link, then a real browser that loads it and waits.
    const fetched = await request.get(url);
    expect(fetched.status()).toBe(200);
    const scanner = await browser.newContext();
    const scanned = await scanner.newPage();
    await scanned.goto(url);
    await expect(scanned.getByRole('heading', { level: 1, name: heading })).toBeVisible();
    await scanned.waitForTimeout(1500);
    await scanner.close();
    expect(await utilityContacts(request, 'sandbox-electric')).toEqual(before);

    // The end-user reads who asks and why, with the keyboard alone, and continues.
    const endUser = await browser.newContext();
    const endUserPage = await endUser.newPage();
    await endUserPage.goto(url);
    await expect(endUserPage.getByRole('heading', { level: 1, name: heading })).toBeFocused();
    await expect(endUserPage.getByText(asks)).toBeVisible();
    await expect(endUserPage.getByText(username)).toBeVisible();
    await expectAccessibleAtEveryWidth(endUserPage);
    await endUserPage.keyboard.press('Tab');
    await expect(endUserPage.getByRole('button', { name: button })).toBeFocused();
    await endUserPage.keyboard.press('Enter');
    await expect(endUserPage.getByRole('heading', { level: 1, name: language === 'en' ? 'Select your preferred verification method' : /método de verificación/ }))
      .toBeVisible({ timeout: 15_000 });
    expect((await utilityContacts(request, 'sandbox-electric')).login).toBe(before.login + 1);
    await endUser.close();
  });
}

test('a replaced update link says it was replaced', async ({ page, request }) => {
  const api = await operatorApi(request);
  const created = await api.post('/api/v1/credentials', { utilityId: 'sandbox-water', username: 'user_nomfa', password: 'pass_good' });
  const first = await api.post(`/api/v1/credentials/${created.id}/update-links`);
  await api.post(`/api/v1/credentials/${created.id}/update-links`);
  await page.goto(first.url);
  await expect(page.getByRole('heading', { level: 1, name: 'This link was replaced' })).toBeVisible();
  await expect(page.getByText('user_nomfa')).toHaveCount(0);
  await expectNoAccessibilityViolations(page);
});

test('a made-up link says it is not valid', async ({ page }) => {
  await page.goto('/connect/gct_not-a-real-token');
  await expect(page.getByRole('heading', { level: 1, name: 'This link is not valid' })).toBeVisible();
  await expectNoAccessibilityViolations(page);
});

test('the whole flow can be done with the keyboard alone', async ({ page, request }) => {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-gas' });
  await page.goto(token.url);
  const connect = new ConnectFlowPage(page);
  await expect(connect.heading('Enter your utility login')).toBeFocused();
  // From the step's heading, Tab reaches the username; Tab to the password; Enter submits.
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Username')).toBeFocused();
  await page.keyboard.type('user_good');
  await page.keyboard.press('Tab');
  await page.keyboard.type('pass_good');
  await page.keyboard.press('Enter');
  await expect(connect.heading('Select your preferred verification method')).toBeVisible({ timeout: 15_000 });
  await expect(connect.heading('Select your preferred verification method')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByRole('radio', { name: /Text message/ })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(connect.heading('Enter your verification code')).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Verification code')).toBeFocused();
  await page.keyboard.type(await latestCode(request, 'sandbox-gas', 'user_good'));
  await page.keyboard.press('Enter');
  await expect(connect.heading('Your account is connected')).toBeVisible();
  await expect(connect.heading('Your account is connected')).toBeFocused();
});

test('the connecting and failure screens pass axe', async ({ page, request }) => {
  const api = await operatorApi(request);
  const slow = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
  await page.goto(slow.url);
  const connect = new ConnectFlowPage(page);
  await connect.enterLogin('user_slow', 'pass_good');
  await expect(connect.heading('Connecting with your utility')).toBeVisible();
  await expect(page.getByRole('progressbar', { name: 'Connecting' })).toBeVisible();
  await expectNoAccessibilityViolations(page);
  await expect(connect.heading('Your account is connected')).toBeVisible({ timeout: 15_000 });

  for (const [username, heading] of [
    ['user_locked', 'Your account is locked'],
    ['user_down', 'Your utility is not answering'],
  ] as const) {
    const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-electric' });
    await page.goto(token.url);
    await connect.enterLogin(username, 'pass_good');
    await expect(connect.heading(heading)).toBeVisible({ timeout: 15_000 });
    await expect(page.getByRole('button', { name: 'Try again' })).toBeVisible();
    await expectNoAccessibilityViolations(page);
  }
  const legacy = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-legacy' });
  await page.goto(legacy.url);
  await connect.enterLogin('user_good', 'pass_good');
  await expect(connect.heading('This verification is not supported')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
  await expectNoAccessibilityViolations(page);
});
