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
 * What the new-transfer form has gathered so far, kept in the tab's `sessionStorage` so each
 * step has its own address and survives Back, Forward and reload.
 * @typedef {object} Draft
 * @property {{kind: 'mailbox' | 'domain', id: string, holder_id: string, holder_name?: string}[]} items
 * @property {{mode: 'keep'} | {mode: 'hand_over', username: string}} management
 * @property {'existing' | 'new' | null} holderMode
 * @property {any} newHolder the chosen or created profile
 * @property {string} [news] said once on the next step
 * @property {string} [made] the request this draft became
 */

const STORED = 'titolare.nuova-richiesta';
const STEPS = ['Cosa serve', 'Elementi', 'Nuovo titolare', 'Dati del nuovo titolare', 'Riepilogo', 'Verifica'];
/** Each step's address after `#/cambio/nuovo` (step 1 has none). */
const PASSO = ['', 'elementi', 'titolare', 'dati', 'riepilogo'];

/** @returns {Draft} */
function fresh() {
  return { items: [], management: { mode: 'keep' }, holderMode: null, newHolder: null };
}

/** @returns {Draft} */
function load() {
  try {
    const stored = JSON.parse(sessionStorage.getItem(STORED) ?? 'null');
    if (stored && Array.isArray(stored.items)) return { ...fresh(), ...stored };
  } catch {
    // A damaged entry starts over.
  }
  return fresh();
}

/** @param {Draft} draft */
function save(draft) {
  sessionStorage.setItem(STORED, JSON.stringify(draft));
}

/** @param {number} n 1-based */
function stepHash(n) {
  return `#/cambio/nuovo${query({ passo: PASSO[n - 1] || null })}`;
}

/**
 * "Indietro" to step `n`: a link, so it is where the browser's Back goes too.
 * @param {number} n
 */
function back(n) {
  return h('a', { href: stepHash(n), class: 'btn btn-secondary' }, 'Indietro');
}

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

/**
 * The step the address names, or the first one whose choices are missing.
 * @param {Ctx} ctx
 */
export async function route(ctx) {
  const made = ctx.params.get('richiesta');
  if (made) return resume(ctx, made);
  let draft = load();
  // "Cambio Titolare" on a mailbox's or domain's page: a new draft with that item chosen.
  const preselected = [
    ...ctx.params.getAll('mailbox').map((id) => ({ kind: /** @type {const} */ ('mailbox'), id, holder_id: '' })),
    ...ctx.params.getAll('domain').map((id) => ({ kind: /** @type {const} */ ('domain'), id, holder_id: '' })),
  ];
  if (preselected.length) {
    draft = { ...fresh(), items: preselected };
    save(draft);
    if (!ctx.replace(stepHash(1))) return;
  }
  const asked = Math.max(1, PASSO.indexOf(ctx.params.get('passo') ?? '') + 1);
  // A request already made from this draft: its own page, not a second request.
  if (draft.made && asked > 1) {
    if (!ctx.replace(`#/cambio/nuovo${query({ richiesta: draft.made })}`)) return;
    return resume(ctx, draft.made);
  }
  const ready = [true, true, draft.items.length > 0, draft.holderMode !== null, Boolean(draft.newHolder)];
  let n = asked;
  while (n > 1 && !ready[n - 1]) n -= 1;
  if (n !== asked && !ctx.replace(stepHash(n))) return;
  const steps = [needs, chooseItems, chooseHolder, holderData, summary];
  return steps[n - 1](ctx, draft);
}

/**
 * Step 1: what is needed; "Procedi" keeps choices made earlier in this tab.
 * @param {Ctx} ctx
 * @param {Draft} draft
 */
async function needs(ctx, draft) {
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
      button('Procedi', () => {
        save(draft.made ? fresh() : draft);
        ctx.go(stepHash(2));
      }),
      h('a', { href: '#/cambio?tutte=1', class: 'btn btn-secondary' }, 'Tutte le richieste'),
    ),
  );
}

/**
 * Seed 000 steps 5–6: the items, among "PEC di altri titolari", grouped by current holder.
 * An item that cannot go in a request says why and cannot be ticked; once an item is ticked,
 * those of other holders wait (a request has one current holder).
 * @param {Ctx} ctx
 * @param {Draft} draft
 */
