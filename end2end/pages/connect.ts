// Connect's screens as an end-user sees them, and the API calls that set up a
// Connect link the way an integrator would.
import { expect, type APIRequestContext, type Page } from '@playwright/test';
import { sandboxURL } from '../playwright.config';

export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_PASSWORD = 'e2e-password';

/** Signs the demo operator in through the API and returns a function for CSRF-protected POSTs. */
export async function operatorApi(request: APIRequestContext) {
  const signIn = await request.post('/api/session', { data: { email: DEMO_EMAIL, password: DEMO_PASSWORD } });
  expect(signIn.ok()).toBeTruthy();
  const { csrfToken } = await signIn.json();
  return {
    async post(path: string, data: unknown = {}) {
      const response = await request.post(path, { data, headers: { 'x-csrf-token': csrfToken } });
      expect(response.ok(), `${path}: ${response.status()}`).toBeTruthy();
      return response.json();
    },
    async put(path: string, data: unknown) {
      const response = await request.put(path, { data, headers: { 'x-csrf-token': csrfToken } });
      expect(response.ok(), `${path}: ${response.status()} ${await response.text()}`).toBeTruthy();
      return response.json();
    },
    /** A CSRF-protected POST whose answer the caller checks. */
    async postRaw(path: string, data: unknown = {}) {
      return request.post(path, { data, headers: { 'x-csrf-token': csrfToken } });
    },
    async get(path: string) {
      const response = await request.get(path);
      expect(response.ok(), `${path}: ${response.status()}`).toBeTruthy();
      return response.json();
    },
  };
}

/** The logins and code sends that reached `utility` so far (the sandbox's counts). */
export async function utilityContacts(request: APIRequestContext, utility: string) {
  const stats = await (await request.get(`${sandboxURL}/api/admin/stats`)).json();
  return { login: stats[utility]?.login ?? 0, sendCode: stats[utility]?.sendCode ?? 0 };
}

/** The mail the sandbox's catcher holds for `to`, newest first. */
export async function mailTo(request: APIRequestContext, to: string) {
  const response = await request.get(`${sandboxURL}/api/mail?to=${encodeURIComponent(to)}`);
  expect(response.ok()).toBeTruthy();
  return (await response.json()) as { subject: string; text: string }[];
}

/** The newest code the sandbox "sent" to `username` at `utility`. */
export async function latestCode(request: APIRequestContext, utility: string, username: string): Promise<string> {
  const response = await request.get(`${sandboxURL}/api/outbox?utility=${utility}&username=${encodeURIComponent(username)}`);
  const entries = await response.json();
  expect(entries.length).toBeGreaterThan(0);
  return entries[0].code;
}

export class ConnectFlowPage {
  constructor(private readonly page: Page) {}

  heading(name: string | RegExp) {
    return this.page.getByRole('heading', { level: 1, name });
  }

  async chooseUtility(name: string) {
    await expect(this.heading('Choose your utility')).toBeVisible();
    await this.page.getByLabel('Search utilities').fill(name.split(' ').slice(-1)[0]);
    await this.page.getByRole('button', { name, exact: true }).click();
  }

  async enterLogin(username: string, password: string) {
    await expect(this.heading('Enter your utility login')).toBeVisible();
    await this.page.getByLabel('Username').fill(username);
    await this.page.getByLabel('Password').fill(password);
    await this.page.getByRole('button', { name: 'Submit' }).click();
  }

  /** An update link's first screen: who asks and why; nothing reaches the utility before Continue. */
  async continueUpdateLink(utility: string) {
    await expect(this.heading(`Verify your ${utility} account`)).toBeVisible({ timeout: 15_000 });
    await this.page.getByRole('button', { name: 'Continue' }).click();
  }

  async chooseMethod(title: RegExp) {
    await expect(this.heading('Select your preferred verification method')).toBeVisible({ timeout: 15_000 });
    await this.page.getByRole('radio', { name: title }).check();
    await this.page.getByRole('button', { name: 'Submit' }).click();
  }

  /** Types the code once the code step shows (pass a function to read the outbox only then). */
  async enterCode(code: string | (() => Promise<string>)) {
    await expect(this.heading('Enter your verification code')).toBeVisible({ timeout: 15_000 });
    await this.page.getByLabel('Verification code').fill(typeof code === 'string' ? code : await code());
    await this.page.getByRole('button', { name: 'Submit' }).click();
  }
}

/** A credential connected through Connect with MFA, whose token the utility then expired. */
export async function credentialNeedingRefresh(page: Page, request: APIRequestContext, username: string) {
  const api = await operatorApi(request);
  const token = await api.post('/api/v1/connect-tokens', { utilityId: 'sandbox-electric', correlationId: `e2e-${username}` });
  const connectPage = await page.context().newPage();
  await connectPage.goto(token.url);
  const connect = new ConnectFlowPage(connectPage);
  await connect.enterLogin(username, 'pass_good');
  await connect.chooseMethod(/Text message/);
  await connect.enterCode(() => latestCode(request, 'sandbox-electric', username));
  await expect(connect.heading('Your account is connected')).toBeVisible({ timeout: 20_000 });
  await connectPage.close();
  const listed = await api.get(`/api/v1/credentials?correlationId=${encodeURIComponent(`e2e-${username}`)}`);
  const id = listed.items[0].id as string;
  // The first sync runs right after the connection; the utility expires the token after it.
  await expect
    .poll(async () => (await api.get(`/api/v1/credentials/${id}`)).lastSyncedAt, { timeout: 30_000 })
    .toBeTruthy();
  const expired = await request.post(`${sandboxURL}/api/admin/expire-tokens`, { data: { username } });
  expect(expired.ok()).toBeTruthy();
  return id;
}
