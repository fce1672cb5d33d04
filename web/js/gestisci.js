// "Gestisci richiesta": the page each holder's emailed link opens. It shows the request and
// only the next step the API names (decisions, login, holder data, contract, SMS, email).

import { ApiError, call } from './api.js';
import { accountToken, completeOidcLogin, devLogin, oidcLogin, panelConfig } from './auth.js';
import { byId, dateTime, focus, h, show } from './dom.js';
import { takeToken } from './link-token.js';
import { button, codeStep, form, notice, showError } from './ui.js';
import { STATUS, STEP, itemKind, learn, management, outcome } from './words.js';

const main = byId('main');
const TOKEN_KEY = 'titolare.link';
/** Whether this page load is the way back from the identity provider. */
let returnedFromLogin = false;
let link = takeToken(TOKEN_KEY);

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 */
function party(method, path, body) {
  return call(method, path, { body, bearer: link });
}

/**
 * A page with nothing to click: why this link cannot be used, or how the request ended.
 * @param {string} heading
 * @param {string} text
 * @param {'info' | 'success'} [kind]
 */
function stop(heading, text, kind = 'info') {
  document.title = `${heading} · Gestisci richiesta`;
  show(main, h('h1', {}, heading), notice(kind, text));
  const title = main.querySelector('h1');
  if (title) focus(title);
}

/** @param {unknown} error */
function refused(error) {
  // The API says what happened (a wrong link, a replaced one, a lapsed request) and what to do.
  if (error instanceof ApiError && error.status === 401) {
    stop(error.problem.title ?? 'Link non valido', error.message);
  } else if (error instanceof ApiError && error.status === 410) {
    stop(error.problem.title ?? 'Richiesta scaduta', error.message);
  } else if (error instanceof ApiError && error.status === 409 && error.problem.type?.endsWith('request-ended')) {
    stop('Richiesta conclusa', error.message);
  } else {
    const region = h('div', {});
    show(main, h('h1', {}, 'Gestisci richiesta'), region);
    showError(region, error);
  }
}

async function load() {
  if (!link) {
    stop('Link mancante', "Apri il link «Gestisci richiesta» che hai ricevuto via email.");
    return;
  }
  try {
    draw(await party('GET', '/v1/party'));
  } catch (error) {
    refused(error);
  }
}

/**
 * What the change means for this party, before they accept (what docs/rules.md says a completed change does).
 * @param {string} role
 */
function consequences(role) {
  return role === 'current_holder'
    ? h('section', { class: 'card info', 'aria-labelledby': 'what-means' },
        h('h3', { id: 'what-means' }, 'Cosa comporta il cambio'),
        h('ul', {},
          h('li', {}, 'A cambio concluso non potrai più accedere alle caselle: salva prima i messaggi e le ricevute che ti servono.'),
          h('li', {}, "L'attuale titolare ha la responsabilità di cancellare il contenuto delle caselle PEC prima del cambio: il gestore non risponde dei messaggi non eliminati, che il nuovo titolare potrebbe vedere."),
          h('li', {}, 'Le caselle passano al nuovo titolare con le regole e le impostazioni salvate.'),
        ))
    : h('section', { class: 'card info', 'aria-labelledby': 'what-means' },
        h('h3', { id: 'what-means' }, 'Cosa comporta il cambio'),
        h('ul', {},
          h('li', {}, 'Dovrai impostare una nuova password per ogni casella, con il link che riceverai via email a cambio completato.'),
          h('li', {}, 'Lo storico degli accessi alla casella viene azzerato.'),
          h('li', {}, 'La casella viene consegnata con le regole e le impostazioni salvate: verifica che nessuna regola o filtro nasconda messaggi o li sposti in cartelle diverse dalla Posta in arrivo.'),
        ));
}

