// A new organisation's overview teaches the first step: how to add a
// credential and how to invite an end-user, with both buttons working.
import { expect, test } from '@playwright/test';
import { execFileSync } from 'node:child_process';
import { expectNoAccessibilityViolations, expectNothingOverflowsAtEveryWidth } from '../pages/app';

test('a new organisation is shown how to connect its first utility login', async ({ page }) => {
  const email = `first-run-${Date.now()}@example.com`;
  const password = 'a long first-run password';
  // The command line beside the running server, on its database (as an operator would).
  execFileSync('../target/debug/gridlink', [
    'create-organisation', '--name', 'Fresh Start Energy', '--admin-email', email,
    '--admin-password', password, '--data-dir', '.e2e-data',
  ], { stdio: 'ignore' });

  await page.goto('/dashboard/sign-in');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  const firstRun = page.getByRole('region', { name: 'Connect your first utility login' });
  await expect(firstRun).toBeVisible();
  await expect(page.getByRole('region', { name: 'Needs attention' })).toHaveCount(0);
  await expect(firstRun).toContainText('POST /api/v1/credentials');
  await expectNoAccessibilityViolations(page);
  await expectNothingOverflowsAtEveryWidth(page);

  await firstRun.getByRole('button', { name: 'Invite end-user' }).click();
  await expect(firstRun.getByLabel('Connect link for the end-user (valid one hour)')).toHaveValue(/\/connect/);

  await firstRun.getByRole('button', { name: 'Add credential' }).click();
  const dialog = page.getByRole('dialog', { name: 'Add credential' });
  await expect(dialog).toBeVisible();
  await expect(dialog.frameLocator('iframe').getByRole('heading', { level: 1, name: 'Choose your utility' })).toBeVisible();
});
