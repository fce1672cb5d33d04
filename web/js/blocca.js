// "Blocca la richiesta": the link sent to a holder's number and email on file when their
// mobile step was verified at another number. One button: the API rejects the request for
// that holder (docs/security.md); nothing else is shown or decided here.

import { ApiError, call } from './api.js';
import { byId, focus, h, show } from './dom.js';
import { takeToken } from './link-token.js';
import { button, notice, showError } from './ui.js';

const main = byId('main');
const TOKEN_KEY = 'titolare.stop';
const token = takeToken(TOKEN_KEY);

function draw() {
  if (!token) {
    show(main, h('h1', {}, 'Blocca la richiesta'), notice('info', 'Apri per intero il link «Blocca la richiesta» che hai ricevuto via SMS o email.'));
    return;
  }
  const messages = h('div', { class: 'messages' });
  show(
    main,
    h('h1', {}, 'Blocca la richiesta'),
    h('section', { class: 'card narrow' },
      h('p', {}, 'Qualcuno ha verificato il cellulare di una tua richiesta di cambio titolare PEC con un numero diverso dal tuo.'),
      h('p', {}, 'Se non sei stato tu, blocca la richiesta: nessun servizio cambierà titolare. Se sei stato tu, non fare nulla.'),
      messages,
      h('p', { class: 'actions' }, button('Blocca la richiesta', () => stopRequest(messages))),
    ),
  );
}

/** @param {HTMLElement} messages */
async function stopRequest(messages) {
  try {
    const answer = await call('POST', '/v1/party/stop', { body: { token } });
    sessionStorage.removeItem(TOKEN_KEY);
    const done = notice('success', `La richiesta n. ${answer.id} è bloccata e rifiutata: nessun servizio cambia titolare. Le parti ricevono un'email con l'esito.`);
    show(main, h('h1', {}, 'Richiesta bloccata'), done);
    focus(done);
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY);
    }
    showError(messages, error);
  }
}

draw();
