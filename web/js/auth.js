// The account login: locally the gateway's /dev/login, in AWS OpenID Connect (authorization
// code with PKCE) through oidc-client-ts against the issuer the API's JWT authorizer trusts.

import { call } from './api.js';

/**
 * What `/config.json` says about the login.
 * @typedef {object} PanelConfig
 * @property {'dev' | 'oidc'} login
 * @property {string[]} [dev_users] the dev login's demo accounts
 * @property {string[]} [dev_operators] the dev login's support operators
 * @property {string} [issuer] OpenID Connect issuer (the JWT authorizer's)
 * @property {string} [client_id] its public client, the authorizer's audience
 * @property {string} [scope]
 */

const SESSION_KEY = 'titolare.account';

/** @type {Promise<PanelConfig> | null} */
let configPromise = null;

/** @returns {Promise<PanelConfig>} */
export function panelConfig() {
  configPromise ??= fetch('/config.json', { credentials: 'omit' })
    .then((r) => (r.ok ? r.json() : { login: 'dev' }))
    .catch(() => ({ login: 'dev' }));
  return configPromise;
}

/**
 * The OpenID Connect client, loaded only when a login starts or returns (125 KB that a page
 * with a login already in hand never fetches).
 * @param {PanelConfig} config
 * @param {string} returnPath where the identity provider sends the browser back
 */
async function userManager(config, returnPath) {
  if (!config.issuer || !config.client_id) throw new Error('config.json: issuer e client_id mancanti');
  const { UserManager, WebStorageStateStore } = await import('../vendor/oidc-client-ts.js');
  return new UserManager({
    authority: config.issuer,
    client_id: config.client_id,
    redirect_uri: `${location.origin}${returnPath}`,
    post_logout_redirect_uri: `${location.origin}/`,
    response_type: 'code',
    scope: config.scope ?? 'openid profile email',
    userStore: new WebStorageStateStore({ store: sessionStorage }),
  });
}

/** The account login of this tab, if any. */
export function accountToken() {
  return sessionStorage.getItem(SESSION_KEY);
}

/** @param {string} token */
function keep(token) {
  sessionStorage.setItem(SESSION_KEY, token);
}

/**
 * The dev login as `username` (local gateway only).
 * @param {string} username
 */
export async function devLogin(username) {
  const answer = await call('POST', '/dev/login', { body: { username } });
  keep(answer.token);
  return /** @type {string} */ (answer.token);
}

/**
 * Sends the browser to the identity provider; it comes back to `returnPath`.
 * @param {PanelConfig} config
 * @param {string} returnPath
 */
export async function oidcLogin(config, returnPath) {
  await (await userManager(config, returnPath)).signinRedirect();
}

/**
 * On the way back from the identity provider (`?code=…&state=…`): keeps the access token and
 * removes the code from the address bar.
 * @param {PanelConfig} config
 * @param {string} returnPath
 */
export async function completeOidcLogin(config, returnPath) {
  const params = new URLSearchParams(location.search);
  if (config.login !== 'oidc' || !params.has('code') || !params.has('state')) return null;
  const user = await (await userManager(config, returnPath)).signinRedirectCallback();
  history.replaceState(null, '', returnPath);
  keep(user.access_token);
  return user.access_token;
}

/** Forgets the login of this tab (one that lapsed, or at logout). */
export function forgetLogin() {
  sessionStorage.removeItem(SESSION_KEY);
}

/** Forgets the login of this tab and, with OpenID Connect, at the provider. */
export async function logout() {
  forgetLogin();
  const config = await panelConfig();
  if (config.login === 'oidc') await (await userManager(config, '/')).signoutRedirect();
}
