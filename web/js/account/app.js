// The account area (docs/rules.md): login, the five sections and the profile shown in the header.
// Pages live under the address's fragment (#/titolari, #/email/…), so one static file serves
// them all, from the local gateway and from S3 alike.

import { ApiError, call } from '../api.js';
import { accountToken, completeOidcLogin, devLogin, forgetLogin, logout, oidcLogin, panelConfig } from '../auth.js';
import { byId, focus, h, show } from '../dom.js';
import { button, form, notice, showError } from '../ui.js';
import * as holders from './holders.js';
import * as items from './items.js';
import * as operations from './operations.js';
import * as transfers from './transfers.js';
import * as newTransfer from './new-transfer.js';
import { learn } from '../words.js';

/**
 * What every section is drawn with.
 * @typedef {object} Ctx
 * @property {(method: string, path: string, body?: unknown) => Promise<any>} api
 * @property {any} account the answer of GET /v1/account
 * @property {URLSearchParams} params the fragment's query
 * @property {string[]} path the fragment's path segments, decoded
 * @property {HTMLElement} main
 * @property {(hash: string) => void} go
 * @property {(hash: string) => boolean} replace rewrites the address without a new page, only
 *   while this page is still the one shown; says whether it did
 * @property {(text: string) => void} title the page's heading and the document's title
 */

const SECTIONS = [
  { hash: '#/titolari', label: 'I tuoi titolari', text: 'Cerca, consulta e aggiorna i profili dei titolari.' },
  { hash: '#/email', label: 'Le tue email', text: 'Le caselle PEC del tuo account e il loro cambio titolare.' },
  { hash: '#/domini', label: 'I tuoi Domini', text: 'I domini certificati del tuo account.' },
  { hash: '#/operazioni', label: 'Esito Operazioni', text: "L'esito delle operazioni svolte, dalla più recente." },
  { hash: '#/cambio', label: 'Cambio titolare PEC', text: 'Le richieste di cambio titolare e una nuova richiesta.' },
];

const main = byId('main');
const who = byId('who');
const nav = byId('nav');

/** @type {any} */
let account = null;

/**
 * Calls the API with the account login; a login that lapsed brings the login back.
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
async function api(method, path, body) {
  try {
    return await call(method, path, { body, bearer: accountToken() });
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetLogin();
      account = null;
      await start();
    }
    throw error;
  }
}

/** @param {string} text */
function title(text) {
  document.title = `${text} · Area clienti PEC`;
}

