// Playwright runs the real `gridlink serve` (demo mode, its own ports and data
// folder) and drives Debian's Chromium; Playwright's own browsers cannot be
// downloaded here.
import { defineConfig } from '@playwright/test';

const port = Number(process.env.GRIDLINK_E2E_PORT ?? 3180);
const sandboxPort = port + 1;
const smtpPort = port + 5;
export const baseURL = `http://127.0.0.1:${port}`;
export const sandboxURL = `http://127.0.0.1:${sandboxPort}`;

export default defineConfig({
  testDir: './tests',
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  timeout: 60_000,
  use: {
    baseURL,
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    },
  },
  webServer: {
    command:
      // The single sign-on journey's identity provider serves HTTPS with a
      // throwaway CA that Gridlink trusts (SSL_CERT_FILE below).
      `sh support/make-test-ca.sh .e2e-tls && ` +
      `rm -rf .e2e-data && ../target/debug/gridlink serve --demo --demo-password e2e-password ` +
      `--listen 127.0.0.1:${port} --sandbox-listen 127.0.0.1:${sandboxPort} ` +
      `--sandbox-smtp-listen 127.0.0.1:${smtpPort} ` +
      // The webhooks journey's receiver listens on this machine, which the
      // SSRF rule refuses unless private addresses are allowed.
      `--data-dir .e2e-data --static-dir ../dist --webhook-allow-private`,
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: 'ignore',
    stderr: 'pipe',
    // Warnings and errors only: the journeys' own output stays readable.
    env: { RUST_LOG: 'warn', SSL_CERT_FILE: '.e2e-tls/ca.pem' },
  },
});
