// Two-factor sign-in as an operator meets it: set up an authenticator app on
// the account page (QR code, key, first code, recovery codes), sign out, sign
// in with the password and a code from the app, then remove it with a
// recovery code. Every screen passes axe and fits at 360 to 1280 px.
import { createHmac } from 'node:crypto';
import { expect, test } from '@playwright/test';
import { expectAccessibleAtEveryWidth } from '../pages/app';
import { operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

/** RFC 4648 base32 (no padding) to bytes. */
function base32(text: string): Buffer {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const char of text.replace(/=+$/, '')) bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
  const bytes = [];
  for (let i = 0; i + 8 <= bits.length; i += 8) bytes.push(parseInt(bits.slice(i, i + 8), 2));
  return Buffer.from(bytes);
}

/** RFC 6238 (SHA-1, 6 digits, 30 s): what an authenticator app shows for `secret` at `step`. */
function totp(secret: string, step: number): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const digest = createHmac('sha1', base32(secret)).update(counter).digest();
  const offset = digest[digest.length - 1] & 0x0f;
  const value = (digest.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return value.toString().padStart(6, '0');
}

const currentStep = () => Math.floor(Date.now() / 1000 / 30);


test('an operator sets up an authenticator app, signs in with it and removes it', async ({ page, request }) => {
  test.setTimeout(90_000);
  const api = await operatorApi(request);
  const email = `two-factor-${Date.now()}@example.com`;
  const password = 'a long two-factor password';
  await api.post('/api/v1/operators', { email, password, role: 'MEMBER' });
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn(email, password);

  await page.getByRole('link', { name: email }).click();
  const section = page.getByRole('region', { name: 'Two-factor sign-in' });
  await expect(section).toContainText('Off.');
  await section.getByRole('button', { name: 'Set up an authenticator app' }).click();
  await expect(section.getByRole('img', { name: 'QR code to add Gridlink to your authenticator app' })).toBeVisible();
  const secret = (await section.locator('code').first().textContent())!.trim();
  expect(secret).toMatch(/^[A-Z2-7]{32}$/);
  await expectAccessibleAtEveryWidth(page);

  await section.getByLabel('Code from your app').fill('000000');
  await section.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  await expect(section.getByText('This code is not right.')).toBeVisible();
  const enrolledAt = currentStep();
  await section.getByLabel('Code from your app').fill(totp(secret, enrolledAt));
  await section.getByRole('button', { name: 'Turn on two-factor sign-in' }).click();
  const codes = section.getByRole('list', { name: 'Recovery codes' }).getByRole('listitem');
  await expect(codes).toHaveCount(10);
  const recovery = (await codes.allTextContents()).map((code) => code.trim());
  await expect(section).toContainText('10 recovery codes left');
  await expectAccessibleAtEveryWidth(page);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Two-factor sign-in' })).toBeVisible();
  await expect(page.getByLabel('Authentication code')).toHaveAttribute('autocomplete', 'one-time-code');
  await expect(page.getByLabel('Authentication code')).toHaveAttribute('inputmode', 'numeric');
  await expectAccessibleAtEveryWidth(page);
  await page.getByLabel('Authentication code').fill('000000');
  await page.getByRole('button', { name: 'Verify and sign in' }).click();
  await expect(page.getByText('This code is not right, or was used already.')).toBeVisible();
  // The code used to turn it on works only once: wait for the app's next one.
  while (currentStep() <= enrolledAt) await page.waitForTimeout(500);
  await page.getByLabel('Authentication code').fill(totp(secret, currentStep()));
  await page.getByRole('button', { name: 'Verify and sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();

  await page.getByRole('link', { name: email }).click();
  await expect(section).toContainText('On: you sign in with a code from your authenticator app.');
  await section.getByRole('button', { name: 'Use a recovery code' }).click();
  await section.getByLabel('Recovery code').fill(recovery[0]);
  await section.getByRole('button', { name: 'Remove two-factor sign-in' }).click();
  await expect(section).toContainText('Off.');

  // Signing in is one step again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await dashboard.signIn(email, password);
});
