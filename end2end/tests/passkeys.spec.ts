// Passkeys as an operator meets them, with Chromium's virtual authenticator
// (Chrome DevTools Protocol, WebAuthn domain) standing in for a security key:
// the account page at the address says where passkeys work (a name, here
// localhost), register one there, sign out, sign in with the password and
// the passkey, then (once the organisation allows it) with the passkey
// alone, remove it. Every screen passes axe and fits at 360 to 1280 px.
import { expect, test, type Page } from '@playwright/test';
import { expectAccessibleAtEveryWidth } from '../pages/app';
import { operatorApi } from '../pages/connect';
import { baseURL } from '../playwright.config';

/** Gridlink at its name: WebAuthn refuses IP addresses. */
const passkeyURL = baseURL.replace('127.0.0.1', 'localhost');


async function signInWithPassword(page: Page, email: string, password: string) {
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

test('an operator registers a passkey, signs in with it and removes it', async ({ page, request }) => {
  test.setTimeout(90_000);
  const api = await operatorApi(request);
  const email = `passkeys-${Date.now()}@example.com`;
  const password = 'a long passkeys password';
  await api.post('/api/v1/operators', { email, password, role: 'MEMBER' });

  // At the address, the account page points to the name.
  await page.goto('/dashboard');
  await signInWithPassword(page, email, password);
  await page.getByRole('link', { name: email }).click();
  const section = page.getByRole('region', { name: 'Passkeys' });
  await expect(section).toContainText('No passkeys yet.');
  const there = section.getByRole('link', { name: `${passkeyURL}/dashboard/account` });
  await expect(there).toBeVisible();
  await expectAccessibleAtEveryWidth(page);

  // There, with a virtual authenticator that verifies its user.
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  await there.click();
  await signInWithPassword(page, email, password);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await page.getByRole('link', { name: email }).click();
  await section.getByLabel('Name for a new passkey').fill('');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(section.getByText('Name the passkey')).toBeVisible();
  await section.getByLabel('Name for a new passkey').fill('Virtual key');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(section.getByText('Passkey “Virtual key” added')).toBeVisible();
  const passkeys = section.getByRole('list', { name: 'Your passkeys' }).getByRole('listitem');
  await expect(passkeys).toHaveCount(1);
  await expect(passkeys.first()).toContainText('Virtual key');
  await expect(passkeys.first()).toContainText('never used');
  await expectAccessibleAtEveryWidth(page);

  // Signing in again: the password, then the passkey.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signInWithPassword(page, email, password);
  await expect(page.getByRole('heading', { level: 1, name: 'Two-factor sign-in' })).toBeVisible();
  // A passkey only: no code field to fill.
  await expect(page.getByLabel('Authentication code')).toHaveCount(0);
  await expectAccessibleAtEveryWidth(page);
  await page.getByRole('button', { name: 'Use your passkey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();

  // Where the organisation allows it, the passkey alone signs in.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
  await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
  await expect(page.getByRole('alert')).toContainText('asks for your password first');
  const settings = await api.get('/api/v1/organisation');
  await api.put('/api/v1/organisation', { ...settings, allowPasskeySignIn: true });
  try {
    await expectAccessibleAtEveryWidth(page);
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  } finally {
    await api.put('/api/v1/organisation', { ...settings, allowPasskeySignIn: false });
  }

  // Removed, the password alone signs in again.
  await page.getByRole('link', { name: email }).click();
  await expect(passkeys.first()).toContainText('last used');
  await section.getByRole('button', { name: 'Remove passkey “Virtual key”' }).click();
  await expect(section).toContainText('No passkeys yet.');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await signInWithPassword(page, email, password);
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
});

test('a cancelled passkey dialog says so and leaves the other ways open', async ({ page, request }) => {
  const api = await operatorApi(request);
  const email = `passkeys-cancel-${Date.now()}@example.com`;
  const password = 'a long passkeys password';
  await api.post('/api/v1/operators', { email, password, role: 'MEMBER' });
  const devtools = await page.context().newCDPSession(page);
  await devtools.send('WebAuthn.enable');
  // An authenticator whose user does not verify (a wrong fingerprint): the
  // browser refuses as it does when the dialog is closed.
  await devtools.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'usb',
      hasResidentKey: false,
      hasUserVerification: true,
      isUserVerified: false,
      automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${passkeyURL}/dashboard`);
  await signInWithPassword(page, email, password);
  await page.getByRole('link', { name: email }).click();
  const section = page.getByRole('region', { name: 'Passkeys' });
  await section.getByLabel('Name for a new passkey').fill('Never confirmed');
  await section.getByRole('button', { name: 'Add a passkey' }).click();
  await expect(section.getByRole('alert')).toContainText('closed or timed out', { timeout: 30_000 });
  await expect(section.getByRole('button', { name: 'Add a passkey' })).toBeEnabled();
  await expect(section).toContainText('No passkeys yet.');
});