async function chooseItems(ctx, draft) {
  const [mailboxes, domains] = await Promise.all([
    ctx.api('GET', '/v1/mailboxes?held_by_others=true&for_transfer=true&page_size=100'),
    ctx.api('GET', '/v1/domains?for_transfer=true&page_size=100'),
  ]);
  /** @param {'mailbox' | 'domain'} kind @param {any} r @param {string} id */
  const row = (kind, r, id) => ({ kind, id, holder_id: String(r.holder_id), holder_name: r.holder_name ?? '', status: r.status, unavailable: r.unavailable?.text ?? null });
  const all = [
    ...mailboxes.items.map((/** @type {any} */ m) => row('mailbox', m, m.address)),
    ...domains.items.map((/** @type {any} */ d) => row('domain', d, d.name)),
  ];
  const chosen = new Set(draft.items.map((i) => `${i.kind}:${i.id}`));
  /** @type {Map<string, typeof all>} */
  const byHolder = new Map();
  for (const item of all) byHolder.set(item.holder_id, [...(byHolder.get(item.holder_id) ?? []), item]);
  const messages = h('div', { class: 'messages' });
  /** @param {HTMLFormElement} f */
  const picked = (f) => new FormData(f).getAll('item').map(String);
  const itemsForm = form(
    async (f) => {
      if (picked(f).length === 0) {
        show(messages, notice('error', 'Seleziona almeno una casella o un dominio.'));
        return;
      }
      save(draft);
      ctx.go(stepHash(3));
    },
    {},
    all.length === 0 ? h('p', {}, 'Non ci sono PEC di altri titolari nel tuo account.') : null,
    [...byHolder.entries()].map(([holder, items]) => {
      const name = items[0]?.holder_name;
      return h('fieldset', { class: 'card', 'data-holder': holder },
        h('legend', {}, `Attuale titolare: ${name ? `${name} (Id ${holder})` : `Id ${holder}`}`),
        h('p', { class: 'hint', id: `wait-${holder}`, hidden: true }, "Una richiesta riguarda un solo attuale titolare: togli la selezione dell'altro titolare per scegliere tra questi."),
        items.map((i) => {
          const id = `item-${i.kind}-${i.id}`;
          const why = i.unavailable ? h('span', { class: 'muted', id: `${id}-why` }, `: non selezionabile, ${i.unavailable}`) : h('span', { class: 'muted' }, ` (${i.status})`);
          return h('div', { class: 'choice' },
            h('input', {
              type: 'checkbox', name: 'item', id, value: `${i.kind}:${i.id}`,
              checked: !i.unavailable && chosen.has(`${i.kind}:${i.id}`),
              disabled: Boolean(i.unavailable),
              'data-unavailable': i.unavailable ? 'true' : null,
              'aria-describedby': i.unavailable ? `${id}-why` : null,
            }),
            h('label', { for: id }, `${itemKind(i.kind)} ${i.id}`, why),
          );
        }),
      );
    }),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      back(1),
    ),
  );
  // Each tick is kept at once (a reload keeps it) and decides which holder's items wait.
  const refresh = () => {
    const now = picked(itemsForm);
    draft.items = all.filter((i) => now.includes(`${i.kind}:${i.id}`)).map(({ kind, id, holder_id, holder_name }) => ({ kind, id, holder_id, holder_name }));
    const holder = draft.items[0]?.holder_id;
    for (const set of itemsForm.querySelectorAll('fieldset[data-holder]')) {
      const waits = holder !== undefined && set.getAttribute('data-holder') !== holder;
      const hint = set.querySelector('.hint');
      if (hint instanceof HTMLElement) hint.hidden = !waits;
      for (const box of set.querySelectorAll('input[type=checkbox]')) {
        if (box instanceof HTMLInputElement) box.disabled = box.hasAttribute('data-unavailable') || waits;
      }
    }
    save(draft);
  };
  itemsForm.addEventListener('change', refresh);
  page(ctx, 2, messages, h('p', {}, 'Seleziona le PEC di altri titolari di cui vuoi cambiare il titolare (dello stesso attuale titolare).'), itemsForm);
  refresh();
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
      if (!(await readManagement())) return;
      draft.newHolder = await ctx.api('GET', `/v1/holders/${encodeURIComponent(r.id)}`);
      draft.holderMode = 'existing';
      save(draft);
      ctx.go(stepHash(4));
    }, { kind: 'secondary', name: `Scegli il titolare ${r.id}` }), (to) => searchPage(criteria, to));
  const search = searchForm({}, async (criteria) => {
    if (await readManagement()) await searchPage(criteria, 1);
  });
  const creating = draft.holderMode === 'new';
  const existingPanel = h('div', {}, search, searchMessages, results);
  const newPanel = h('p', {}, button('Prosegui', async () => {
    if (!(await readManagement())) return;
    draft.newHolder = null;
    draft.holderMode = 'new';
    save(draft);
    ctx.go(stepHash(4));
  }));
  existingPanel.hidden = creating;
  newPanel.hidden = !creating;

  const assign = h('fieldset', { class: 'card' },
    h('legend', {}, 'Assegna la titolarità'),
    radio('management', 'keep', 'Profilo titolare che gestisci col tuo username', !handOver, 'Gli elementi restano collegati al tuo account: rinnovi, fatture e modifiche restano a te.'),
    radio('management', 'hand_over', 'Profilo titolare gestito da un altro account', handOver, "Gli elementi passano all'account indicato, che dovrà accedere per accettare."),
    usernameField,
  );
  const who = h('fieldset', { class: 'card' },
    h('legend', {}, 'Nuovo titolare'),
    radio('holder', 'existing', 'Scegli un profilo titolare esistente', !creating),
    radio('holder', 'new', 'Crea un nuovo profilo titolare', creating),
  );
  assign.addEventListener('change', () => {
    usernameField.hidden = selected(assign, 'management') !== 'hand_over';
  });
  who.addEventListener('change', () => {
    const fresh = selected(who, 'holder') === 'new';
    existingPanel.hidden = fresh;
    newPanel.hidden = !fresh;
  });

  /**
   * Reads the management choice into the draft, checked by the API as the request will check
   * it (a username well formed and not this account's); false, with the reason beside the
   * field, if it would be refused.
   * @returns {Promise<boolean>}
   */
  async function readManagement() {
    show(messages);
    if (selected(assign, 'management') !== 'hand_over') {
      draft.management = { mode: 'keep' };
      return true;
    }
    const input = usernameField.querySelector('input');
    const username = input?.value.trim() ?? '';
    if (!username) {
      show(messages, notice('error', "Indica lo username dell'account che gestirà gli elementi."));
      input?.focus();
      return false;
    }
    try {
      draft.management = await ctx.api('POST', '/v1/management/check', { mode: 'hand_over', username });
      return true;
    } catch (error) {
      showError(messages, error, assign);
      input?.focus();
      return false;
    }
  }

  page(ctx, 3, messages, assign, who, existingPanel, newPanel, h('p', { class: 'actions' }, back(2)));
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
  /** @param {any} holder @param {string} [news] */
  const next = (holder, news) => {
    draft.newHolder = holder;
    draft.holderMode = 'existing';
    draft.news = news;
    save(draft);
    ctx.go(stepHash(5));
  };
  if (!draft.newHolder) {
    page(ctx, 4, messages, newHolderForm(async (fields, f) => {
      /** @param {boolean} allowDuplicate */
      const create = async (allowDuplicate) => {
        try {
          const body = allowDuplicate ? { ...fields, allow_duplicate: true } : fields;
          next(await ctx.api('POST', '/v1/holders', body), 'Nuovo profilo titolare creato.');
        } catch (error) {
          showError(messages, error, f);
          const existing = error instanceof ApiError ? error.problem.existing_holder_id : undefined;
          if (existing) {
            // The API names the profile this one would repeat: use it, or say a second is meant.
            messages.append(h('p', { class: 'actions' },
              button(`Usa il titolare n. ${existing}`, async () => {
                next(await ctx.api('GET', `/v1/holders/${encodeURIComponent(existing)}`));
              }),
              button('Crea comunque un secondo profilo', () => create(true), { kind: 'secondary' }),
            ));
          }
        }
      };
      await create(false);
    }, () => ctx.go(stepHash(3))));
    return;
  }
  const holder = draft.newHolder;
  const dataForm = form(
    async (f) => {
      const patch = changes(f, holder);
      try {
        if (Object.keys(patch).length) {
          next(await ctx.api('PATCH', `/v1/holders/${encodeURIComponent(holder.id)}`, patch), 'Dati del titolare aggiornati.');
        } else {
          next(holder);
        }
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card', 'aria-label': `Dati del titolare ${holder.id}` },
    h('p', {}, h('strong', {}, 'Id Titolare: '), holder.id, ' · ', h('strong', {}, 'Tipo Titolare: '), tipoLabel(holder.tipo)),
    holderInputs(holder.tipo, holder),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      back(3),
      button('Assegna a un altro titolare', () => {
        draft.newHolder = null;
        draft.holderMode = null;
        save(draft);
        ctx.go(stepHash(3));
      }, { kind: 'link' }),
    ),
  );
  page(ctx, 4, messages, h('p', {}, 'Controlla i dati del nuovo titolare: puoi correggere i campi modificabili.'), dataForm);
}

