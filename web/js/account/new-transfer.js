// A new change-of-holder request, the initiator's steps of docs/rules.md: what is needed ("Procedi"), the items
// ("Prosegui"), the management and the new holder, its data, the summary, then the initiator's
// SMS code ("Invia codice di verifica", "Verifica"). The API decides every rule.

import { ApiError, query } from '../api.js';
import { focus, h, show } from '../dom.js';
import { changes, holderDetails, holderInputs, holderName, tipoLabel } from '../holder-form.js';
import { button, codeStep, field, form, notice, showError, values } from '../ui.js';
import { itemKind, management } from '../words.js';
import { newHolderForm, runSearch, searchForm } from './holders.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * What the new-transfer form has gathered so far.
 * @typedef {object} Draft
 * @property {{kind: 'mailbox' | 'domain', id: string, holder_id: string}[]} items
 * @property {{mode: 'keep'} | {mode: 'hand_over', username: string}} management
 * @property {any} newHolder the chosen or created profile
 */

const STEPS = ['Cosa serve', 'Elementi', 'Nuovo titolare', 'Dati del nuovo titolare', 'Riepilogo', 'Verifica'];

/**
 * The heading with "Passo n di 6" and the list of steps.
 * @param {Ctx} ctx
 * @param {number} n 1-based
 * @param {HTMLElement} messages
 * @param {...any} body
 */
function page(ctx, n, messages, ...body) {
  ctx.title(`Nuova richiesta: ${STEPS[n - 1]}`);
  show(
    ctx.main,
    h('h1', {}, 'Cambio titolare PEC: nuova richiesta'),
    h('ol', { class: 'stepper', 'aria-label': 'Passi della richiesta' },
      STEPS.map((s, i) => h('li', { class: i + 1 < n ? 'done' : i + 1 === n ? 'current' : '', 'aria-current': i + 1 === n ? 'step' : null }, s))),
    h('h2', { id: 'step-title' }, `Passo ${n} di ${STEPS.length}: ${STEPS[n - 1]}`),
    messages,
    ...body,
  );
  const heading = ctx.main.querySelector('#step-title');
  if (heading instanceof HTMLElement) focus(heading);
}

/** @param {Ctx} ctx */
export async function route(ctx) {
  /** @type {Draft} */
  const draft = { items: [], management: { mode: 'keep' }, newHolder: null };
  const preselected = [
    ...ctx.params.getAll('mailbox').map((id) => `mailbox:${id}`),
    ...ctx.params.getAll('domain').map((id) => `domain:${id}`),
  ];
  const messages = h('div', { class: 'messages' });
  page(
    ctx,
    1,
    messages,
    h('div', { class: 'card' },
      h('p', {}, 'Per cambiare il titolare di caselle PEC o domini certificati ti servono:'),
      h('ul', {},
        h('li', {}, 'le caselle o i domini da cedere, tra le PEC di altri titolari, tutti dello stesso attuale titolare;'),
        h('li', {}, 'il profilo del nuovo titolare, tra quelli che gestisci o da creare;'),
        h('li', {}, 'il tuo numero di cellulare, per ricevere il codice di verifica che conferma la richiesta.'),
      ),
      h('p', {}, "Dopo la conferma l'attuale e il nuovo titolare ricevono un'email con il link Gestisci richiesta e hanno 5 giorni per accettare; altrimenti la pratica viene annullata."),
    ),
    h('p', { class: 'actions' },
      button('Procedi', () => chooseItems(ctx, draft, preselected)),
      h('a', { href: '#/cambio?tutte=1', class: 'btn btn-secondary' }, 'Tutte le richieste'),
    ),
  );
}

/**
 * Seed 000 steps 5–6: the items, among "PEC di altri titolari", grouped by current holder.
 * @param {Ctx} ctx
 * @param {Draft} draft
 * @param {string[]} preselected `kind:id`
 */
