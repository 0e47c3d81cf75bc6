// Connect embedded in another site through the embed script: events reach an
// allowed host in order; a host that is not allowed gets neither the frame nor events.
import { createServer, type Server } from 'node:http';
import { expect, test, type Page } from '@playwright/test';
import { baseURL } from '../playwright.config';
import { latestCode, operatorApi } from '../pages/connect';

const ALLOWED_HOST = 'http://localhost:3182';
const OTHER_HOST = 'http://localhost:3183';

// Real servers on this machine host the pages, so the browser treats them as
// local pages (a page it cannot place may not reach loopback addresses).
const hostPages = new Map<string, string>();
const servers: Server[] = [];

test.beforeAll(async () => {
  for (const origin of [ALLOWED_HOST, OTHER_HOST]) {
    const server = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(hostPages.get(origin) ?? '<!doctype html><title>Host</title>');
    });
    await new Promise<void>((resolve) => server.listen(Number(new URL(origin).port), '127.0.0.1', resolve));
    servers.push(server);
  }
});

test.afterAll(async () => {
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Opens a host page on `origin` that embeds Connect with the embed script. */
async function openHostPage(page: Page, origin: string, connectUrl: string, language?: string) {
  const html = `<!doctype html><html lang="en"><head><title>Host</title></head><body>
    <h1>Acme customer portal</h1><div id="connect"></div>
    <script src="${baseURL}/embed.js"></script>
    <script>
      window.events = [];
      window.exited = false;
      GridlinkConnect.open({
        url: ${JSON.stringify(connectUrl)},
        container: document.getElementById('connect'),
        ${language ? `language: ${JSON.stringify(language)},` : ''}
        onEvent: (type, metadata) => window.events.push({ type, metadata }),
        onSuccess: (metadata) => { window.successId = metadata.credentialId; },
        onExit: () => { window.exited = true; },
      });
    </script></body></html>`;
  hostPages.set(origin, html);
  await page.goto(`${origin}/portal`);
}

test('a host page on an allowed origin embeds Connect and receives its events in order', async ({ page, request }) => {
  const api = await operatorApi(request);
  const settings = await api.get('/api/v1/organisation');
  const { id: _id, ...editable } = settings;
  await api.put('/api/v1/organisation', { ...editable, embedOrigins: [ALLOWED_HOST] });
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-electric' });

  await openHostPage(page, ALLOWED_HOST, token.url);
  const frame = page.frameLocator('iframe[title="Connect your utility account"]');
  await expect(frame.getByRole('heading', { name: 'Enter your utility login' })).toBeVisible();
  await frame.getByLabel('Username').fill('user_good');
  await frame.getByLabel('Password').fill('pass_good');
  await frame.getByRole('button', { name: 'Submit' }).click();
  await expect(frame.getByRole('heading', { name: 'Select your preferred verification method' })).toBeVisible({ timeout: 15_000 });
  await frame.getByRole('radio', { name: /Text message/ }).check();
  await frame.getByRole('button', { name: 'Submit' }).click();
  await expect(frame.getByRole('heading', { name: 'Enter your verification code' })).toBeVisible();
  await frame.getByLabel('Verification code').fill(await latestCode(request, 'sandbox-electric', 'user_good'));
  await frame.getByRole('button', { name: 'Submit' }).click();
  await expect(frame.getByRole('heading', { name: 'Your account is connected' })).toBeVisible();
  await expect.poll(() => page.evaluate(() => (window as any).successId)).toMatch(/^cred_/);

  const events: { type: string; metadata: any }[] = await page.evaluate(() => (window as any).events);
  const types = events.map((event) => event.type);
  const order = ['OPEN', 'CREDENTIALS_SUBMITTED', 'MFA_METHOD_SELECTED', 'MFA_CODE_SUBMITTED', 'SUCCESS'];
  const positions = order.map((type) => types.indexOf(type));
  expect(positions.every((position) => position >= 0), `events: ${types.join(', ')}`).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  const views = events.filter((event) => event.type === 'TRANSITION_VIEW').map((event) => event.metadata.view);
  expect(views).toEqual(['ENTER_CREDENTIALS', 'CONNECTING', 'CHOOSE_METHOD', 'ENTER_CODE', 'SUCCESS']);
  expect(events.find((event) => event.type === 'MFA_METHOD_SELECTED')?.metadata.method).toBe('SMS');

  await frame.getByRole('button', { name: 'Exit' }).click();
  await expect.poll(() => page.evaluate(() => (window as any).exited)).toBe(true);
  await expect(page.locator('iframe')).toHaveCount(0);
});

test("the embed script's language option shows Connect in Spanish", async ({ page, request }) => {
  const api = await operatorApi(request);
  const settings = await api.get('/api/v1/organisation');
  const { id: _id, ...editable } = settings;
  await api.put('/api/v1/organisation', { ...editable, embedOrigins: [ALLOWED_HOST] });
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
  await openHostPage(page, ALLOWED_HOST, token.url, 'es');
  const iframe = page.locator('iframe[title="Conecte su cuenta de servicios"]');
  await expect(iframe).toHaveAttribute('lang', 'es');
  const frame = page.frameLocator('iframe[title="Conecte su cuenta de servicios"]');
  await expect(frame.getByRole('heading', { name: 'Ingrese sus datos de acceso' })).toBeVisible();
  await expect(frame.locator('html')).toHaveAttribute('lang', 'es');
  await expect(frame.getByRole('button', { name: 'Salir' })).toBeVisible();
});

test('a host page on an origin that is not allowed gets neither the frame nor events', async ({ page, request }) => {
  const api = await operatorApi(request);
  const settings = await api.get('/api/v1/organisation');
  const { id: _id, ...editable } = settings;
  await api.put('/api/v1/organisation', { ...editable, embedOrigins: [ALLOWED_HOST] });
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
  const blocked = page.waitForEvent('console', (message) => /frame-ancestors|Refused to frame/i.test(message.text()));
  await openHostPage(page, OTHER_HOST, token.url);
  await blocked;
  const frame = page.frameLocator('iframe[title="Connect your utility account"]');
  await expect(frame.getByRole('heading', { name: 'Enter your utility login' })).toHaveCount(0);
  await page.waitForTimeout(1500);
  expect(await page.evaluate(() => (window as any).events)).toEqual([]);
});

test('case 20: the embed script ignores messages from other windows and origins', async ({ page, request }) => {
  const api = await operatorApi(request);
  const settings = await api.get('/api/v1/organisation');
  const { id: _id, ...editable } = settings;
  await api.put('/api/v1/organisation', { ...editable, embedOrigins: [ALLOWED_HOST] });
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
  await openHostPage(page, ALLOWED_HOST, token.url);
  const frame = page.frameLocator('iframe[title="Connect your utility account"]');
  await expect(frame.getByRole('heading', { name: 'Enter your utility login' })).toBeVisible();
  await page.evaluate((gridlinkOrigin) => {
    const forged = JSON.stringify({ source: 'gridlink-connect', type: 'SUCCESS', metadata: { credentialId: 'cred_forged' } });
    // The host page's own window, not the Connect frame.
    window.postMessage(forged, '*');
    // Gridlink's origin claimed, but not sent by the Connect frame.
    window.dispatchEvent(new MessageEvent('message', { data: forged, origin: gridlinkOrigin, source: window }));
    // The Connect frame as source, from another origin.
    const connect = document.querySelector('iframe')!;
    window.dispatchEvent(new MessageEvent('message', { data: forged, origin: 'https://evil.example', source: connect.contentWindow }));
  }, new URL(baseURL!).origin);
  await page.waitForTimeout(500);
  expect(await page.evaluate(() => (window as any).successId)).toBeUndefined();
  const types = (await page.evaluate(() => (window as any).events)).map((event: any) => event.type);
  expect(types).not.toContain('SUCCESS');
});
