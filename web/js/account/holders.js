// "I tuoi titolari": the search of the customer area (nine criteria, 20 rows a page, "righe 1 - N di M"),
// the detail, the change of a profile with its editable fields in yellow, and a new profile.

import { ApiError, query } from '../api.js';
import { h, show, focus } from '../dom.js';
import { LABELS, changes, holderDetails, holderInputs, tipoChoices, tipoLabel } from '../holder-form.js';
import { button, field, form, notice, select, showError, values } from '../ui.js';
import { pageOf, pagingNav, table } from './lists.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** The criteria of the customer area's "Parametri di ricerca", in its order and words. */
export const CRITERIA = [
  ['id', 'Id Titolare'],
  ['mailbox', 'Titolare della casella'],
  ['codice_fiscale', 'Codice Fiscale'],
  ['codice_fiscale_azienda', 'Codice Fiscale Azienda'],
  ['cognome', 'Cognome'],
  ['nome', 'Nome'],
  ['ragione_sociale', 'Ragione Sociale Azienda'],
  ['partita_iva', 'Partita Iva Azienda'],
  ['tipo', 'Tipo Titolare'],
];
const PAGE_SIZE = 20;

/** @param {Ctx} ctx */
export async function route(ctx) {
  const [, id, action] = ctx.path;
  if (id === 'nuovo') return create(ctx);
  if (id && action === 'modifica') return edit(ctx, id);
  if (id) return detail(ctx, id);
  return search(ctx);
}

/**
 * The search form; `onSearch` gets the criteria filled in.
 * @param {Record<string, string>} initial
 * @param {(criteria: Record<string, string>) => void | Promise<void>} onSearch
 */
export function searchForm(initial, onSearch) {
  return form(
    async (f) => onSearch(values(f)),
    { class: 'card search', 'aria-labelledby': 'search-title' },
    h('h2', { id: 'search-title' }, 'Parametri di ricerca'),
    h('p', { class: 'hint' }, 'Inserisci almeno un campo per cercare tra i titolari già censiti.'),
    h(
      'div',
      { class: 'grid' },
      CRITERIA.map(([name, label]) =>
        name === 'tipo'
          ? select({ name, label, options: [['', '…'], ...tipoChoices()], value: initial[name] ?? '' })
          : field({ name, label, value: initial[name] ?? '', type: name === 'mailbox' ? 'email' : 'text' }),
      ),
    ),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Cerca'),
  );
}

/**
 * Runs page `pageNumber` of a search and draws it into `target`: "righe 1 - N di M", the rows
 * with `action` first, and the paging; `turn` goes to another page.
 * @param {Ctx} ctx
 * @param {Record<string, string>} criteria
 * @param {number} pageNumber
 * @param {HTMLElement} target
 * @param {HTMLElement} messages
 * @param {(holder: any) => Node} action
 * @param {(page: number) => void} turn
 */
export async function runSearch(ctx, criteria, pageNumber, target, messages, action, turn) {
  const page = pageOf(`holders${JSON.stringify(criteria)}`, pageNumber);
  let answer;
  try {
    answer = await ctx.api('GET', `/v1/holders${query({ ...criteria, page_size: PAGE_SIZE, cursor: page.cursor })}`);
  } catch (error) {
    show(target);
    // A wrong criterion is said beside its field of the search form, too.
    const searchedWith = ctx.main.querySelector('form.search');
    showError(messages, error, searchedWith instanceof HTMLElement ? searchedWith : undefined);
    return;
  }
  page.seen(answer.next_cursor);
  const items = /** @type {any[]} */ (answer.items);
  const first = (page.n - 1) * PAGE_SIZE + 1;
  show(messages);
  show(
    target,
    h('section', { class: 'results', 'aria-labelledby': 'results-title' },
      h('h2', { id: 'results-title' }, 'Risultati'),
      h('p', { role: 'status', class: 'rows' },
        answer.total === 0 ? 'Nessun titolare trovato.' : `righe: ${first} - ${first + items.length - 1} di ${answer.total}`,
        answer.total ? h('span', { class: 'per-page' }, `righe per pagina ${PAGE_SIZE}`) : null),
      items.length
        ? table(
            [h('span', { class: 'visually-hidden' }, 'Azioni'), 'Id Titolare', 'Nome', 'Cognome', 'Ragione Sociale', 'Codice Fiscale', 'Partita Iva', 'Tipo', 'Comune'],
            items.map((r) => [
              action(r),
              r.id,
              r.nome ?? '',
              r.cognome ?? '',
              r.ragione_sociale ?? '',
              r.codice_fiscale ?? r.codice_fiscale_azienda ?? '',
              r.partita_iva ?? '',
              tipoLabel(r.tipo),
              [r.comune, r.provincia && `(${r.provincia})`].filter(Boolean).join(' '),
            ]),
            'Risultati',
          )
        : null,
      pagingNav(page.n, Boolean(answer.next_cursor), turn),
    ),
  );
}

