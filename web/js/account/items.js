// "Le tue email" and "I tuoi Domini": lists (filter "PEC di altri titolari"), the detail with
// the customer area's fields, and its "Cambio Titolare" action.

import { query } from '../api.js';
import { date, dateTime, h, show } from '../dom.js';
import { field, form, values } from '../ui.js';
import { pageOf, pagingNav, table } from './lists.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/**
 * One page of a listing (`{items, next_cursor}`) with its paging controls.
 * @param {Ctx} ctx
 * @param {string} base e.g. '/v1/mailboxes'
 * @param {Record<string, string | null>} filter
 * @param {string} hash the listing's own address, for paging
 */
export async function listPage(ctx, base, filter, hash) {
  const page = pageOf(base + JSON.stringify(filter), Number(ctx.params.get('pagina') ?? '1'));
  const answer = await ctx.api('GET', `${base}${query({ ...filter, cursor: page.cursor })}`);
  page.seen(answer.next_cursor);
  const turn = (/** @type {number} */ to) => ctx.go(`${hash}${query({ ...filter, pagina: to > 1 ? to : null })}`);
  return { items: /** @type {any[]} */ (answer.items), paging: pagingNav(page.n, Boolean(answer.next_cursor), turn) };
}

/**
 * The holder as a list shows it: the name the API gives beside the id.
 * @param {string} id
 * @param {string | null | undefined} [name]
 */
function holderLink(id, name) {
  return h('a', { href: `#/titolari/${encodeURIComponent(id)}` }, name ? `${name} (${id})` : id);
}

/**
 * The filters of a listing, kept in its address: a prefix of the address or name, a holder
 * id, and "di altri titolari".
 * @param {Ctx} ctx
 * @param {string} hash
 * @param {{ name: string, label: string }} prefix
 * @returns {{ filter: Record<string, string | null>, bar: HTMLElement }}
 */
function filterBar(ctx, hash, prefix) {
  const given = (/** @type {string} */ name) => ctx.params.get(name) || null;
  const filter = {
    [prefix.name]: given(prefix.name),
    holder_id: given('holder_id'),
    held_by_others: ctx.params.get('held_by_others') === 'true' ? 'true' : null,
  };
  const others = h('input', { type: 'checkbox', name: 'held_by_others', value: 'true', id: `${prefix.name}-others`, checked: Boolean(filter.held_by_others) });
  const bar = form(
    async (f) => {
      const v = values(f);
      ctx.go(`${hash}${query({ [prefix.name]: v[prefix.name] || null, holder_id: v.holder_id || null, held_by_others: v.held_by_others ? 'true' : null })}`);
    },
    { class: 'card filter', role: 'search', 'aria-label': 'Filtra l\'elenco' },
    field({ name: prefix.name, label: prefix.label, value: filter[prefix.name] ?? '' }),
    field({ name: 'holder_id', label: 'ID titolare', value: filter.holder_id ?? '', inputmode: 'numeric' }),
    h('div', { class: 'choice' }, others, h('label', { for: `${prefix.name}-others` }, 'PEC di altri titolari')),
    h('p', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Cerca')),
  );
  return { filter, bar };
}

/** @param {Ctx} ctx */
export async function mailboxRoute(ctx) {
  const address = ctx.path[1];
  if (address) return mailboxDetail(ctx, address);
  ctx.title('Le tue email');
  const { filter, bar } = filterBar(ctx, '#/email', { name: 'address', label: 'Indirizzo che inizia con' });
  const { items, paging } = await listPage(ctx, '/v1/mailboxes', filter, '#/email');
  show(
    ctx.main,
    h('h1', {}, 'Le tue email'),
    bar,
    items.length === 0
      ? h('p', { role: 'status' }, 'Nessuna casella.')
      : table(
          ['Email', 'Titolare', 'Stato', 'Tipologia', 'Data Finecompetenze', h('span', { class: 'visually-hidden' }, 'Azioni')],
          items.map((m) => [
            h('a', { href: `#/email/${encodeURIComponent(m.address)}` }, m.address),
            holderLink(m.holder_id, m.holder_name),
            m.status,
            m.kind,
            date(m.end_of_service),
            h('a', { href: `#/email/${encodeURIComponent(m.address)}`, class: 'lens' }, 'Dettaglio', h('span', { class: 'visually-hidden' }, ` di ${m.address}`)),
          ]),
          'Caselle PEC',
        ),
    paging,
  );
}

/**
 * @param {[string, any][]} rows
 */
function details(rows) {
  return h('dl', { class: 'details' }, rows.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null || v === undefined || v === '' ? '—' : v)]));
}

/**
 * @param {Ctx} ctx
 * @param {string} address
 */
