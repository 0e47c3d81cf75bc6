// Connect in Spanish: forced by ?lang=es, chosen by the browser's languages,
// or the organisation's default; the whole flow, by keyboard, axe-clean at a
// phone's and a desktop's width, with the server's errors in Spanish too.
import { expect, test, type Page } from '@playwright/test';
import { expectNoAccessibilityViolations, expectNothingOverflows } from '../pages/app';
import { latestCode, operatorApi } from '../pages/connect';

/** axe and the layout check at 360 px and at 1280 px. */
async function expectCleanAtBothWidths(page: Page) {
  for (const width of [360, 1280]) {
    await page.setViewportSize({ width, height: 900 });
    await expectNoAccessibilityViolations(page);
    await expectNothingOverflows(page);
  }
}

function heading(page: Page, name: string | RegExp) {
  return page.getByRole('heading', { level: 1, name });
}

test('the whole Connect flow in Spanish, by keyboard, with ?lang=es', async ({ page, request }) => {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { correlationId: 'e2e-es' });
  await page.goto(`${token.url}?lang=es`);
  await expect(heading(page, 'Elija su empresa de servicios')).toBeVisible();
  await expect(page.locator('html')).toHaveAttribute('lang', 'es');
  await expect(page).toHaveTitle('Conecte su cuenta de servicios · Gridlink');
  await expectCleanAtBothWidths(page);

  // Keyboard only: search, pick, fill the login, submit.
  await page.getByLabel('Buscar empresas de servicios').focus();
  await page.keyboard.type('Gas');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: /Sandbox Gas/ })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(heading(page, 'Ingrese sus datos de acceso')).toBeVisible();
  await page.getByLabel('Usuario').focus();
  await page.keyboard.press('Enter');
  await expect(page.getByText('Ingrese un usuario.')).toBeVisible();
  await expectCleanAtBothWidths(page);
  await page.keyboard.type('user_good');
  await page.keyboard.press('Tab');
  await expect(page.getByLabel('Contraseña')).toBeFocused();
  await page.keyboard.type('pass_good');
  await page.keyboard.press('Enter');

  await expect(heading(page, 'Seleccione su método de verificación preferido')).toBeVisible({ timeout: 15_000 });
  await expectCleanAtBothWidths(page);
  await page.getByRole('radio', { name: /Mensaje de texto/ }).focus();
  await page.keyboard.press('Space');
  await page.getByRole('button', { name: 'Enviar' }).focus();
  await page.keyboard.press('Enter');

  await expect(heading(page, 'Ingrese su código de verificación')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText(/Enviamos un código por mensaje de texto al número/)).toBeVisible();
  const code = await latestCode(request, 'sandbox-gas', 'user_good');
  await page.getByLabel('Código de verificación').focus();
  await page.keyboard.type(code === '000000' ? '111111' : '000000');
  await page.keyboard.press('Enter');
  await expect(page.getByText('Ese código no es correcto. Quedan 4 intentos.')).toBeVisible();
  await expectCleanAtBothWidths(page);
  await page.getByLabel('Código de verificación').focus();
  await page.keyboard.type(code);
  await page.keyboard.press('Enter');

  await expect(heading(page, 'Su cuenta está conectada')).toBeVisible({ timeout: 15_000 });
  await expect(page.getByText('La autenticación fue exitosa.')).toBeVisible();
  await expect(page.getByText('Cuenta de Sandbox Gas: user_good.')).toBeVisible();
  await expectCleanAtBothWidths(page);
});

test.describe('a browser that prefers Spanish', () => {
  test.use({ locale: 'es-MX' });

  test('gets Connect in Spanish without asking', async ({ page, request }) => {
    const api = await operatorApi(request);
    const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
    await page.goto(token.url);
    await expect(heading(page, 'Ingrese sus datos de acceso')).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'es');
    // ?lang=en wins over the browser.
    await page.goto(`${token.url}?lang=en`);
    await expect(heading(page, 'Enter your utility login')).toBeVisible();
    await expect(page.locator('html')).toHaveAttribute('lang', 'en');
  });
});

test.describe('a browser in a language Connect does not speak', () => {
  test.use({ locale: 'fr-FR' });

  test("gets the organisation's default language", async ({ page, request }) => {
    const api = await operatorApi(request);
    const settings = await api.get('/api/v1/organisation');
    const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-water' });
    await page.goto(token.url);
    await expect(heading(page, 'Enter your utility login')).toBeVisible();
    await api.put('/api/v1/organisation', { ...settings, connectLanguage: 'es' });
    try {
      await page.reload();
      await expect(heading(page, 'Ingrese sus datos de acceso')).toBeVisible();
      await expect(page.locator('html')).toHaveAttribute('lang', 'es');
      await expectNoAccessibilityViolations(page);
    } finally {
      await api.put('/api/v1/organisation', { ...settings, connectLanguage: 'en' });
    }
  });
});
