// The operator dashboard as an operator uses it.
import { expect, type Page } from '@playwright/test';
import { DEMO_EMAIL, DEMO_PASSWORD } from './connect';

export class OperatorDashboard {
  constructor(readonly page: Page) {}

  async signIn(email = DEMO_EMAIL, password = DEMO_PASSWORD) {
    await this.page.goto('/dashboard');
    await expect(this.page.getByRole('heading', { level: 1, name: 'Sign in to Gridlink' })).toBeVisible();
    await this.page.getByLabel('Email').fill(email);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await expect(this.page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  }

  async openCredential(id: string) {
    await this.page.goto(`/dashboard/credentials/${id}`);
    await expect(this.page.getByRole('heading', { level: 2, name: 'Status' })).toBeVisible();
  }

  /** The status detail's code (as integrators know it). */
  status() {
    return this.page.getByRole('region', { name: 'Status' }).locator('.status-code');
  }

  /** The status detail's label (as people read it), in its badge. */
  statusLabel() {
    return this.page.getByRole('region', { name: 'Status' }).locator('.badge');
  }
}
