// "Imposta la password": the new holder of a moved mailbox sets its password with the emailed
// link. The page reads what the link can still do first, names the mailbox at once, and shows
// the form only to a link that works; a new link opened in the same tab is read again.

import { ApiError, call } from './api.js';
import { byId, dateTime, focus, h, show } from './dom.js';
import { takeToken } from './link-token.js';
import { button, clearFieldErrors, field, form, notice, showError } from './ui.js';

const main = byId('main');
const TOKEN_KEY = 'titolare.reset';
let token = takeToken(TOKEN_KEY);

/** The headings of a link that cannot set the password, by its state. */
const STOPPED = {
  lapsed: 'Link scaduto',
  used: 'Password già impostata',
  replaced: 'Link sostituito',
  earlier_change: 'Link non più valido',
};

async function load() {
  if (!token) {
    show(main, h('h1', {}, 'Imposta la password'), notice('info', "Apri per intero il link per impostare la password che hai ricevuto via email."));
    return;
  }
  const messages = h('div', { class: 'messages' });
  let link;
  try {
    link = await call('POST', '/v1/password-reset/check', { body: { token } });
  } catch (error) {
    show(main, h('h1', {}, 'Imposta la password'), messages);
    showError(messages, error);
    if (error instanceof ApiError && error.status === 401) {
      messages.appendChild(h('p', {}, "Se non trovi il link giusto, chiedi a chi gestisce la casella di inviartene uno nuovo, oppure contatta l'assistenza."));
    }
    return;
  }
  if (link.state !== 'valid') {
    const heading = STOPPED[/** @type {keyof typeof STOPPED} */ (link.state)] ?? 'Link non valido';
    // Why first, then what can be done about it.
    show(main, h('h1', {}, heading), h('p', { class: 'lead' }, `Casella ${link.mailbox}`), notice('info', link.detail ?? ''), messages);
    // A lapsed link is not a dead end: it still names the mailbox, so ask for a new one.
    if (link.state === 'lapsed') messages.appendChild(h('p', { class: 'actions' }, button('Inviami un nuovo link', () => newLink(messages))));
    const title = main.querySelector('h1');
    if (title) focus(title);
    return;
  }
  draw(link);
}

/** @param {any} link the answer of the check: `{mailbox, valid_until, rules}` */
function draw(link) {
  const messages = h('div', { class: 'messages' });
  // The API's own rule, as it checks it.
  const rules = h('ul', { id: 'password-rules', class: 'hint' },
    ...(link.rules ?? []).map((/** @type {string} */ rule) => h('li', {}, rule)),
  );
  const passwordForm = form(
    async (f) => {
      clearFieldErrors(f);
      const data = new FormData(f);
      const password = String(data.get('password') ?? '');
      if (password !== String(data.get('repeat') ?? '')) {
        showError(messages, new ApiError({ status: 400, detail: 'Le due password non coincidono.', errors: { repeat: 'Deve essere uguale alla nuova password.' } }), f);
        return;
      }
      try {
        const answer = await call('POST', '/v1/password-reset', { body: { token, password } });
        sessionStorage.removeItem(TOKEN_KEY);
        const done = notice('success', `Password impostata per la casella ${answer.mailbox}. Da ora puoi accedere con la nuova password.`);
        show(main, h('h1', {}, 'Password impostata'), done);
        focus(done);
      } catch (error) {
        showError(messages, error, f);
        if (error instanceof ApiError && error.status === 410) {
          // A lapsed link is not a dead end: it still names the mailbox, so ask for a new one.
          messages.appendChild(h('p', { class: 'actions' }, button('Inviami un nuovo link', () => newLink(messages))));
        } else if (error instanceof ApiError && error.status === 401) {
          messages.appendChild(h('p', {}, "Se non trovi il link giusto, chiedi a chi gestisce la casella di inviartene uno nuovo."));
        }
      }
    },
    { class: 'card narrow' },
    h('p', {}, `Scegli la nuova password della casella PEC ${link.mailbox}, di cui sei diventato titolare. Il link vale fino al ${dateTime(link.valid_until)}.`),
    h('h2', {}, 'Regole della password'),
    rules,
    field({ name: 'password', label: 'Nuova password', type: 'password', autocomplete: 'new-password' }),
    field({ name: 'repeat', label: 'Ripeti la nuova password', type: 'password', autocomplete: 'new-password' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Conferma'),
  );
  const input = passwordForm.querySelector('input[name="password"]');
  input?.setAttribute('aria-describedby', 'password-rules');
  show(main, h('h1', {}, 'Imposta la password'), h('p', { class: 'lead' }, `Casella ${link.mailbox}`), messages, passwordForm);
}

/**
 * Asks for a new link, sent to the holder's email on file; says where it went.
 * @param {HTMLElement} messages
 */
async function newLink(messages) {
  try {
    const answer = await call('POST', '/v1/password-reset/link', { body: { token } });
    sessionStorage.removeItem(TOKEN_KEY);
    const sent = notice('success', `Ti abbiamo inviato un nuovo link a ${answer.sent_to}: vale fino al ${dateTime(answer.valid_until)}. Questo link non funziona più.`);
    show(main, h('h1', {}, 'Nuovo link inviato'), sent);
    focus(sent);
  } catch (error) {
    showError(messages, error);
  }
}

// A new link opened in this tab (only the fragment changes): read it.
window.addEventListener('hashchange', () => {
  if (!new URLSearchParams(location.hash.slice(1)).get('token')) return;
  token = takeToken(TOKEN_KEY);
  load();
});
load();
