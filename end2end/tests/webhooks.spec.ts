// Webhooks: an admin points them at an endpoint, sees the secret once, sends
// a test event, follows its delivery and resends it.
import { createHmac } from 'node:crypto';
import { createServer, IncomingHttpHeaders } from 'node:http';
import { AddressInfo } from 'node:net';
import { expect, test } from '@playwright/test';
import { expectNoAccessibilityViolations } from '../pages/app';
import { operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

type Received = { headers: IncomingHttpHeaders; body: string };

/** A real endpoint on this machine that records what it receives. */
async function startReceiver() {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, received, close: () => server.close() };
}

/** The Standard Webhooks check a receiver runs. */
function verifies(secret: string, message: Received): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const signed = `${message.headers['webhook-id']}.${message.headers['webhook-timestamp']}.${message.body}`;
  const expected = createHmac('sha256', key).update(signed).digest('base64');
  return String(message.headers['webhook-signature'])
    .split(' ')
    .some((entry) => entry === `v1,${expected}`);
}

test('an admin sets the webhook endpoint, sends a test event and resends it', async ({ page, request }) => {
  const receiver = await startReceiver();
  try {
    const dashboard = new OperatorDashboard(page);
    await dashboard.signIn();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Webhooks' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Webhooks' })).toBeVisible();
    await expect(page.getByText('No endpoint yet: webhooks are not sent.')).toBeVisible();
    await expectNoAccessibilityViolations(page);

    await page.getByLabel('Endpoint URL').fill('http://hooks.example.com/gridlink');
    await page.getByRole('button', { name: 'Save endpoint' }).click();
    await expect(page.getByText('Use https:// (plain http:// is only allowed for localhost).')).toBeVisible();

    await page.getByLabel('Endpoint URL').fill(receiver.url);
    await page.getByRole('button', { name: 'Save endpoint' }).click();
    const secretField = page.getByLabel('Signing secret');
    await expect(secretField).toHaveValue(/^whsec_/);
    const secret = await secretField.inputValue();
    await expect(page.getByText(receiver.url)).toBeVisible();

    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByText('Test event queued')).toBeVisible();
    await expect.poll(() => receiver.received.length).toBe(1);
    expect(verifies(secret, receiver.received[0])).toBe(true);
    expect(JSON.parse(receiver.received[0].body).type).toBe('WEBHOOK_TEST');
    const messageId = String(receiver.received[0].headers['webhook-id']);

    const row = page.getByRole('row', { name: /WEBHOOK_TEST/ }).first();
    await expect(row).toContainText('Delivered');
    await expect(row).toContainText('HTTP 204');
    await row.getByRole('button', { name: `Attempts of ${messageId}` }).click();
    await expect(page.locator('.payload')).toContainText('"type":"WEBHOOK_TEST"');
    await expectNoAccessibilityViolations(page);

    await row.getByRole('button', { name: `Resend ${messageId}` }).click();
    await expect.poll(() => receiver.received.length).toBe(2);
    expect(receiver.received[1].headers['webhook-id']).toBe(messageId);
    await expect(page.getByRole('row', { name: new RegExp(messageId) }).first()).toContainText('Delivered');

    // The log can be searched, and failed messages replayed.
    await page.getByLabel('State').selectOption('FAILED');
    await expect(page.getByRole('row', { name: new RegExp(messageId) })).toHaveCount(0);
    await page.getByLabel('State').selectOption('DELIVERED');
    await page.getByLabel('Event').selectOption('WEBHOOK_TEST');
    await expect(page.getByRole('row', { name: new RegExp(messageId) }).first()).toBeVisible();
    await page.getByRole('button', { name: 'Replay' }).click();
    await expect(page.getByText('No failed messages in that time.')).toBeVisible();
    await expectNoAccessibilityViolations(page);

    await page.getByRole('button', { name: 'Remove endpoint' }).click();
    await page.getByRole('button', { name: 'Yes, remove' }).click();
    await expect(page.getByText('Endpoint removed: no more webhooks are sent.')).toBeVisible();
  } finally {
    // Leave the shared demo organisation as it was for the other journeys.
    const api = await operatorApi(request);
    const endpoint = await request.get('/api/v1/webhook-endpoint');
    if (endpoint.ok()) {
      const { csrfToken } = await api.get('/api/session');
      await request.delete('/api/v1/webhook-endpoint', { headers: { 'x-csrf-token': csrfToken } });
    }
    receiver.close();
  }
});

test('a credential shows its next sync and the data the sync stored', async ({ page, request }) => {
  const api = await operatorApi(request);
  const created = await api.post('/api/v1/credentials', {
    utilityId: 'sandbox-water',
    username: 'user_nomfa',
    password: 'pass_good',
    correlationId: `sync-${Date.now()}`,
  });
  await expect
    .poll(async () => (await api.get(`/api/v1/credentials/${created.id}`)).lastSyncedAt, { timeout: 15_000 })
    .toBeTruthy();
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await dashboard.openCredential(created.id);
  await expect(page.getByText('Next sync')).toBeVisible();
  await expect(page.getByRole('table', { name: 'Latest statements' }).getByRole('row')).toHaveCount(7);
  await expect(page.getByRole('table', { name: 'Latest statements' })).toContainText('gallons');
  await expect(page.getByRole('region', { name: 'Webhooks about this credential' })).toContainText('None sent');
  await expectNoAccessibilityViolations(page);
});
