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

/**
 * Fails the test if the page scrolls sideways (its width is wider than the
 * viewport) or an element sticks out of its card. Content inside a container
 * that scrolls on its own (a wide table in `.table-wrap`) is allowed to.
 */
export async function expectNothingOverflows(page: Page) {
  const problems = await page.evaluate(() => {
    const found: string[] = [];
    const viewport = document.documentElement.clientWidth;
    const describe = (element: Element) =>
      element.tagName.toLowerCase() + (element.className ? `.${String(element.className).trim().split(/\s+/).join('.')}` : '') +
      ` ("${(element.textContent ?? '').trim().slice(0, 40)}")`;
    const scrollsOnItsOwn = (element: Element) => {
      for (let node: Element | null = element.parentElement; node; node = node.parentElement) {
        const overflowX = getComputedStyle(node).overflowX;
        if (overflowX === 'auto' || overflowX === 'scroll') return true;
        if (node.classList.contains('card')) return false;
      }
      return false;
    };
    if (document.documentElement.scrollWidth > viewport) {
      // Name the outermost elements that reach past the screen's edge.
      const culprits = Array.from(document.body.querySelectorAll('*')).filter((element) => {
        const rect = element.getBoundingClientRect();
        return rect.right > viewport + 1 && !scrollsOnItsOwn(element) &&
          !(element.parentElement && element.parentElement.getBoundingClientRect().right > viewport + 1);
      });
      found.push(`the page is ${document.documentElement.scrollWidth}px wide in a ${viewport}px viewport: ` +
        culprits.slice(0, 3).map(describe).join(', '));
    }
    for (const card of Array.from(document.querySelectorAll('.card'))) {
      const bounds = card.getBoundingClientRect();
      for (const element of Array.from(card.querySelectorAll('*'))) {
        const rect = element.getBoundingClientRect();
        // Content clipped out of sight for screen readers only (a chart's
        // table twin) is measured by the page's width above, not here.
        if (rect.width === 0 || scrollsOnItsOwn(element) || element.closest('.visually-hidden')) continue;
        if (rect.right > bounds.right + 1 || rect.left < bounds.left - 1) {
          found.push(`${describe(element)} sticks out of its card`);
        }
      }
    }
    return found;
  });
  expect(problems, 'layout overflow').toEqual([]);
}

/** Checks the layout at a phone's, a tablet's, a small laptop's and a laptop's width. */
export async function expectNothingOverflowsAtEveryWidth(page: Page) {
  const original = page.viewportSize();
  for (const width of [360, 768, 1024, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await expectNothingOverflows(page);
  }
  if (original) await page.setViewportSize(original);
}

/** axe at a phone's and a laptop's width, and nothing wider than the screen at any. */
export async function expectAccessibleAtEveryWidth(page: Page) {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await expectNoAccessibilityViolations(page);
  }
  await expectNothingOverflowsAtEveryWidth(page);
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