async function drawLogin() {
  nav.hidden = true;
  show(who);
  title('Accedi');
  const config = await panelConfig();
  const messages = h('div', { class: 'messages' });
  if (config.login === 'oidc') {
    show(
      main,
      h('h1', {}, 'Area clienti PEC'),
      messages,
      h('p', {}, "Accedi con le credenziali del tuo account per gestire titolari, caselle e domini."),
      button('Accedi', () => oidcLogin(config, '/')),
    );
    return;
  }
  const users = config.dev_users ?? ['demo', 'demo2'];
  const loginForm = form(
    async (f) => {
      const chosen = new FormData(f).get('username');
      try {
        await devLogin(String(chosen ?? ''));
        await start();
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card narrow' },
    h(
      'fieldset',
      {},
      h('legend', {}, 'Utente dimostrativo'),
      users.map((user, i) =>
        h('div', { class: 'choice' },
          h('input', { type: 'radio', name: 'username', id: `user-${user}`, value: user, checked: i === 0 }),
          h('label', { for: `user-${user}` }, user),
        ),
      ),
    ),
    h('p', { class: 'hint' }, 'Accesso locale di prova: in produzione si accede con il proprio account.'),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Accedi'),
  );
  show(main, h('h1', {}, 'Area clienti PEC'), messages, loginForm);
}

function drawHeader() {
  const profile = account.profile;
  show(
    who,
    h('p', { class: 'profile' },
      h('span', {}, `Profilo: ${account.role_label}`),
      h('span', {}, `Utente: ${account.username}`),
      profile ? h('span', {}, `Titolare: ${profile.name}`) : null,
    ),
    button('Logout', async () => {
      await logout();
      account = null;
      await start();
    }, { kind: 'secondary' }),
  );
  show(
    nav,
    h('ul', {}, SECTIONS.map((s) => h('li', {}, h('a', { href: s.hash }, s.label)))),
  );
  nav.hidden = false;
}

function markCurrent() {
  for (const link of nav.querySelectorAll('a')) {
    const current = location.hash === link.getAttribute('href') || location.hash.startsWith(`${link.getAttribute('href')}/`) || location.hash.startsWith(`${link.getAttribute('href')}?`);
    if (current) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

/** @param {HTMLElement} page */
function home(page) {
  title('Area clienti PEC');
  const name = account.profile?.name;
  show(
    page,
    h('h1', {}, name ? `Benvenuto, ${name}` : 'Area clienti PEC'),
    h('ul', { class: 'sections' },
      SECTIONS.map((s) => h('li', { class: 'card' }, h('h2', {}, h('a', { href: s.hash }, s.label)), h('p', {}, s.text))),
    ),
  );
}

/** @type {Record<string, (ctx: Ctx) => Promise<void>>} */
const ROUTES = {
  titolari: holders.route,
  email: items.mailboxRoute,
  domini: items.domainRoute,
  operazioni: operations.route,
  cambio: async (ctx) => (ctx.path[1] === 'nuovo' ? newTransfer.route(ctx) : transfers.route(ctx)),
};

let drawing = 0;

async function draw() {
  if (!account) return;
  const hash = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [pathPart, queryPart] = hash.split('?');
  const path = (pathPart ?? '').split('/').filter(Boolean).map(decodeURIComponent);
  // Each page draws into an element of its own: a slower earlier page finishing late
  // writes into its detached element, never over the page now shown.
  const page = h('div', {});
  const mine = ++drawing;
  const asked = location.hash;
  const ctx = {
    api,
    account,
    params: new URLSearchParams(queryPart ?? ''),
    path,
    main: page,
    go: (/** @type {string} */ next) => {
      location.hash = next;
    },
    // A slower earlier page finishing late must not rewrite the address of the page asked
    // for meanwhile (its hashchange would then draw the earlier page's choice instead). The
    // address can change before its hashchange runs, so both are compared.
    replace: (/** @type {string} */ next) => {
      if (mine !== drawing || location.hash !== asked) return false;
      history.replaceState(null, '', next);
      return true;
    },
    title,
  };
  markCurrent();
  show(main, page);
  show(page, h('p', { class: 'loading' }, 'Caricamento…'));
  const section = ROUTES[path[0] ?? ''];
  try {
    if (section) await section(ctx);
    else home(page);
  } catch (error) {
    // A newer page is being drawn, or the login lapsed and the login form is shown.
    if (mine !== drawing || !account) return;
    const region = h('div', {});
    show(page, h('h1', {}, 'Pagina non disponibile'), region, h('p', {}, h('a', { href: '#/' }, "Torna all'inizio")));
    showError(region, error);
    return;
  }
  if (mine !== drawing) return;
  // A new page: its heading takes the focus, unless the page already put it inside (a step).
  const heading = main.querySelector('h1');
  if (heading instanceof HTMLElement && !main.contains(document.activeElement)) focus(heading);
}

async function start() {
  const config = await panelConfig();
  try {
    await completeOidcLogin(config, '/');
  } catch {
    show(main, notice('error', "Accesso non riuscito: riprova."));
  }
  if (!accountToken()) {
    await drawLogin();
    return;
  }
  try {
    account = await call('GET', '/v1/account', { bearer: accountToken() });
    learn(account.vocabulary);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      forgetLogin();
      await drawLogin();
    } else {
      const region = h('div', {});
      show(main, h('h1', {}, 'Area clienti PEC'), region);
      showError(region, error);
    }
    return;
  }
  drawHeader();
  await draw();
}

window.addEventListener('hashchange', () => {
  // "#main" (the skip link) is a place in the page, not a page.
  if (location.hash && !location.hash.startsWith('#/')) return;
  draw();
});
start();
