// A real OpenID provider for the single sign-on journey: the certified
// `oidc-provider` package over HTTPS on loopback, with one client (Gridlink)
// and its development login form (any login; the login is the email).
// Usage: node oidc-provider.mjs PORT REDIRECT_URI TLS_DIR — prints READY.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import Provider from 'oidc-provider';

const [port, redirectUri, tlsDir] = process.argv.slice(2);
const issuer = `https://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'gridlink',
      client_secret: 'gridlink-test-client-secret',
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  async findAccount(_ctx, id) {
    return {
      accountId: id,
      async claims() {
        return { sub: id, email: id, email_verified: true, name: id };
      },
    };
  },
  features: { devInteractions: { enabled: true } },
  cookies: { keys: ['gridlink-end-to-end'] },
});

createServer(
  { cert: readFileSync(`${tlsDir}/server.pem`), key: readFileSync(`${tlsDir}/server-key.pem`) },
  provider.callback(),
).listen(Number(port), '127.0.0.1', () => console.log('READY'));
