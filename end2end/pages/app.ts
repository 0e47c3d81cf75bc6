// Page objects: what a user sees and does, named as they would name it.
import { expect, type Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';

/** Fails the test with the list of violations if axe-core finds any. */
export async function expectNoAccessibilityViolations(page: Page) {
  const results = await new AxeBuilder({ page }).analyze();
  const summary = results.violations.map(
    (violation) => `${violation.id}: ${violation.help} (${violation.nodes.map((node) => node.target).join(', ')})`,
  );
  expect(summary, 'axe-core violations').toEqual([]);
}

export class DashboardPage {
  constructor(private readonly page: Page) {}

  async open(path = '/dashboard') {
    await this.page.goto(path);
  }

  heading(name: string) {
    return this.page.getByRole('heading', { level: 1, name });
  }

  get systemStatus() {
    return this.page.getByRole('region', { name: 'System status' });
  }

  get demoBanner() {
    return this.page.getByRole('note');
  }
}

export class ConnectPage {
  constructor(private readonly page: Page) {}

  async open(path = '/connect') {
    await this.page.goto(path);
  }

  heading(name: string) {
    return this.page.getByRole('heading', { level: 1, name });
  }
}