/**
 * Seed 000 step 11: the summary; "Prosegui" makes the draft.
 * @param {Ctx} ctx
 * @param {Draft} draft
 */
async function summary(ctx, draft) {
  const messages = h('div', { class: 'messages' });
  const news = draft.news;
  if (news) {
    draft.news = undefined;
    save(draft);
  }
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
        // Back and reload from here on lead to this request, never to a second one.
        draft.made = String(made.id);
        save(draft);
        ctx.go(`#/cambio/nuovo${query({ richiesta: made.id })}`);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    {},
    contact,
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
      back(4),
    ),
  );
  page(
    ctx,
    5,
    messages,
    news ? notice('success', news) : null,
    h('section', { class: 'card', 'aria-labelledby': 'sum-items' },
      h('h3', { id: 'sum-items' }, 'Elementi'),
      h('ul', {}, draft.items.map((i) => h('li', {}, `${itemKind(i.kind)} ${i.id} (attuale titolare: ${i.holder_name ? `${i.holder_name}, Id ${i.holder_id}` : `Id ${i.holder_id}`})`))),
      h('h3', {}, 'Gestione'),
      h('p', {}, management(draft.management)),
      h('h3', {}, `Nuovo titolare: ${holderName(draft.newHolder)}`),
      holderDetails(draft.newHolder),
    ),
    confirm,
  );
}

