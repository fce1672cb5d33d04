// "Cambio titolare PEC": the requests not yet ended (with "interrompere l'operazione"), every
// request, and one request's page with each party's progress and the audit trail.

import { dateTime, h, show } from '../dom.js';
import { button, codeStep, field, form, notice, showError, values } from '../ui.js';
import { PARTY, STATUS, STEP, auditAction, auditDetail, auditWho, decision, deliveryWords, itemKind, management, outcome, platformStatus } from '../words.js';
import { table } from './lists.js';
import { route as newTransfer } from './new-transfer.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** @param {Ctx} ctx */
export async function route(ctx) {
  const id = ctx.path[1];
  if (id) return detail(ctx, id);
  return list(ctx);
}

/**
 * "Annulla" asks first, then interrupts the request.
 * @param {Ctx} ctx
 * @param {string} id
 * @param {HTMLElement} messages
 * @param {() => Promise<void>} after
 */
function cancelControl(ctx, id, messages, after) {
  const host = h('span', { class: 'cancel-control' });
  const ask = button('Annulla', () => {
    show(
      host,
      h('span', { role: 'status' }, `Interrompere la richiesta n. ${id}? `),
      button('Conferma', async () => {
        try {
          await ctx.api('POST', `/v1/transfers/${encodeURIComponent(id)}/cancel`);
          await after();
        } catch (error) {
          showError(messages, error);
          show(host, ask);
        }
      }, { kind: 'danger' }),
      button('Indietro', () => {
        show(host, ask);
        ask.focus();
      }, { kind: 'secondary' }),
    );
    const confirm = host.querySelector('button');
    if (confirm) confirm.focus();
  }, { kind: 'danger', name: `Annulla la richiesta n. ${id}` });
  show(host, ask);
  return host;
}

/** @param {any[]} items */
function itemList(items) {
  return items.map((i) => `${i.id}`).join(', ');
}

/** @param {Ctx} ctx */
async function list(ctx) {
  const all = ctx.params.get('tutte') === '1';
  const answer = await ctx.api('GET', all ? '/v1/transfers' : '/v1/transfers?status=draft,open');
  const items = /** @type {any[]} */ (answer.items);
  if (!all && items.length === 0) {
    // Seed 000: with no request pending the panel goes straight to the next step (unless the
    // person went elsewhere while the list loaded).
    if (!ctx.replace('#/cambio/nuovo')) return;
    return newTransfer({ ...ctx, path: ['cambio', 'nuovo'], params: new URLSearchParams() });
  }
  ctx.title('Cambio titolare PEC');
  const messages = h('div', { class: 'messages' });
  show(
    ctx.main,
    h('h1', {}, 'Cambio titolare PEC'),
    messages,
    h('h2', {}, all ? 'Tutte le richieste' : 'Richieste non ancora concluse'),
    !all ? h('p', {}, "Puoi aprire una richiesta per vederne l'avanzamento o interrompere l'operazione.") : null,
    items.length === 0
      ? h('p', { role: 'status' }, 'Nessuna richiesta.')
      : table(
          ['N.', 'Stato', 'Elementi', 'Nuovo titolare', 'Scadenza', 'Azioni'],
          items.map((t) => [
            h('a', { href: `#/cambio/${encodeURIComponent(t.id)}` }, `Richiesta n. ${t.id}`),
            STATUS[t.status] ?? t.status,
            itemList(t.items),
            t.new_holder ?? '',
            dateTime(t.deadline),
            t.status === 'draft' || t.status === 'open'
              ? cancelControl(ctx, t.id, messages, async () => {
                  await list(ctx);
                  const region = ctx.main.querySelector('.messages');
                  if (region instanceof HTMLElement) show(region, notice('success', `Richiesta n. ${t.id} annullata.`));
                })
              : h('a', { href: `#/cambio/${encodeURIComponent(t.id)}` }, 'Dettaglio'),
          ]),
          'Richieste di cambio titolare',
        ),
    h('p', { class: 'actions' },
      h('a', { href: '#/cambio/nuovo', class: 'btn btn-primary' }, 'Crea nuova richiesta'),
      all
        ? h('a', { href: '#/cambio', class: 'btn btn-secondary' }, 'Solo le richieste in corso')
        : h('a', { href: '#/cambio?tutte=1', class: 'btn btn-secondary' }, 'Tutte le richieste'),
    ),
  );
}

/**
 * A holder's contact as the initiator sees it (masked), with "Invia di nuovo l'invito" and,
 * while the holder has not verified it, "Correggi i contatti".
 * @param {Ctx} ctx
 * @param {any} t the request
 * @param {'current_holder' | 'new_holder'} party
 * @param {HTMLElement} messages
 * @param {(text: string) => Promise<void>} redraw
 */
