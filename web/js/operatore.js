// The provider's support (docs/rules.md, "Support"): find a request, read it whole (each
// read goes on the request's trail, which the account reads), and act on it with a reason.
// The page draws what /v1/support/* answers; the API decides who may and what happens.

import { ApiError, call, query } from './api.js';
import { accountToken, completeOidcLogin, devLogin, forgetLogin, logout, oidcLogin, panelConfig } from './auth.js';
import { byId, dateTime, focus, h, show } from './dom.js';
import { button, field, form, notice, select, showError, values } from './ui.js';
import { PARTY, STATUS, auditAction, auditDetail, auditWho, deliveryWords, itemKind, learn, outcome, platformStatus } from './words.js';
import { table } from './account/lists.js';

const main = byId('main');
const who = byId('who');

/** @param {string} method @param {string} path @param {unknown} [body] */
function api(method, path, body) {
  return call(method, path, { body, bearer: accountToken() });
}

/** @param {string} text */
function title(text) {
  document.title = `${text} · Assistenza PEC`;
}

const CRITERIA = /** @type {[string, string][]} */ ([
  ['numero', 'Numero della richiesta'],
  ['casella', 'Casella PEC'],
  ['dominio', 'Dominio'],
  ['codice_fiscale', 'Codice fiscale di un titolare'],
  ['partita_iva', 'Partita IVA di un titolare'],
  ['account', 'Account del richiedente'],
]);

const MESSAGE_KIND = /** @type {Record<string, string>} */ ({
  code: 'Codice',
  invitation: 'Invito',
  confirmation: 'Conferma',
  rejection: 'Rifiuto',
  cancellation: 'Annullamento',
  expiry: 'Scadenza',
  'number-changed': 'Numero cambiato',
  'password-reset': 'Link password',
  withdrawn: 'Elementi ritirati',
  undelivered: 'Invito non consegnato',
});

const SENT = /** @type {Record<string, string>} */ ({
  pending: 'in coda',
  sending: 'in invio',
  sent: 'inviato',
  failed: 'non inviato',
});

/** Where a message is, as its provider reported it. @param {any} m */
function delivery(m) {
  return deliveryWords(m.delivery) ?? SENT[m.status] ?? m.status;
}