async function chooseItems(ctx, draft, preselected) {
  const [mailboxes, domains] = await Promise.all([
    ctx.api('GET', '/v1/mailboxes?held_by_others=true&page_size=100'),
    ctx.api('GET', '/v1/domains?page_size=100'),
  ]);
  const all = [
    ...mailboxes.items.map((/** @type {any} */ m) => ({ kind: /** @type {const} */ ('mailbox'), id: m.address, holder_id: m.holder_id, status: m.status })),
    ...domains.items.map((/** @type {any} */ d) => ({ kind: /** @type {const} */ ('domain'), id: d.name, holder_id: d.holder_id, status: d.status })),
  ];
  const chosen = new Set(draft.items.length ? draft.items.map((i) => `${i.kind}:${i.id}`) : preselected);
  /** @type {Map<string, typeof all>} */
  const byHolder = new Map();
  for (const item of all) byHolder.set(item.holder_id, [...(byHolder.get(item.holder_id) ?? []), item]);
  const messages = h('div', { class: 'messages' });
  const itemsForm = form(
    async (f) => {
      const picked = new FormData(f).getAll('item').map(String);
      if (picked.length === 0) {
        show(messages, notice('error', 'Seleziona almeno una casella o un dominio.'));
        return;
      }
      draft.items = all.filter((i) => picked.includes(`${i.kind}:${i.id}`));
      await chooseHolder(ctx, draft);
    },
    {},
    all.length === 0 ? h('p', {}, 'Non ci sono PEC di altri titolari nel tuo account.') : null,
    [...byHolder.entries()].map(([holder, items]) =>
      h('fieldset', { class: 'card' },
        h('legend', {}, `Attuale titolare: Id ${holder}`),
        items.map((i) => {
          const id = `item-${i.kind}-${i.id}`;
          return h('div', { class: 'choice' },
            h('input', { type: 'checkbox', name: 'item', id, value: `${i.kind}:${i.id}`, checked: chosen.has(`${i.kind}:${i.id}`) }),
            h('label', { for: id }, `${itemKind(i.kind)} ${i.id}`, h('span', { class: 'muted' }, ` (${i.status})`)),
          );
        }),
      )),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      h('a', { href: '#/cambio', class: 'btn btn-secondary' }, 'Annulla'),
    ),
  );
  page(ctx, 2, messages, h('p', {}, 'Seleziona le PEC di altri titolari di cui vuoi cambiare il titolare (dello stesso attuale titolare).'), itemsForm);
}

/**
 * Seed 000 steps 7–8: "Assegna la titolarità" and the new holder, existing (search) or new.
 * @param {Ctx} ctx
 * @param {Draft} draft
 */
async function chooseHolder(ctx, draft) {
  const messages = h('div', { class: 'messages' });
  const handOver = draft.management.mode === 'hand_over';
  const usernameField = field({
    name: 'username',
    label: "Username dell'account che gestirà gli elementi",
    value: draft.management.mode === 'hand_over' ? draft.management.username : '',
    hint: 'Il nuovo titolare dovrà accedere con questo username per accettare.',
  });
  usernameField.hidden = !handOver;
  const results = h('div', {});
  const searchMessages = h('div', { class: 'messages' });
  /**
   * Page `n` of the search, each row with its "Scegli".
   * @param {Record<string, string>} criteria
   * @param {number} n
   * @returns {Promise<void>}
   */
  const searchPage = (criteria, n) => runSearch(ctx, criteria, n, results, searchMessages, (r) =>
    button('Scegli', async () => {
      if (!readManagement()) return;
      draft.newHolder = await ctx.api('GET', `/v1/holders/${encodeURIComponent(r.id)}`);
      await holderData(ctx, draft);
    }, { kind: 'secondary', name: `Scegli il titolare ${r.id}` }), (to) => searchPage(criteria, to));
  const search = searchForm({}, async (criteria) => {
    if (readManagement()) await searchPage(criteria, 1);
  });
  const existingPanel = h('div', {}, search, searchMessages, results);
  const newPanel = h('p', {}, button('Prosegui', () => {
    if (!readManagement()) return;
    draft.newHolder = null;
    return holderData(ctx, draft);
  }));
  newPanel.hidden = true;

  const assign = h('fieldset', { class: 'card' },
    h('legend', {}, 'Assegna la titolarità'),
    radio('management', 'keep', 'Profilo titolare che gestisci col tuo username', !handOver, 'Gli elementi restano collegati al tuo account: rinnovi, fatture e modifiche restano a te.'),
    radio('management', 'hand_over', 'Profilo titolare gestito da un altro account', handOver, "Gli elementi passano all'account indicato, che dovrà accedere per accettare."),
    usernameField,
  );
  const who = h('fieldset', { class: 'card' },
    h('legend', {}, 'Nuovo titolare'),
    radio('holder', 'existing', 'Scegli un profilo titolare esistente', true),
    radio('holder', 'new', 'Crea un nuovo profilo titolare', false),
  );
  assign.addEventListener('change', () => {
    usernameField.hidden = selected(assign, 'management') !== 'hand_over';
  });
  who.addEventListener('change', () => {
    const fresh = selected(who, 'holder') === 'new';
    existingPanel.hidden = fresh;
    newPanel.hidden = !fresh;
  });

  /** Reads the management choice into the draft; false if a username is missing. */
  function readManagement() {
    if (selected(assign, 'management') === 'hand_over') {
      const input = usernameField.querySelector('input');
      const username = input?.value.trim() ?? '';
      if (!username) {
        show(messages, notice('error', "Indica lo username dell'account che gestirà gli elementi."));
        input?.focus();
        return false;
      }
      draft.management = { mode: 'hand_over', username };
    } else {
      draft.management = { mode: 'keep' };
    }
    return true;
  }

  page(ctx, 3, messages, assign, who, existingPanel, newPanel,
    h('p', { class: 'actions' }, button('Indietro', () => chooseItems(ctx, draft, []), { kind: 'secondary' })));
}

