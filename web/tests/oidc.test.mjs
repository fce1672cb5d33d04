// The AWS login (OpenID Connect, authorization code with PKCE) against a stand-in identity
// provider answered by the browser's own request routing: the page must send an S256 code
// challenge, come back with the code, prove the verifier, and call the API with the token.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { link, openRequest, person, useServiceAndBrowser } from './support.mjs';

const ISSUER = 'https://idp.example.test';
const CLIENT_ID = 'titolare-panel';

const env = useServiceAndBrowser();


/** @param {object} value */
const b64url = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * Routes a browser context as AWS would serve the panel (its config.json and CloudFront's
 * policy, which lets the pages reach the issuer) and answers for the identity provider,
 * which logs the person in as `username`. `seen` collects what the page sent it.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} username
 */
async function asOnAws(context, username) {
  const base = env.service.base;
  // What the identity provider hands out stands for a login the API's authorizer trusts;
  // locally that is the gateway's own signed token.
  const login = await fetch(`${base}/dev/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username }) });
  const { token: accessToken } = await login.json();
  const cors = { 'access-control-allow-origin': base, 'access-control-allow-headers': '*' };
  /** @type {Record<string, string>} */
  const seen = {};
  await context.route(`${base}/config.json`, (route) =>
    route.fulfill({ json: { login: 'oidc', issuer: ISSUER, client_id: CLIENT_ID } }));
  await context.route((url) => url.origin === base && (url.pathname === '/' || url.pathname === '/gestisci'), async (route) => {
    const response = await route.fetch();
    const headers = response.headers();
    headers['content-security-policy'] = headers['content-security-policy'].replace("connect-src 'self'", `connect-src 'self' ${ISSUER}`);
    await route.fulfill({ response, headers });
  });
  await context.route(`${ISSUER}/.well-known/openid-configuration`, (route) =>
    route.fulfill({
      headers: cors,
      json: {
        issuer: ISSUER,
        authorization_endpoint: `${ISSUER}/authorize`,
        token_endpoint: `${ISSUER}/token`,
        end_session_endpoint: `${ISSUER}/logout`,
        jwks_uri: `${ISSUER}/jwks`,
        response_types_supported: ['code'],
        code_challenge_methods_supported: ['S256'],
      },
    }));
  await context.route(`${ISSUER}/authorize**`, (route) => {
    const url = new URL(route.request().url());
    for (const name of ['client_id', 'redirect_uri', 'response_type', 'code_challenge', 'code_challenge_method', 'state', 'scope']) {
      seen[name] = url.searchParams.get(name) ?? '';
    }
    const back = new URL(seen.redirect_uri);
    back.searchParams.set('code', 'the-code');
    back.searchParams.set('state', seen.state);
    // Back to the panel as a new navigation (a redirect answered here would skip the routes).
    const html = `<!doctype html><meta http-equiv="refresh" content="0;url=${back.toString().replaceAll('&', '&amp;')}"><title>IdP</title>`;
    return route.fulfill({ contentType: 'text/html', body: html });
  });
  await context.route(`${ISSUER}/token`, async (route) => {
    if (route.request().method() === 'OPTIONS') return route.fulfill({ status: 204, headers: { ...cors, 'access-control-allow-methods': 'POST' } });
    const form = new URLSearchParams(route.request().postData() ?? '');
    seen.grant_type = form.get('grant_type') ?? '';
    seen.code = form.get('code') ?? '';
    seen.verifier = form.get('code_verifier') ?? '';
    const now = Math.floor(Date.now() / 1000);
    const idToken = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ iss: ISSUER, aud: CLIENT_ID, sub: username, iat: now, exp: now + 3600 })}.c2lnbmF0dXJl`;
    return route.fulfill({ headers: cors, json: { access_token: accessToken, id_token: idToken, token_type: 'Bearer', expires_in: 3600 } });
  });
  return seen;
}

test('the account login through OpenID Connect with PKCE, as deployed on AWS', async () => {
  const base = env.service.base;
  const { context, page, problems } = await person(env.browser);
  const seen = await asOnAws(context, 'demo');

  await page.goto(`${base}/`);
  await page.getByRole('button', { name: 'Accedi' }).click();
  await page.getByRole('heading', { name: 'Benvenuto, test test' }).waitFor();

  assert.equal(seen.client_id, CLIENT_ID);
  assert.equal(seen.response_type, 'code');
  assert.equal(seen.redirect_uri, `${base}/`);
  assert.equal(seen.code_challenge_method, 'S256');
  assert.match(seen.scope, /openid/);
  assert.ok(seen.state.length >= 16, 'a state to match the answer to the request');
  assert.equal(seen.grant_type, 'authorization_code');
  assert.equal(seen.code, 'the-code');
  assert.equal(createHash('sha256').update(seen.verifier).digest('base64url'), seen.code_challenge, 'the verifier proves the challenge (PKCE)');
  assert.ok(!page.url().includes('code='), 'the code left the address bar');
  assert.equal(await page.getByLabel('demo', { exact: true }).count(), 0, 'no dev login in this mode');
  assert.deepEqual(problems, []);
  await context.close();
});

test('hand_over on AWS: the new holder logs in through OpenID Connect and the page goes on', async () => {
  const base = env.service.base;
  const request = await openRequest(base, {
    items: [{ kind: 'mailbox', id: 'marco.test@pec.it' }],
    management: { mode: 'hand_over', username: 'demo2' },
    new_holder_id: '963300',
  });
  const { context, page, problems } = await person(env.browser);
  const seen = await asOnAws(context, 'demo2');
  await page.goto(await link(base, 'testdue@example.it', 'gestisci', request.id));
  await page.getByRole('radio', { name: 'Accetta' }).check();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: 'Accesso con lo username indicato' }).waitFor();
  await page.getByRole('button', { name: 'Accedi' }).click();
  // Away to the identity provider and back: the link token waited in sessionStorage.
  await page.getByRole('heading', { name: 'Accettazione delle condizioni contrattuali' }).waitFor();
  assert.equal(seen.redirect_uri, `${base}/gestisci`);
  assert.ok(!page.url().includes('code=') && !page.url().includes('token'), 'nothing secret left in the address bar');
  assert.deepEqual(problems, []);
  await context.close();
});