/** @param {Ctx} ctx */
async function search(ctx) {
  ctx.title('I tuoi titolari');
  /** @type {Record<string, string>} */
  const criteria = {};
  for (const [name] of CRITERIA) {
    const value = ctx.params.get(name);
    if (value) criteria[name] = value;
  }
  const pageNumber = Number(ctx.params.get('pagina') ?? '1') || 1;
  const messages = h('div', { class: 'messages' });
  const results = h('div', {});
  /**
   * @param {Record<string, string>} wanted
   * @param {number} n
   */
  const run = (wanted, n) => runSearch(
    ctx,
    wanted,
    n,
    results,
    messages,
    (r) => h('a', { href: `#/titolari/${encodeURIComponent(r.id)}`, class: 'lens' }, 'Dettaglio', h('span', { class: 'visually-hidden' }, ` del titolare ${r.id}`)),
    (page) => ctx.go(`#/titolari${query({ ...wanted, pagina: page > 1 ? page : null })}`),
  );
  show(
    ctx.main,
    h('h1', {}, 'I tuoi titolari'),
    h('p', {}, h('a', { href: '#/titolari/nuovo', class: 'btn btn-secondary' }, 'Nuovo titolare')),
    searchForm(criteria, async (next) => {
      const hash = `#/titolari${query(next)}`;
      // The same address fires no navigation: search here (with no criterion the API says why).
      if (hash === location.hash || (hash === '#/titolari' && !location.hash.includes('?'))) await run(next, 1);
      else ctx.go(hash);
    }),
    messages,
    results,
  );
  if (Object.keys(criteria).length === 0) return;
  await run(criteria, pageNumber);
}

/**
 * @param {Ctx} ctx
 * @param {string} id
 * @param {string} [news] a message to show first (after a change)
 */
async function detail(ctx, id, news) {
  const holder = await ctx.api('GET', `/v1/holders/${encodeURIComponent(id)}`);
  ctx.title(`Dettaglio Titolare ${holder.id}`);
  show(
    ctx.main,
    h('h1', {}, 'Dettaglio Titolare'),
    news ? notice('success', news) : null,
    h('section', { class: 'card' }, holderDetails(holder)),
    h('p', { class: 'actions' },
      h('a', { href: `#/titolari/${encodeURIComponent(holder.id)}/modifica`, class: 'btn btn-primary' }, 'Modifica'),
      h('a', { href: '#/titolari', class: 'btn btn-secondary' }, 'Indietro'),
    ),
  );
}

/**
 * @param {Ctx} ctx
 * @param {string} id
 */