/** @param {any} view the answer of GET /v1/party */
function draw(view) {
  learn(view.vocabulary);
  // Before the change completes it is a proposal, not a fact.
  const lead = view.role === 'new_holder'
    ? `Ti è stato proposto di diventare titolare di questi servizi, oggi intestati a ${view.transfer.current_holder}.`
    : `Ti è stato chiesto di cedere questi servizi, di cui sei titolare, a ${view.transfer.new_holder}.`;
  // An ended request (a rejection of everything ends it at once) has no next step.
  const next = view.transfer.status === 'open' ? /** @type {string | undefined} */ (view.steps_left[0]) : undefined;
  const messages = h('div', { class: 'messages' });
  const stepsAll = [...view.steps_done, ...view.steps_left];
  document.title = `Richiesta n. ${view.transfer.id} · Gestisci richiesta`;
  show(
    main,
    h('h1', {}, `Gestisci richiesta n. ${view.transfer.id}`),
    h('section', { class: 'card', 'aria-labelledby': 'summary' },
      h('h2', { id: 'summary', class: 'visually-hidden' }, 'La richiesta'),
      h('p', { class: 'lead' }, lead),
      h('dl', { class: 'details' },
        h('dt', {}, 'Stato'), h('dd', {}, STATUS[view.transfer.status] ?? view.transfer.status),
        h('dt', {}, 'Concludi entro il'), h('dd', {}, dateTime(view.deadline)),
        h('dt', {}, 'Gestione'), h('dd', {}, management(view.transfer.management, 'holder')),
      ),
      h('ol', { class: 'stepper', 'aria-label': 'I tuoi passaggi' },
        stepsAll.map((s) => h('li', {
          class: view.steps_done.includes(s) ? 'done' : s === next ? 'current' : '',
          'aria-current': s === next ? 'step' : null,
        }, `${STEP[s] ?? s}${view.steps_done.includes(s) ? ' (fatto)' : ''}`)),
      ),
    ),
    messages,
    next ? stepView(view, next, messages) : finished(view),
  );
  const heading = main.querySelector('#step-title') ?? main.querySelector('h1');
  if (heading instanceof HTMLElement) focus(heading);
}

/**
 * @param {any} view
 * @param {string} next
 * @param {HTMLElement} messages
 */
function stepView(view, next, messages) {
  const after = async (/** @type {any} */ answer) => draw(answer ?? (await party('GET', '/v1/party')));
  const section = (/** @type {any[]} */ ...body) =>
    h('section', { class: 'card step', 'aria-labelledby': 'step-title' }, h('h2', { id: 'step-title' }, STEP[next] ?? next), ...body);
  /**
   * @param {() => Promise<any>} run
   * @param {HTMLElement} [f]
   */
  const attempt = async (run, f) => {
    try {
      await after(await run());
    } catch (error) {
      if (error instanceof ApiError && (error.status === 410 || (error.status === 409 && error.problem.type?.endsWith('request-ended')))) refused(error);
      else showError(messages, error, f);
    }
  };
  switch (next) {
    case 'decisions':
      return decisions(view, messages, section, attempt);
    case 'login': {
      const proceed = async () => {
        const config = await panelConfig();
        if (config.login === 'oidc' && !accountToken()) {
          await oidcLogin(config, '/gestisci');
          return;
        }
        if (config.login === 'dev') await devLogin(view.transfer.management.username);
        await attempt(() => call('POST', '/v1/party/login', { bearer: accountToken(), headers: { 'x-link-token': link ?? '' } }));
      };
      // Back from the identity provider: the login was the person's click; go on with it.
      if (returnedFromLogin) {
        returnedFromLogin = false;
        proceed();
      }
      return section(
        h('p', {}, `Chi ha chiesto il cambio ha affidato la gestione all'account ${view.transfer.management.username}: accedi con quello username per proseguire.`),
        button('Accedi', proceed),
      );
    }
    case 'holder_data': {
      const d = view.holder_data ?? {};
      return section(
        h('p', {}, 'Controlla i dati del nuovo titolare collegati allo username indicato da chi ha chiesto il cambio. Qui non si possono modificare.'),
        h('dl', { class: 'details' },
          h('dt', {}, 'Ragione Sociale'), h('dd', {}, d.ragione_sociale ?? '—'),
          h('dt', {}, 'Codice Fiscale'), h('dd', {}, d.codice_fiscale ?? '—'),
          h('dt', {}, 'Partita Iva'), h('dd', {}, d.partita_iva ?? '—'),
        ),
        h('p', {}, d.wrong_ragione_sociale?.detail ?? '', ' ', d.wrong_ragione_sociale?.url
          ? h('a', { href: d.wrong_ragione_sociale.url, target: '_blank', rel: 'noopener noreferrer' }, 'Come modificarla')
          : null),
        h('p', {}, d.wrong_codes?.detail ?? '', ' ', d.wrong_codes?.url
          ? h('a', { href: d.wrong_codes.url, target: '_blank', rel: 'noopener noreferrer' }, "Contatta l'assistenza")
          : null),
        button('Conferma', () => attempt(() => party('PUT', '/v1/party/holder-data', { confirm: true }))),
      );
    }
    case 'contract': {
      const conditions = /** @type {any[]} */ (view.conditions);
      const contract = form(
        async (f) => {
          const accepted = new FormData(f).getAll('condition').map(String);
          await attempt(() => party('POST', '/v1/party/contract', { accepted }), f);
        },
        {},
        h('fieldset', {},
          h('legend', {}, 'Leggi le condizioni contrattuali attraverso i relativi link e accettale selezionando le caselle corrispondenti.'),
          conditions.map((c) => h('div', { class: 'choice' },
            h('input', { type: 'checkbox', name: 'condition', id: `cond-${c.id}`, value: c.id }),
            h('label', { for: `cond-${c.id}` }, c.consent),
            h('a', { href: c.url, target: '_blank', rel: 'noopener noreferrer', class: 'condition-link' }, `Leggi: ${c.title} (versione ${c.version})`),
          )),
        ),
        h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      );
      return section(contract);
    }
    case 'sms':
    case 'email':
      return section(
        next === 'email' ? h('p', {}, "Controlla l'indirizzo email della tua anagrafica e verifica che ti appartenga.") : null,
        codeStep({
          channel: next,
          heading: false,
          contact: next === 'sms' ? view.contact?.mobile : view.contact?.email,
          send: (body) => party('POST', '/v1/party/codes', body),
          verify: (body) => party('POST', '/v1/party/codes/verify', body),
          status: () => party('GET', '/v1/party/codes'),
          done: (answer) => {
            if (answer?.status && answer.status !== 'open') concluded(view.role, answer.status);
            else after(null).catch(refused);
          },
        }),
      );
    default:
      return section(h('p', {}, 'Questa pagina non conosce il passaggio che ti aspetta: ricaricala.'));
  }
}