/**
 * A request made by the wizard, by its address: a draft still waits for the initiator's
 * code (step 6), a confirmed one says it was sent, an ended one is shown on its own page.
 * @param {Ctx} ctx
 * @param {string} id
 */
async function resume(ctx, id) {
  const t = await ctx.api('GET', `/v1/transfers/${encodeURIComponent(id)}`);
  if (t.status === 'draft') return verify(ctx, t);
  if (t.status === 'open') return sent(ctx, t);
  // Ended: its own page, in place of this address (a hashchange draws it).
  location.replace(`#/cambio/${encodeURIComponent(t.id)}`);
}

/**
 * "Richiesta inviata": the holders have their invitations.
 * @param {Ctx} ctx
 * @param {any} t
 */
function sent(ctx, t) {
  ctx.title(`Richiesta n. ${t.id} inviata`);
  const done = notice(
    'success',
    "Richiesta confermata. È necessario attendere la risposta dell'attuale e del nuovo titolare per poter processare il cambio: entrambi hanno ricevuto un'email con il link Gestisci richiesta e hanno 5 giorni per rispondere.",
    [h('p', {}, h('a', { href: `#/cambio/${encodeURIComponent(t.id)}` }, `Vai alla richiesta n. ${t.id}`))],
  );
  show(ctx.main, h('h1', {}, 'Cambio titolare PEC: richiesta inviata'), done);
  focus(done);
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
      done: () => sent(ctx, made),
    }),
  );
}