async function edit(ctx, id) {
  const holder = await ctx.api('GET', `/v1/holders/${encodeURIComponent(id)}`);
  ctx.title(`Modifica Titolare ${holder.id}`);
  const messages = h('div', { class: 'messages' });
  const editForm = form(
    async (f) => {
      const patch = changes(f, holder);
      if (Object.keys(patch).length === 0) {
        show(messages, notice('info', 'Nessun campo modificato.'));
        return;
      }
      try {
        await ctx.api('PATCH', `/v1/holders/${encodeURIComponent(holder.id)}`, patch);
        await detail(ctx, holder.id, 'Operazione effettuata con successo');
        ctx.replace(`#/titolari/${encodeURIComponent(holder.id)}`);
      } catch (error) {
        showError(messages, error, f);
      }
    },
    { class: 'card', 'aria-labelledby': 'edit-title' },
    h('p', {}, h('strong', {}, `${LABELS.id}: `), holder.id, ' · ', h('strong', {}, `${LABELS.tipo}: `), tipoLabel(holder.tipo)),
    holderInputs(holder.tipo, holder),
    h('p', { class: 'actions' },
      h('button', { type: 'submit', class: 'btn btn-primary' }, 'Conferma'),
      h('a', { href: `#/titolari/${encodeURIComponent(holder.id)}`, class: 'btn btn-secondary' }, 'Annulla'),
    ),
  );
  show(ctx.main, h('h1', { id: 'edit-title' }, 'Modifica Titolare'), messages, editForm);
}

/**
 * The form of a new profile: tipo first, then the fields of that tipo.
 * @param {(fields: Record<string, string>, f: HTMLFormElement) => Promise<void>} onConfirm
 * @param {() => void} onCancel
 * @returns {HTMLElement}
 */
export function newHolderForm(onConfirm, onCancel) {
  const host = h('div', {});
  const chooseTipo = form(
    async (f) => {
      const tipo = /** @type {import('../holder-form.js').Tipo} */ (values(f).tipo ?? 'privato');
      const fillForm = form(
        async (g) => onConfirm({ tipo, ...values(g) }, g),
        { class: 'card', 'aria-label': `Nuovo titolare: ${tipoLabel(tipo)}` },
        h('p', {}, h('strong', {}, `${LABELS.tipo}: `), tipoLabel(tipo), ' ', button('Cambia tipo', () => show(host, chooseTipo), { kind: 'link' })),
        holderInputs(tipo, null),
        h('p', { class: 'actions' },
          h('button', { type: 'submit', class: 'btn btn-primary' }, 'Conferma'),
          button('Annulla', onCancel, { kind: 'secondary' }),
        ),
      );
      show(host, fillForm);
      const first = fillForm.querySelector('input:not([readonly])');
      if (first instanceof HTMLElement) focus(first);
    },
    { class: 'card narrow' },
    select({ name: 'tipo', label: LABELS.tipo, options: tipoChoices(), value: 'privato' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Prosegui'),
  );
  show(host, chooseTipo);
  return host;
}

/** @param {Ctx} ctx */
async function create(ctx) {
  ctx.title('Nuovo titolare');
  const messages = h('div', { class: 'messages' });
  show(
    ctx.main,
    h('h1', {}, 'Nuovo titolare'),
    messages,
    newHolderForm(
      async (fields, f) => {
        /** @param {boolean} allowDuplicate */
        const send = async (allowDuplicate) => {
          try {
            const body = allowDuplicate ? { ...fields, allow_duplicate: true } : fields;
            const created = await ctx.api('POST', '/v1/holders', body);
            ctx.replace(`#/titolari/${encodeURIComponent(created.id)}`);
            await detail(ctx, created.id, 'Operazione effettuata con successo');
          } catch (error) {
            showError(messages, error, f);
            const existing = error instanceof ApiError ? error.problem.existing_holder_id : undefined;
            if (existing) {
              // The API names the profile this one would repeat: open it, or say it is meant.
              messages.append(h('p', { class: 'actions' },
                h('a', { href: `#/titolari/${encodeURIComponent(existing)}`, class: 'btn btn-primary' }, `Apri il titolare n. ${existing}`),
                button('Crea comunque un secondo profilo', () => send(true), { kind: 'secondary' }),
              ));
            }
          }
        };
        await send(false);
      },
      () => ctx.go('#/titolari'),
    ),
  );
}