/**
 * @param {string} name
 * @param {string} value
 * @param {string} label
 * @param {boolean} checked
 * @param {string} [hint]
 */
function radio(name, value, label, checked, hint) {
  const id = `${name}-${value}`;
  return h('div', { class: 'choice' },
    h('input', { type: 'radio', name, id, value, checked, 'aria-describedby': hint ? `${id}-hint` : null }),
    h('label', { for: id }, label),
    hint ? h('p', { class: 'hint', id: `${id}-hint` }, hint) : null,
  );
}

/**
 * @param {HTMLElement} scope
 * @param {string} name
 */
function selected(scope, name) {
  const input = scope.querySelector(`input[name="${name}"]:checked`);
  return input instanceof HTMLInputElement ? input.value : null;
}

/**
 * Seed 000 steps 9–10: the new holder's data, prefilled (editable fields correctable) or new.
 * @param {Ctx} ctx
 * @param {Draft} draft
 */
async function holderData(ctx, draft) {
  const messages = h('div', { class: 'messages' });
  const back = button('Indietro', () => chooseHolder(ctx, draft), { kind: 'secondary' });
  if (!draft.newHolder) {
    page(ctx, 4, messages, newHolderForm(async (fields, f) => {
      /** @param {boolean} allowDuplicate */
      const create = async (allowDuplicate) => {
        try {
          const body = allowDuplicate ? { ...fields, allow_duplicate: true } : fields;
          draft.newHolder = await ctx.api('POST', '/v1/holders', body);
          await summary(ctx, draft, 'Nuovo profilo titolare creato.');
        } catch (error) {
          showError(messages, error, f);
          const existing = error instanceof ApiError ? error.problem.existing_holder_id : undefined;
          if (existing) {
            // The API names the profile this one would repeat: use it, or say a second is meant.
            messages.append(h('p', { class: 'actions' },
              button(`Usa il titolare n. ${existing}`, async () => {
                draft.newHolder = await ctx.api('GET', `/v1/holders/${encodeURIComponent(existing)}`);
                await summary(ctx, draft);
              }),
              button('Crea comunque un secondo profilo', () => create(true), { kind: 'secondary' }),
            ));
          }
        }
      };
      await create(false);
    }, () => chooseHolder(ctx, draft)));
    return;
  }
  const holder = draft.newHolder;
  const dataForm = form(
    async (f) => {
      const patch = changes(f, holder);
      try {
        if (Object.keys(patch).length) {
          draft.newHolder = await ctx.api('PATCH', `/v1/holders/${encodeURIComponent(holder.id)}`, patch);
        }
        await summary(ctx, draft, Object.keys(patch).length ? 'Dati del titolare aggiornati.' : undefined);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card', 'aria-label': `Dati del titolare ${holder.id}` },
    h('p', {}, h('strong', {}, 'Id Titolare: '), holder.id, ' · ', h('strong', {}, 'Tipo Titolare: '), tipoLabel(holder.tipo)),
    holderInputs(holder.tipo, holder),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      back,
      button('Assegna a un altro titolare', () => {
        draft.newHolder = null;
        return holderData(ctx, draft);
      }, { kind: 'link' }),
    ),
  );
  page(ctx, 4, messages, h('p', {}, 'Controlla i dati del nuovo titolare: puoi correggere i campi modificabili.'), dataForm);
}

/**
 * Seed 000 step 11: the summary; "Prosegui" makes the draft.
 * @param {Ctx} ctx
 * @param {Draft} draft
 * @param {string} [news]
 */
async function summary(ctx, draft, news) {
  const messages = h('div', { class: 'messages' });
  const needsContact = !ctx.account.profile;
  const contact = needsContact
    ? h('fieldset', { class: 'card' },
        h('legend', {}, 'I tuoi recapiti'),
        field({ name: 'mobile', label: 'Il tuo numero di cellulare', type: 'tel', autocomplete: 'tel' }),
        field({ name: 'email', label: 'La tua email', type: 'email', autocomplete: 'email' }),
      )
    : null;
  const confirm = form(
    async (f) => {
      /** @type {Record<string, unknown>} */
      const body = {
        items: draft.items.map((i) => ({ kind: i.kind, id: i.id })),
        management: draft.management,
        new_holder_id: draft.newHolder.id,
      };
      if (needsContact) {
        const v = values(f);
        body.initiator = { mobile: v.mobile ?? '', email: v.email ?? '' };
      }
      try {
        const made = await ctx.api('POST', '/v1/transfers', body);
        ctx.replace(`#/cambio/nuovo${query({ richiesta: made.id })}`);
        verify(ctx, made);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    {},
    contact,
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      button('Indietro', () => holderData(ctx, draft), { kind: 'secondary' }),
    ),
  );
  page(
    ctx,
    5,
    messages,
    news ? notice('success', news) : null,
    h('section', { class: 'card', 'aria-labelledby': 'sum-items' },
      h('h3', { id: 'sum-items' }, 'Elementi'),
      h('ul', {}, draft.items.map((i) => h('li', {}, `${itemKind(i.kind)} ${i.id} (attuale titolare: Id ${i.holder_id})`))),
      h('h3', {}, 'Gestione'),
      h('p', {}, management(draft.management)),
      h('h3', {}, `Nuovo titolare: ${holderName(draft.newHolder)}`),
      holderDetails(draft.newHolder),
    ),
    confirm,
  );
}

/**
 * Seed 000 steps 12–15: the initiator's mobile, the code, and the wait for the holders.
 * @param {Ctx} ctx
 * @param {any} made the draft as the API answered
 */
function verify(ctx, made) {
  const messages = h('div', { class: 'messages' });
  const id = encodeURIComponent(made.id);
  page(
    ctx,
    6,
    messages,
    h('p', {}, `Richiesta n. ${made.id} creata. Conferma con il codice che ricevi per SMS: la richiesta parte solo dopo la verifica.`),
    codeStep({
      channel: 'sms',
      contact: made.initiator_mobile,
      send: (body) => ctx.api('POST', `/v1/transfers/${id}/codes`, body),
      verify: (body) => ctx.api('POST', `/v1/transfers/${id}/codes/verify`, body),
      status: () => ctx.api('GET', `/v1/transfers/${id}/codes`),
      done: () => {
        const done = notice(
          'success',
          "Richiesta confermata. È necessario attendere la risposta dell'attuale e del nuovo titolare per poter processare il cambio: entrambi hanno ricevuto un'email con il link Gestisci richiesta e hanno 5 giorni per rispondere.",
          [h('p', {}, h('a', { href: `#/cambio/${id}` }, `Vai alla richiesta n. ${made.id}`))],
        );
        show(ctx.main, h('h1', {}, 'Cambio titolare PEC: richiesta inviata'), done);
        focus(done);
      },
    }),
  );
}
