// Single sign-on as an admin sets it up and an operator uses it, against a
// real OpenID provider (the certified `oidc-provider` package) over HTTPS on
// loopback, whose CA Gridlink trusts: the admin saves the provider in
// Settings (Gridlink reads its discovery document), a new person signs in
// with it and becomes a member; a forged `state`, a replayed code and an
// email outside the allowed domains each end on the sign-in page saying why;
// the admin turns it off. Every Gridlink screen passes axe.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { expect, test, type Page } from '@playwright/test';
import { expectAccessibleAtEveryWidth } from '../pages/app';
import { OperatorDashboard } from '../pages/dashboard';
import { baseURL } from '../playwright.config';

// The provider's certificate is signed by the test CA, which Gridlink trusts
// and the browser need not.
test.use({ ignoreHTTPSErrors: true });

let provider: ChildProcess;
let issuer: string;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

test.beforeAll(async () => {
  const port = await freePort();
  issuer = `https://127.0.0.1:${port}`;
  provider = spawn('node', ['support/oidc-provider.mjs', String(port), `${baseURL}/api/sso/callback`, '.e2e-tls'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    provider.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('READY')) resolve();
    });
    provider.on('exit', (code) => reject(new Error(`the OpenID provider exited (${code})`)));
  });
});

test.afterAll(() => {
  provider?.kill();
});

/** Only loopback: the provider's login page imports a web font from the internet. */
async function keepToLoopback(page: Page) {
  await page.context().route('**/*', (route) => {
    const host = new URL(route.request().url()).hostname;
    return ['127.0.0.1', 'localhost'].includes(host) ? route.continue() : route.abort();
  });
}

/** From Gridlink's sign-in page through the provider's login (and consent) as `email`. */
async function signInAtProvider(page: Page, email: string) {
  await page.getByRole('link', { name: 'Sign in with Test Identity' }).click();
  await loginAtProvider(page, email);
}

/** The provider's development login form, then its consent screen if it asks. */
async function loginAtProvider(page: Page, email: string) {
  await page.locator('input[name="login"]').fill(email);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  const consent = page.getByRole('button', { name: 'Continue' });
  if (await consent.isVisible({ timeout: 5_000 }).catch(() => false)) await consent.click();
}


async function signedOutAtSignIn(page: Page) {
  // Off the dashboard first: its own reaction to a lost session must not
  // race this navigation.
  await page.goto('about:blank');
  await page.context().clearCookies();
  await page.goto('/dashboard/sign-in');
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
}

test('an admin sets up single sign-on and operators sign in with it', async ({ page }) => {
  test.setTimeout(120_000);
  await keepToLoopback(page);
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.goto('/dashboard/settings');
  const section = page.getByRole('region', { name: 'Single sign-on' });
  await expect(section).toContainText(`${baseURL}/api/sso/callback`);
  await section.getByLabel('Provider name').fill('Test Identity');
  await section.getByLabel('Issuer URL').fill('https://127.0.0.1:1');
  await section.getByLabel('Client ID').fill('gridlink');
  await section.getByLabel('Client secret').fill('gridlink-test-client-secret');
  await section.getByLabel('Allowed email domains').fill('sso.example.com');
  await section.getByText('Create a member for them').click();
  await section.getByRole('button', { name: 'Save single sign-on' }).click();
  await expect(section.getByText('could not read this issuer')).toBeVisible({ timeout: 20_000 });
  await section.getByLabel('Issuer URL').fill(issuer);
  await section.getByRole('button', { name: 'Save single sign-on' }).click();
  await expect(section.getByText('Saved. The sign-in page offers it now.')).toBeVisible();
  // The secret is never shown again.
  await expect(section.getByLabel('Client secret')).toHaveValue('');
  await expectAccessibleAtEveryWidth(page);

  // A new person in an allowed domain: signed in, as a new member.
  await signedOutAtSignIn(page);
  await expectAccessibleAtEveryWidth(page);
  await signInAtProvider(page, 'new.person@sso.example.com');
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await expect(page.getByRole('link', { name: 'new.person@sso.example.com' })).toBeVisible();

  // An email outside the allowed domains.
  await signedOutAtSignIn(page);
  await signInAtProvider(page, 'mallory@elsewhere.example');
  await expect(page.getByRole('alert')).toContainText('not in a domain allowed to sign in here');
  await expectAccessibleAtEveryWidth(page);

  // A way back this browser did not start (a login planted by someone
  // else): its state cookie is gone by the time the provider answers.
  await signedOutAtSignIn(page);
  await page.getByRole('link', { name: 'Sign in with Test Identity' }).click();
  await expect(page.locator('input[name="login"]')).toBeVisible();
  await page.context().clearCookies({ name: 'gridlink_sso' });
  await loginAtProvider(page, 'new.person@sso.example.com');
  await expect(page.getByRole('alert')).toContainText('did not start in this browser');

  // A code used once already, brought back with a fresh sign-in's state.
  await signedOutAtSignIn(page);
  const firstReturn = page.waitForRequest(/\/api\/sso\/callback\?/);
  await signInAtProvider(page, 'new.person@sso.example.com');
  const usedCode = new URL((await firstReturn).url()).searchParams.get('code')!;
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  await signedOutAtSignIn(page);
  const authorization = page.waitForRequest((request) => request.url().startsWith(`${issuer}/auth`));
  await page.getByRole('link', { name: 'Sign in with Test Identity' }).click();
  const freshState = new URL((await authorization).url()).searchParams.get('state')!;
  await page.goto(`/api/sso/callback?code=${encodeURIComponent(usedCode)}&state=${encodeURIComponent(freshState)}`);
  await expect(page.getByRole('alert')).toContainText("refused this sign-in's code");

  // The admin sees it all in the audit log, and turns single sign-on off.
  await page.context().clearCookies();
  await dashboard.signIn();
  await page.goto('/dashboard/audit-log');
  await expect(page.locator('table').getByText('Single sign-on changed').first()).toBeVisible();
  await page.goto('/dashboard/settings');
  await section.getByRole('button', { name: 'Turn off single sign-on' }).click();
  await expect(section.getByText('Single sign-on is off.')).toBeVisible();
  await signedOutAtSignIn(page);
  await expect(page.getByRole('link', { name: 'Sign in with Test Identity' })).toHaveCount(0);
});
