// Nothing fails silently: a utility that stops answering opens an incident the
// overview announces and Connect warns about; the credential list filters
// stale credentials. (Opening, probing and resolving are tested in
// server/tests/incidents.rs with a movable clock.)
import { expect, test } from '@playwright/test';
import { sandboxURL } from '../playwright.config';
import { expectAccessibleAtEveryWidth, expectNoAccessibilityViolations } from '../pages/app';
import { mailTo, operatorApi } from '../pages/connect';
import { OperatorDashboard } from '../pages/dashboard';

const GAS = 'sandbox-gas';

test('a utility that stops answering is announced on the overview and in Connect', async ({ page, request }) => {
  // Several rounds of failing syncs may be needed after the journeys before
  // it, and resolving takes two good probes 30 s apart.
  test.setTimeout(300_000);
  const address = 'told.when.fixed@example.com';
  const api = await operatorApi(request);
  const created = await api.post('/api/v1/credentials', {
    utilityId: GAS,
    username: 'user_nomfa+trouble',
    password: 'pass_good',
    correlationId: 'e2e-trouble',
  });
  await expect
    .poll(async () => (await api.get(`/api/v1/credentials/${created.id}`)).lastSyncedAt, { timeout: 30_000 })
    .toBeTruthy();

  const down = await request.post(`${sandboxURL}/api/admin/utilities/${GAS}/faults`, { data: { down: true } });
  expect(down.ok()).toBeTruthy();
  try {
    // Syncs that find the utility down: once at least half of the last ten
    // minutes' calls to it failed (earlier journeys called it too), the
    // incident watch (every 5 s) opens an incident and the overview shows it.
    const dashboard = new OperatorDashboard(page);
    await dashboard.signIn();
    const banner = page.getByRole('status').filter({ hasText: 'Sandbox Gas is not answering since' });
    await expect(async () => {
      const answers = await Promise.all(
        Array.from({ length: 20 }, () => api.postRaw(`/api/v1/credentials/${created.id}/sync`)),
      );
      for (const answer of answers) expect(answer.status()).toBe(503);
      await page.waitForTimeout(5_500);
      await page.reload();
      await expect(banner).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 90_000 });
    await expect(banner).toContainText(/credentials? affected\. Its syncs wait and resume by themselves/);
    await expectNoAccessibilityViolations(page);

    // An end-user choosing that utility in Connect is told before typing anything.
    const token = await api.post('/api/v1/connect-tokens', { correlationId: 'e2e-trouble-connect' });
    const connect = await page.context().newPage();
    await connect.goto(token.url);
    await connect.getByLabel('Search utilities').fill('Gas');
    const choice = connect.getByRole('button', { name: /Sandbox Gas/ });
    await expect(choice).toContainText('Having trouble right now');
    await expectNoAccessibilityViolations(connect);
    await choice.click();
    await expect(connect.getByRole('status').filter({ hasText: 'Sandbox Gas is having trouble right now' })).toBeVisible();
    await expectNoAccessibilityViolations(connect);

    // They may leave an address to hear when it works again (keyboard only).
    await expect(connect.getByRole('heading', { name: 'Email me when Sandbox Gas works again' })).toBeVisible();
    const field = connect.getByLabel('Email address');
    await field.focus();
    await connect.keyboard.type('not an address');
    await connect.keyboard.press('Enter');
    await expect(connect.getByText('Enter an email address like name@example.com.')).toBeVisible();
    await field.fill('');
    await connect.keyboard.type(address);
    await connect.keyboard.press('Tab');
    await expect(connect.getByRole('button', { name: 'Email me when it works' })).toBeFocused();
    await connect.keyboard.press('Enter');
    await expect(connect.getByRole('status').filter({ hasText: 'We will email t•••@example.com when Sandbox Gas works again.' })).toBeVisible();
    await expectAccessibleAtEveryWidth(connect);
    await connect.close();
  } finally {
    await request.post(`${sandboxURL}/api/admin/utilities/${GAS}/faults`, { data: {} });
  }

  // Once the incident resolves (two good probes 30 s apart), one mail with a fresh link.
  await expect.poll(async () => (await mailTo(request, address)).length, { timeout: 120_000, intervals: [2_000] }).toBe(1);
  const [mail] = await mailTo(request, address);
  expect(mail.subject).toBe('Sandbox Gas works again: connect your account to Demo Energy Co');
  const link = mail.text.split(/\s+/).find((word) => word.includes('/connect/gct_'))!;
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: 'Enter your utility login' })).toBeVisible();
  await page.waitForTimeout(3_000);
  expect(await mailTo(request, address)).toHaveLength(1);
});

test('the credential list filters stale credentials, kept in the URL', async ({ page }) => {
  const dashboard = new OperatorDashboard(page);
  await dashboard.signIn();
  await page.getByRole('link', { name: 'Manage your credentials' }).click();
  const stale = page.getByRole('button', { name: 'Stale' });
  await expect(stale).toHaveAttribute('aria-pressed', 'false');
  await stale.click();
  await expect(page).toHaveURL(/stale=true/);
  await expect(stale).toHaveAttribute('aria-pressed', 'true');
  // The demo's credentials are fresh: none is stale.
  await expect(page.getByRole('heading', { name: 'No credentials match' })).toBeVisible();
  await page.goto('/dashboard');
  await expect(page.getByRole('link', { name: 'Stale 0' })).toBeVisible();
  await page.getByRole('link', { name: 'Stale 0' }).click();
  await expect(page).toHaveURL(/stale=true/);
});