async function drawLogin() {
  show(who);
  title('Accedi');
  const config = await panelConfig();
  const messages = h('div', { class: 'messages' });
  if (config.login === 'oidc') {
    show(main, h('h1', {}, 'Assistenza PEC'), messages,
      h('p', {}, "Accedi con le credenziali dell'assistenza."),
      button('Accedi', () => oidcLogin(config, '/operatore')));
    return;
  }
  const users = config.dev_operators ?? ['operatore'];
  const loginForm = form(
    async (f) => {
      try {
        await devLogin(String(new FormData(f).get('username') ?? ''));
        await start();
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card narrow' },
    h('fieldset', {}, h('legend', {}, 'Operatore dimostrativo'),
      users.map((user, i) => h('div', { class: 'choice' },
        h('input', { type: 'radio', name: 'username', id: `user-${user}`, value: user, checked: i === 0 }),
        h('label', { for: `user-${user}` }, user)))),
    h('p', { class: 'hint' }, "Accesso locale di prova: in produzione si accede con l'account dell'assistenza."),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Accedi'),
  );
  show(main, h('h1', {}, 'Assistenza PEC'), messages, loginForm);
}

function drawHeader() {
  show(who, button('Logout', async () => {
    await logout();
    await start();
  }, { kind: 'secondary' }));
}

/** The search: one criterion, the requests it names. */
function drawSearch() {
  title('Cerca una richiesta');
  const params = new URLSearchParams(location.hash.split('?')[1] ?? '');
  const [given] = CRITERIA.filter(([name]) => params.get(name));
  const messages = h('div', { class: 'messages' });
  const results = h('div', {});
  const searchForm = form(
    async (f) => {
      const v = values(f);
      if (!v.valore) {
        showError(messages, new ApiError({ status: 400, detail: 'Indica cosa cercare.', errors: { valore: 'Obbligatorio.' } }), f);
        return;
      }
      location.hash = `#/${query({ [v.criterio]: v.valore })}`;
    },
    { class: 'card', 'aria-label': 'Cerca una richiesta' },
    select({ name: 'criterio', label: 'Cerca per', options: CRITERIA, value: given?.[0] ?? 'casella' }),
    field({ name: 'valore', label: 'Valore', value: given ? params.get(given[0]) ?? '' : '', required: true }),
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Cerca')),
  );
  show(main, h('h1', {}, 'Cerca una richiesta'),
    h('p', { class: 'lead' }, 'Trova la richiesta di cambio titolare di cui chiede il cliente. Aprirla resta nello storico della richiesta, che il cliente legge.'),
    messages, searchForm, results);
  if (!given) return;
  const [name] = given;
  api('GET', `/v1/support/transfers${query({ [name]: params.get(name) })}`)
    .then((found) => {
      learn(found.vocabulary);
      show(results, found.items.length === 0
        ? notice('info', 'Nessuna richiesta trovata.')
        : h('section', { class: 'card', 'aria-labelledby': 'trovate' },
          h('h2', { id: 'trovate' }, `Richieste trovate: ${found.items.length}`),
          table(['Numero', 'Stato', 'Account', 'Elementi', 'Attuale titolare', 'Nuovo titolare', 'Creata il'],
            found.items.map((/** @type {any} */ t) => [
              h('a', { href: `#/richiesta/${encodeURIComponent(t.id)}` }, `Richiesta n. ${t.id}`),
              STATUS[t.status] ?? t.status,
              t.account,
              t.items.map((/** @type {any} */ i) => i.id).join(', '),
              t.current_holder ?? '',
              t.new_holder ?? '',
              dateTime(t.created_at),
            ]), 'Richieste trovate')));
    })
    .catch((error) => showError(messages, error, searchForm));
}

/**
 * A request: first why it is opened (optional, on the trail), then the request whole.
 * @param {string} id
 */
function drawRequest(id) {
  title(`Richiesta n. ${id}`);
  const messages = h('div', { class: 'messages' });
  const open = form(
    async (f) => {
      try {
        const read = await api('GET', `/v1/support/transfers/${encodeURIComponent(id)}${query({ motivo: values(f).motivo ?? null })}`);
        drawRead(id, read);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card narrow', 'aria-label': 'Apri la richiesta' },
    field({ name: 'motivo', label: 'Motivo della consultazione (facoltativo)', hint: 'Resta nello storico della richiesta, con il tuo nome: il cliente lo legge.' }),
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Apri la richiesta')),
  );
  show(main, h('h1', {}, `Richiesta n. ${id}`), messages, open, h('p', { class: 'actions' }, h('a', { href: '#/', class: 'btn btn-secondary' }, 'Torna alla ricerca')));
}

/**
 * @param {string} id
 * @param {any} read the API's answer
 * @param {string} [said] what the last action did
 */
function drawRead(id, read, said) {
  learn(read.vocabulary);
  const t = read.transfer;
  const messages = h('div', { class: 'messages', role: 'status' }, said ? notice('success', said) : null);
  const base = `/v1/support/transfers/${encodeURIComponent(id)}`;
  const again = async (/** @type {string} */ text) => {
    drawRead(id, await api('GET', `${base}${query({ motivo: 'Dopo un\'azione' })}`), text);
  };
  /** A form of one action, with its required reason. */
  const action = (/** @type {string} */ name, /** @type {string} */ path, /** @type {any[]} */ fields, /** @type {string} */ submit, /** @type {string} */ done, kind = 'primary') => form(
    async (f) => {
      const v = values(f);
      try {
        await api('POST', `${base}/${path}`, { ...v, reason: v.reason ?? '' });
        await again(done);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card', 'aria-label': name },
    h('h3', {}, name),
    ...fields,
    field({ name: 'reason', label: 'Motivo', required: true, hint: 'Resta nello storico della richiesta, che il cliente legge.' }),
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: `btn btn-${kind}` }, submit)),
  );
  const holders = /** @type {[string, string][]} */ ([['current_holder', 'Attuale titolare'], ['new_holder', 'Nuovo titolare']]);
  const channels = /** @type {[string, string][]} */ ([['sms', 'SMS'], ['email', 'Email']]);
  const running = t.status === 'open' || t.status === 'draft';
  const contact = (/** @type {string} */ party) => {
    const c = t.contacts?.[party];
    if (!c) return '—';
    const last = deliveryWords(c.invitation_delivery) ?? 'inviato, in attesa della conferma di consegna';
    return `${c.email}, ${c.mobile}; inviti: ${c.invitations}; ultimo invito: ${last}`;
  };
  show(main,
    h('h1', {}, `Richiesta n. ${t.id}`),
    messages,
    h('section', { class: 'card', 'aria-labelledby': 'riepilogo' },
      h('h2', { id: 'riepilogo' }, 'Riepilogo'),
      h('dl', { class: 'details' },
        h('dt', {}, 'Stato'), h('dd', {}, STATUS[t.status] ?? t.status),
        h('dt', {}, 'Account del richiedente'), h('dd', {}, read.account),
        h('dt', {}, 'Creata il'), h('dd', {}, dateTime(t.created_at)),
        h('dt', {}, t.ended_at ? 'Conclusa il' : 'Scadenza'), h('dd', {}, dateTime(t.ended_at ?? t.deadline)),
        h('dt', {}, 'Attuale titolare'), h('dd', {}, `${t.current_holder?.name ?? ''} — ${contact('current_holder')}`),
        h('dt', {}, 'Nuovo titolare'), h('dd', {}, `${t.new_holder?.name ?? ''} — ${contact('new_holder')}`),
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'elementi' },
      h('h2', { id: 'elementi' }, 'Elementi'),
      table(['Elemento', 'Tipo', 'Esito', 'Sistema di posta'],
        t.items.map((/** @type {any} */ i) => [i.id, itemKind(i.kind), outcome(i.outcome), platformStatus(i.platform)]), 'Elementi'),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'messaggi' },
      h('h2', { id: 'messaggi' }, 'Messaggi'),
      table(['Creato il', 'Messaggio', 'A', 'Canale', 'Esito'],
        read.messages.map((/** @type {any} */ m) => [dateTime(m.created_at), MESSAGE_KIND[m.kind] ?? m.kind, m.party ? PARTY[m.party] ?? m.party : '—', m.channel === 'sms' ? 'SMS' : 'Email', delivery(m)]), 'Messaggi'),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'storico' },
      h('h2', { id: 'storico' }, 'Storico della richiesta'),
      table(['Data', 'Parte', 'Azione', 'Dettaglio'],
        t.audit.map((/** @type {any} */ a) => [dateTime(a.at), auditWho(a), auditAction(a.action), auditDetail(a)]), 'Storico della richiesta'),
    ),
    running
      ? h('section', { class: 'card', 'aria-labelledby': 'azioni' },
        h('h2', { id: 'azioni' }, 'Azioni'),
        h('p', {}, 'Ogni azione resta nello storico con il tuo nome e il motivo, e il cliente la legge. Valgono gli stessi limiti di invio di tutti.'),
        action("Invia di nuovo l'invito", 'invitations', [select({ name: 'party', label: 'A chi', options: holders })], "Invia l'invito", 'Invito inviato di nuovo.'),
        action('Invia di nuovo il codice', 'codes', [select({ name: 'party', label: 'A chi', options: holders }), select({ name: 'channel', label: 'Canale', options: channels })], 'Invia il codice', 'Codice inviato di nuovo al contatto in archivio.'),
        action('Concedi nuovi invii di codici', 'unblock', [select({ name: 'party', label: 'A chi', options: holders }), select({ name: 'channel', label: 'Canale', options: channels })], 'Concedi', 'Nuovi invii concessi (una volta per richiesta).'),
        action('Annulla la richiesta', 'cancel', [], 'Annulla la richiesta', 'Richiesta annullata: le parti sono state avvisate.', 'danger'),
      )
      : null,
    h('section', { class: 'card', 'aria-labelledby': 'altre' },
      h('h2', { id: 'altre' }, "Altre richieste dell'account"),
      read.account_transfers.length === 0
        ? h('p', {}, 'Nessuna.')
        : table(['Numero', 'Stato', 'Elementi', 'Creata il'],
          read.account_transfers.map((/** @type {any} */ o) => [h('a', { href: `#/richiesta/${encodeURIComponent(o.id)}` }, `Richiesta n. ${o.id}`), STATUS[o.status] ?? o.status, o.items.map((/** @type {any} */ i) => i.id).join(', '), dateTime(o.created_at)]), "Altre richieste dell'account"),
    ),
    h('p', { class: 'actions' }, h('a', { href: '#/', class: 'btn btn-secondary' }, 'Torna alla ricerca')),
  );
  const heading = main.querySelector('h1');
  if (heading) focus(heading);
}

function draw() {
  const hash = location.hash.split('?')[0];
  const request = hash.match(/^#\/richiesta\/([^/]+)$/);
  if (request) drawRequest(decodeURIComponent(request[1]));
  else drawSearch();
  const heading = main.querySelector('h1');
  if (heading && !main.contains(document.activeElement)) focus(heading);
}

async function start() {
  const config = await panelConfig();
  try {
    await completeOidcLogin(config, '/operatore');
  } catch {
    show(main, notice('error', 'Accesso non riuscito: riprova.'));
  }
  if (!accountToken()) {
    await drawLogin();
    return;
  }
  drawHeader();
  draw();
}

window.addEventListener('hashchange', () => {
  if (location.hash && !location.hash.startsWith('#/')) return;
  draw();
});
window.addEventListener('unhandledrejection', (event) => {
  if (event.reason instanceof ApiError && event.reason.status === 401) {
    forgetLogin();
    start();
  }
});
start();
