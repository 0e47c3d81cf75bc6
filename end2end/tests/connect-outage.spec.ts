// Connect while the database is away: a second `gridlink serve` on
// PostgreSQL, reached through a TCP proxy this journey cuts, shows the
// end-user "briefly unavailable" in their language within the configured
// wait (not a hang, not "something went wrong"), and the flow carries on
// from the same step once the database is back.
import { expect, test, type APIRequestContext } from '@playwright/test';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { expectNoAccessibilityViolations } from '../pages/app';
import { DEMO_EMAIL, DEMO_PASSWORD } from '../pages/connect';

const adminUrl = process.env.GRIDLINK_TEST_POSTGRES_URL;

/** A TCP proxy to PostgreSQL that drops every connection while cut. */
class CuttableProxy {
  private readonly sockets = new Set<net.Socket>();
  private cut = false;
  private constructor(private readonly server: net.Server, readonly port: number) {}

  static async start(host: string, port: number): Promise<CuttableProxy> {
    let proxy: CuttableProxy | undefined;
    const server = net.createServer((client) => proxy!.relay(client, host, port));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    proxy = new CuttableProxy(server, (server.address() as net.AddressInfo).port);
    return proxy;
  }

  private relay(client: net.Socket, host: string, port: number) {
    if (this.cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(port, host);
    for (const [from, to] of [
      [client, upstream],
      [upstream, client],
    ]) {
      this.sockets.add(from);
      from.pipe(to);
      from.on('error', () => to.destroy());
      from.on('close', () => {
        this.sockets.delete(from);
        to.destroy();
      });
    }
  }

  cutOff() {
    this.cut = true;
    for (const socket of this.sockets) socket.destroy();
  }

  restore() {
    this.cut = false;
  }

  close() {
    this.cutOff();
    this.server.close();
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitForHealth(base: string, server: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`gridlink exited:\n${log()}`);
    try {
      if ((await fetch(`${base}/api/health`)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gridlink did not start:\n${log()}`);
}

/** A Connect link of the demo organisation on the server at `base`. */
async function connectLink(request: APIRequestContext, base: string): Promise<string> {
  const signIn = await request.post(`${base}/api/session`, {
    data: { email: DEMO_EMAIL, password: DEMO_PASSWORD },
  });
  expect(signIn.ok()).toBeTruthy();
  const { csrfToken } = await signIn.json();
  const token = await request.post(`${base}/api/v1/connect-tokens`, {
    data: { correlationId: 'e2e-outage' },
    headers: { 'x-csrf-token': csrfToken },
  });
  expect(token.ok()).toBeTruthy();
  return (await token.json()).url;
}

test.describe('Connect while the database is away', () => {
  test.skip(!adminUrl, 'GRIDLINK_TEST_POSTGRES_URL is not set (scripts/test sets it)');

  let proxy: CuttableProxy;
  let server: ChildProcess;
  let dataDir: string;
  let database: string;
  let base: string;
  let stderr = '';

  test.beforeAll(async () => {
    const admin = new URL(adminUrl!);
    database = `gridlink_e2e_outage_${process.pid}_${Date.now()}`;
    execFileSync('psql', [adminUrl!, '-qc', `CREATE DATABASE ${database}`]);
    proxy = await CuttableProxy.start(admin.hostname, Number(admin.port || 5432));
    const through = new URL(adminUrl!);
    through.hostname = '127.0.0.1';
    through.port = String(proxy.port);
    through.pathname = `/${database}`;
    dataDir = mkdtempSync(path.join(os.tmpdir(), 'gridlink-e2e-outage-'));
    const [port, sandboxPort, smtpPort] = [await freePort(), await freePort(), await freePort()];
    base = `http://127.0.0.1:${port}`;
    server = spawn(
      '../target/debug/gridlink',
      [
        'serve',
        '--demo',
        '--demo-password',
        DEMO_PASSWORD,
        '--listen',
        `127.0.0.1:${port}`,
        '--sandbox-listen',
        `127.0.0.1:${sandboxPort}`,
        '--sandbox-smtp-listen',
        `127.0.0.1:${smtpPort}`,
        '--data-dir',
        dataDir,
        '--static-dir',
        '../dist',
        '--database-url',
        through.toString(),
        '--database-wait',
        '1s',
      ],
      { env: { ...process.env, RUST_LOG: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    server.stderr!.on('data', (chunk) => (stderr += chunk));
    await waitForHealth(base, server, () => stderr);
  });

  test.afterAll(async () => {
    server?.kill('SIGTERM');
    await new Promise((resolve) => (server?.exitCode !== null ? resolve(null) : server.on('exit', resolve)));
    proxy?.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (database) execFileSync('psql', [adminUrl!, '-qc', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`]);
  });

  test('the end-user hears "briefly unavailable" in Spanish, then carries on', async ({ page, request }) => {
    const link = await connectLink(request, base);
    await page.goto(`${link}?lang=es`);
    await expect(page.getByRole('heading', { level: 1, name: 'Elija su empresa de servicios' })).toBeVisible();
    await page.getByLabel('Buscar empresas de servicios').fill('Gas');
    await page.getByRole('button', { name: /Sandbox Gas/ }).click();
    await page.getByLabel('Usuario').fill('user_good');
    await page.getByLabel('Contraseña').fill('pass_good');
    await page.getByRole('button', { name: 'Enviar' }).click();
    await expect(
      page.getByRole('heading', { level: 1, name: 'Seleccione su método de verificación preferido' }),
    ).toBeVisible({ timeout: 15_000 });

    proxy.cutOff();
    await page.getByRole('radio', { name: /Mensaje de texto/ }).check();
    const asked = Date.now();
    await page.getByRole('button', { name: 'Enviar' }).click();
    const unavailable = page.getByText(
      'Gridlink no está disponible por un momento. Inténtelo de nuevo en unos instantes.',
    );
    await expect(page.getByRole('alert').filter({ has: unavailable })).toBeVisible({ timeout: 10_000 });
    // The wait is one second: the answer comes well before a hang would end.
    expect(Date.now() - asked).toBeLessThan(6_000);
    await expect(page.getByText(/Algo salió mal|Something went wrong/)).toHaveCount(0);
    await expectNoAccessibilityViolations(page);

    // The step stays as it was: sending again once the database is back
    // goes on to the code.
    proxy.restore();
    await expect(page.getByRole('radio', { name: /Mensaje de texto/ })).toBeChecked();
    await page.getByRole('button', { name: 'Enviar' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Ingrese su código de verificación' })).toBeVisible({
      timeout: 15_000,
    });
  });
});