async function mailboxDetail(ctx, address) {
  const m = await ctx.api('GET', `/v1/mailboxes/${encodeURIComponent(address)}`);
  ctx.title(`Dettaglio ${m.address}`);
  const history = /** @type {any[]} */ (m.access_history ?? []);
  show(
    ctx.main,
    h('h1', {}, 'Dettaglio casella'),
    m.password_reset_required
      ? h('p', { class: 'notice notice-info' }, 'Il nuovo titolare deve impostare la password con il link ricevuto via email.')
      : null,
    h('section', { class: 'card', 'aria-labelledby': 'dati-email' },
      h('h2', { id: 'dati-email' }, 'Dati Email'),
      details([
        ['Titolare', holderLink(m.holder_id, m.holder_name)],
        ['Email', m.address],
        ['Stato', m.status],
        ['Data Finecompetenze', date(m.end_of_service)],
        ['Tipologia', `Email ${m.kind}`],
        ['Spazio Inbox', `${m.inbox_gb ?? 0}Gb base+${m.inbox_extra_gb ?? 0}Gb extra`],
        ['Spazio Archivio', m.archive_gb ? `${m.archive_gb}Gb` : '---'],
        ['Cliente Finale', m.cliente_finale ? 'SI' : 'NO'],
      ]),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'dettaglio' },
      h('h2', { id: 'dettaglio' }, 'Dettaglio'),
      details([
        ['Data Richiesta', date(m.requested_on)],
        ['Data Certificazione', date(m.certified_on)],
        ['Data Disdetta', m.cancelled_on ? date(m.cancelled_on) : ''],
        ['Tipo Rinnovo', m.renewal],
        ['Durata', m.duration],
        ['Regole e filtri', (m.rules ?? []).join(', ')],
      ]),
    ),
    h('section', { class: 'card', 'aria-labelledby': 'accessi' },
      h('h2', { id: 'accessi' }, 'Storico accessi'),
      history.length
        ? table(['Data', 'Indirizzo IP', 'Client'], history.map((a) => [dateTime(a.at), a.ip, a.client]), 'Storico accessi')
        : h('p', {}, 'Nessun accesso registrato.'),
    ),
    h('p', { class: 'actions' },
      h('a', { href: '#/email', class: 'btn btn-secondary' }, 'Indietro'),
      h('a', { href: `#/cambio/nuovo?mailbox=${encodeURIComponent(m.address)}`, class: 'btn btn-primary' }, 'Cambio Titolare'),
    ),
  );
}

/** @param {Ctx} ctx */
export async function domainRoute(ctx) {
  const name = ctx.path[1];
  if (name) return domainDetail(ctx, name);
  ctx.title('I tuoi Domini');
  const { filter, bar } = filterBar(ctx, '#/domini', { name: 'name', label: 'Nome che inizia con' });
  const { items, paging } = await listPage(ctx, '/v1/domains', filter, '#/domini');
  show(
    ctx.main,
    h('h1', {}, 'I tuoi Domini'),
    bar,
    items.length === 0
      ? h('p', { role: 'status' }, 'Nessun dominio certificato.')
      : table(
          ['Dominio', 'Titolare', 'Stato', 'Data Finecompetenze', h('span', { class: 'visually-hidden' }, 'Azioni')],
          items.map((d) => [
            h('a', { href: `#/domini/${encodeURIComponent(d.name)}` }, d.name),
            holderLink(d.holder_id, d.holder_name),
            d.status,
            date(d.end_of_service),
            h('a', { href: `#/domini/${encodeURIComponent(d.name)}`, class: 'lens' }, 'Dettaglio', h('span', { class: 'visually-hidden' }, ` di ${d.name}`)),
          ]),
          'Domini certificati',
        ),
    paging,
  );
}

/**
 * @param {Ctx} ctx
 * @param {string} name
 */
async function domainDetail(ctx, name) {
  const d = await ctx.api('GET', `/v1/domains/${encodeURIComponent(name)}`);
  ctx.title(`Dettaglio ${d.name}`);
  show(
    ctx.main,
    h('h1', {}, 'Dettaglio dominio'),
    h('section', { class: 'card', 'aria-labelledby': 'dati-dominio' },
      h('h2', { id: 'dati-dominio' }, 'Dati Dominio'),
      details([
        ['Titolare', holderLink(d.holder_id, d.holder_name)],
        ['Dominio', d.name],
        ['Stato', d.status],
        ['Data Registrazione', date(d.registered_on)],
        ['Data Finecompetenze', date(d.end_of_service)],
      ]),
    ),
    h('p', { class: 'actions' },
      h('a', { href: '#/domini', class: 'btn btn-secondary' }, 'Indietro'),
      h('a', { href: `#/cambio/nuovo?domain=${encodeURIComponent(d.name)}`, class: 'btn btn-primary' }, 'Cambio Titolare'),
    ),
  );
}