function holderContact(ctx, t, party, messages, redraw) {
  const c = t.contacts?.[party];
  if (!c) return null;
  const base = `/v1/transfers/${encodeURIComponent(t.id)}`;
  const host = h('div', { class: 'contact' });
  const correct = form(
    async (f) => {
      try {
        await ctx.api('PATCH', `${base}/contacts`, { party, ...values(f) });
        const who = party === 'new_holder' ? 'il nuovo titolare' : "l'attuale titolare";
        await redraw(`Contatti corretti: ${who} ha ricevuto un nuovo invito; il link precedente non vale più.`);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'narrow', 'aria-label': `Correggi i contatti: ${PARTY[party]}` },
    field({ name: 'email', label: 'Email corretta', type: 'email', autocomplete: 'off' }),
    field({ name: 'mobile', label: 'Cellulare corretto', type: 'tel', inputmode: 'tel' }),
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Correggi e invia di nuovo')),
  );
  const delivery = c.invitation_delivery;
  const lost = delivery?.outcome === 'failed';
  show(host,
    h('p', {}, `Email ${c.email}, cellulare ${c.mobile}; inviti: ${c.invitations}.`),
    invitationLine(c),
    h('p', { class: 'actions' },
      button("Invia di nuovo l'invito", async () => {
        try {
          const sent = await ctx.api('POST', `${base}/invitations`, { party });
          await redraw(`Invito inviato di nuovo a ${sent.sent_to}.`);
        } catch (error) {
          showError(messages, error);
        }
      }, { kind: 'secondary', name: `Invia di nuovo l'invito: ${PARTY[party]}` }),
    ),
    h('details', { open: lost && delivery.lost }, h('summary', {}, 'Correggi i contatti'), correct),
  );
  return host;
}

/**
 * Where the last invitation is, as the email provider reported it.
 * @param {any} c a holder's contact
 */
function invitationLine(c) {
  const d = c.invitation_delivery;
  if (!c.invitations) return null;
  if (!d) return h('p', {}, 'Ultimo invito: inviato, in attesa della conferma di consegna.');
  if (d.outcome !== 'failed') return h('p', {}, `Ultimo invito: ${deliveryWords(d)}.`);
  return notice('error', `Ultimo invito ${deliveryWords(d)}.${d.lost ? ' Correggi i contatti: un nuovo invito partirà al nuovo indirizzo.' : ' Puoi inviarlo di nuovo.'}`);
}

/**
 * @param {any} progress `{done, left}`
 */
function steps(progress) {
  const done = /** @type {string[]} */ (progress?.done ?? []);
  const left = /** @type {string[]} */ (progress?.left ?? []);
  return h('ul', { class: 'steps' },
    done.map((s) => h('li', { class: 'done' }, `${STEP[s] ?? s}: fatto`)),
    left.map((s) => h('li', { class: 'todo' }, `${STEP[s] ?? s}: da fare`)),
    done.length + left.length === 0 ? h('li', {}, 'Nessun passaggio fatto') : null,
  );
}

/**
 * One request, as its initiator sees it.
 * @param {Ctx} ctx
 * @param {string} id
 * @param {string} [news]
 */
async function detail(ctx, id, news) {
  const t = await ctx.api('GET', `/v1/transfers/${encodeURIComponent(id)}`);
  ctx.title(`Richiesta n. ${t.id}`);
  const messages = h('div', { class: 'messages' });
  const running = t.status === 'draft' || t.status === 'open';
  const items = /** @type {any[]} */ (t.items);
  const audit = /** @type {any[]} */ (t.audit ?? []);
  const redraw = async (/** @type {string} */ text) => detail(ctx, id, text);
  show(
    ctx.main,
    h('h1', {}, `Richiesta di cambio titolare n. ${t.id}`),
    messages,
    news ? notice('success', news) : null,
    h('section', { class: 'card', 'aria-labelledby': 'riepilogo' },
      h('h2', { id: 'riepilogo' }, 'Riepilogo'),
      h('dl', { class: 'details' },
        h('dt', {}, 'Stato'), h('dd', { class: `status status-${t.status}` }, STATUS[t.status] ?? t.status),
        h('dt', {}, 'Creata il'), h('dd', {}, dateTime(t.created_at)),
        h('dt', {}, running ? 'Scadenza' : 'Conclusa il'), h('dd', {}, dateTime(running ? t.deadline : t.ended_at)),
        h('dt', {}, 'Gestione'), h('dd', {}, management(t.management)),
        h('dt', {}, 'Attuale titolare'), h('dd', {}, `${t.current_holder?.name ?? ''} (Id ${t.current_holder?.id ?? ''})`),
        h('dt', {}, 'Nuovo titolare'), h('dd', {}, `${t.new_holder?.name ?? ''} (Id ${t.new_holder?.id ?? ''})`),
      ),
      lapsedBy(t),
    ),
    t.status === 'draft'
      ? h('section', { class: 'card', 'aria-labelledby': 'verifica' },
          h('h2', { id: 'verifica' }, 'Conferma la richiesta'),
          h('p', {}, 'La richiesta parte solo dopo la verifica del tuo numero di cellulare: da quel momento i titolari hanno 5 giorni per rispondere.'),
          codeStep({
            channel: 'sms',
            contact: t.initiator_mobile,
            send: (body) => ctx.api('POST', `/v1/transfers/${encodeURIComponent(id)}/codes`, body),
            verify: (body) => ctx.api('POST', `/v1/transfers/${encodeURIComponent(id)}/codes/verify`, body),
            status: () => ctx.api('GET', `/v1/transfers/${encodeURIComponent(id)}/codes`),
            done: () => redraw("Richiesta confermata. È necessario attendere la risposta dell'attuale e del nuovo titolare per poter processare il cambio: entrambi hanno ricevuto un'email con il link Gestisci richiesta."),
          }),
        )
      : null,
    h('section', { class: 'card', 'aria-labelledby': 'elementi' },
      h('h2', { id: 'elementi' }, 'Elementi'),
      table(
        ['Elemento', 'Tipo', 'Attuale titolare', 'Nuovo titolare', 'Esito', 'Sistema di posta'],
        items.map((i) => [i.id, itemKind(i.kind), decision(i.current_holder), decision(i.new_holder), outcome(i.outcome), platformStatus(i.platform)]),
        'Elementi della richiesta',
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'avanzamento' },
      h('h2', { id: 'avanzamento' }, 'Avanzamento'),
      h('div', { class: 'grid' },
        ['initiator', 'current_holder', 'new_holder'].map((p) =>
          h('div', {},
            h('h3', {}, PARTY[p]),
            steps(t.progress?.[p]),
            t.status === 'open' && p !== 'initiator' ? holderContact(ctx, t, /** @type {any} */ (p), messages, redraw) : null,
          )),
      ),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'storico' },
      h('h2', { id: 'storico' }, 'Storico della richiesta'),
      table(
        ['Data', 'Parte', 'Azione', 'Dettaglio', 'Codice operazione', 'Indirizzo IP'],
        // A line of the service's own (the expirer, the provider's inventory) has no party
        // and no call behind it; one of the provider's support names the operator and why.
        audit.map((a) => [dateTime(a.at), auditWho(a), auditAction(a.action), auditDetail(a), a.party || a.support ? a.request_id : '—', a.source_ip || '—']),
        'Storico della richiesta',
      ),
    ),
    h('p', { class: 'actions' },
      h('a', { href: '#/cambio', class: 'btn btn-secondary' }, 'Indietro'),
      running ? cancelControl(ctx, t.id, messages, () => redraw('Richiesta annullata.')) : null,
    ),
  );
  watch(ctx, t, () => detail(ctx, id, 'La richiesta è cambiata: la pagina mostra il suo stato attuale.'));
}