/**
 * Seed 000: each item with green (accept) or red (reject), "Prosegui", the summary, "Prosegui".
 * @param {any} view
 * @param {HTMLElement} messages
 * @param {(...body: any[]) => HTMLElement} section
 * @param {(run: () => Promise<any>, f?: HTMLElement) => Promise<void>} attempt
 */
function decisions(view, messages, section, attempt) {
  // An item the provider's records took out of the request asks for no decision.
  const all = /** @type {any[]} */ (view.items);
  const items = all.filter((i) => i.outcome !== 'withdrawn');
  const withdrawn = all.filter((i) => i.outcome === 'withdrawn');
  const host = h('div', {});
  const choose = form(
    async (f) => {
      const data = new FormData(f);
      const missing = items.filter((i) => !data.get(`decision-${i.id}`));
      if (missing.length) {
        show(messages, notice('error', `Scegli se accettare o rifiutare: ${missing.map((i) => i.id).join(', ')}.`));
        return;
      }
      const chosen = items.map((i) => ({ item: i.id, accept: data.get(`decision-${i.id}`) === 'accept' }));
      show(messages);
      show(host,
        h('h3', { id: 'riepilogo', tabindex: -1 }, 'Riepilogo'),
        h('ul', { class: 'decisions-summary' }, chosen.map((c) => h('li', { class: c.accept ? 'accept' : 'reject' }, `${c.item}: ${c.accept ? 'accetti il cambio' : 'rifiuti il cambio'}`))),
        chosen.every((c) => !c.accept) ? notice('info', 'Rifiutando tutti gli elementi la richiesta si chiude.') : null,
        h('p', { class: 'actions' },
          button('Prosegui', () => attempt(() => party('POST', '/v1/party/decisions', { decisions: chosen }))),
          button('Indietro', () => show(host, choose), { kind: 'secondary' }),
        ),
      );
      const heading = host.querySelector('h3');
      if (heading) focus(heading);
    },
    {},
    items.map((i) => h('fieldset', { class: 'decision' },
      h('legend', {}, `${itemKind(i.kind)} ${i.id}`),
      h('div', { class: 'choice accept' },
        h('input', { type: 'radio', name: `decision-${i.id}`, id: `accept-${i.id}`, value: 'accept', checked: i.accept === true }),
        h('label', { for: `accept-${i.id}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '✓'), ' Accetta'),
      ),
      h('div', { class: 'choice reject' },
        h('input', { type: 'radio', name: `decision-${i.id}`, id: `reject-${i.id}`, value: 'reject', checked: i.accept === false }),
        h('label', { for: `reject-${i.id}` }, h('span', { class: 'icon', 'aria-hidden': 'true' }, '✗'), ' Rifiuta'),
      ),
    )),
    consequences(view.role),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
  );
  show(host, choose);
  if (withdrawn.length) {
    host.prepend(h('ul', { class: 'withdrawn' }, withdrawn.map((i) => h('li', {}, `${itemKind(i.kind)} ${i.id}: ${outcome(i.outcome)}`))));
  }
  // The choice first (on a phone it would otherwise sit a screen and more below), with the
  // one thing a current holder must know before accepting; the rest of what the change
  // means follows the choices, before "Prosegui".
  return section(
    h('p', {}, view.role === 'new_holder'
      ? 'Ecco gli elementi che chi ha chiesto il cambio propone di intestarti: accetta o rifiuta ciascuno.'
      : 'Ecco gli elementi che ti viene proposto di intestare al nuovo titolare: accetta o rifiuta ciascuno.'),
    view.role === 'current_holder'
      ? notice('info', "Se accetti, a cambio concluso non potrai più accedere a queste caselle: prima salva i messaggi e le ricevute che ti servono.")
      : null,
    host,
  );
}

/**
 * The page after the step that ended the request: what happened, in words for this party.
 * @param {string} role
 * @param {string} status
 */
function concluded(role, status) {
  if (status !== 'completed') {
    stop('Richiesta conclusa', 'La richiesta si è conclusa senza cambi: nessun elemento è stato accettato da entrambi i titolari.');
    return;
  }
  stop(
    'Cambio titolare completato',
    role === 'new_holder'
      ? "Gli elementi accettati da entrambi sono ora intestati a te. Riceverai un'email con il link per impostare la password di ogni casella; lo storico degli accessi è stato azzerato."
      : "Gli elementi accettati da entrambi sono ora intestati al nuovo titolare. Ricorda che la cancellazione del contenuto delle caselle spettava a te.",
    'success',
  );
}

/** @param {any} view */
function finished(view) {
  const items = /** @type {any[]} */ (view.items);
  const open = view.transfer.status === 'open';
  return h('section', { class: 'card', 'aria-labelledby': 'step-title' },
    h('h2', { id: 'step-title' }, open ? 'Hai completato i tuoi passaggi' : STATUS[view.transfer.status] ?? view.transfer.status),
    open
      ? h('p', {}, view.role === 'new_holder'
          ? "È necessario attendere la risposta dell'attuale titolare: riceverai un'email di conferma quando il cambio titolare sarà completato."
          : "È necessario attendere la risposta del nuovo titolare per poter processare il cambio.")
      : null,
    open && view.hold_until
      ? notice('info', `Il cellulare è stato verificato con un numero diverso da quello indicato: la richiesta si conclude non prima del ${dateTime(view.hold_until)}, se nessuno la blocca.`)
      : null,
    h('ul', {}, items.map((i) => h('li', {}, `${itemKind(i.kind)} ${i.id}: ${i.outcome ? outcome(i.outcome) : i.accept ? 'accettato' : 'rifiutato'}`))),
  );
}

async function start() {
  const config = await panelConfig();
  try {
    returnedFromLogin = (await completeOidcLogin(config, '/gestisci')) !== null;
  } catch {
    show(main, notice('error', 'Accesso non riuscito: riprova.'));
    return;
  }
  await load();
}

// A new link opened in this tab (only the fragment changes, the page is not loaded again):
// the page reads that link, not the one it showed.
window.addEventListener('hashchange', () => {
  if (!new URLSearchParams(location.hash.slice(1)).get('token')) return;
  link = takeToken(TOKEN_KEY);
  load();
});

start();