/** How often an open request's page reads it again. */
const WATCH_EVERY_MS = 5000;

/**
 * While the request runs, or the mail platform has yet to apply what it moved, its page reads
 * it again now and then and is drawn again when something changed — a holder's answer, the
 * completion — unless the person is typing in one of its forms (then at the next look).
 * @param {Ctx} ctx
 * @param {any} t the request as drawn
 * @param {() => Promise<void>} redraw
 */
function watch(ctx, t, redraw) {
  // Each drawing of the page has its own watch; a newer drawing ends the older ones.
  const generation = String(Number(ctx.main.dataset.drawing ?? '0') + 1);
  ctx.main.dataset.drawing = generation;
  const items = /** @type {any[]} */ (t.items);
  const waiting = t.status === 'draft' || t.status === 'open' || items.some((i) => i.platform?.status === 'waiting');
  if (!waiting) return;
  const drawn = JSON.stringify(t);
  const current = () => ctx.main.isConnected && ctx.main.dataset.drawing === generation;
  const look = async () => {
    if (!current()) return;
    const busy = document.activeElement instanceof HTMLElement && document.activeElement.closest('form') && ctx.main.contains(document.activeElement);
    if (!document.hidden && !busy) {
      try {
        const now = await ctx.api('GET', `/v1/transfers/${encodeURIComponent(t.id)}`);
        if (!current()) return;
        if (JSON.stringify(now) !== drawn) {
          await redraw();
          return;
        }
      } catch {
        // A failed look is tried again at the next one.
      }
    }
    window.setTimeout(look, WATCH_EVERY_MS);
  };
  window.setTimeout(look, WATCH_EVERY_MS);
}

/**
 * On an expired request: who had not finished by the deadline.
 * @param {any} t
 */
function lapsedBy(t) {
  if (t.status !== 'expired') return null;
  const late = /** @type {string[]} */ (t.unfinished ?? []);
  if (late.length === 0) return null;
  const who = late.map((p) => PARTY[p] ?? p).join(', ');
  const lead = late.length === 1
    ? `Scaduta prima che concludesse i suoi passaggi: ${who}.`
    : `Scaduta prima che concludessero i loro passaggi: ${who}.`;
  return h('p', { class: 'notice notice-info' }, `${lead} Nessun servizio ha cambiato titolare: se il cambio serve ancora, crea una nuova richiesta.`);
}
