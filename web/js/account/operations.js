// "Esito Operazioni": the account's operations, newest first, page by page.

import { query } from '../api.js';
import { dateTime, h, show } from '../dom.js';
import { button } from '../ui.js';
import { table } from './items.js';

/** @typedef {import('./app.js').Ctx} Ctx */

/** @type {Record<string, string>} */
const KIND = {
  holder_created: 'Nuovo titolare',
  holder_updated: 'Modifica titolare',
  transfer_completed: 'Cambio titolare completato',
  transfer_rejected: 'Cambio titolare rifiutato',
  transfer_cancelled: 'Cambio titolare annullato',
  transfer_expired: 'Cambio titolare scaduto',
};

/** @type {(string | null)[]} */
const cursors = [null];

/** @param {Ctx} ctx */
export async function route(ctx) {
  ctx.title('Esito Operazioni');
  const wanted = Number(ctx.params.get('pagina') ?? '1') || 1;
  const n = wanted <= cursors.length ? wanted : 1;
  if (n === 1) cursors.length = 1;
  const answer = await ctx.api('GET', `/v1/operations${query({ page_size: 20, cursor: cursors[n - 1] })}`);
  if (answer.next_cursor) cursors[n] = answer.next_cursor;
  const items = /** @type {any[]} */ (answer.items);
  const turn = (/** @type {number} */ to) => ctx.go(`#/operazioni${query({ pagina: to > 1 ? to : null })}`);
  show(
    ctx.main,
    h('h1', {}, 'Esito Operazioni'),
    items.length === 0
      ? h('p', { role: 'status' }, 'Nessuna operazione.')
      : table(
          ['Data', 'Operazione', 'Esito', 'Oggetto', 'Dettaglio'],
          items.map((o) => [
            dateTime(o.at),
            KIND[o.kind] ?? o.kind,
            o.outcome === 'success' ? 'Operazione effettuata con successo' : 'Non riuscita',
            o.subject,
            o.detail,
          ]),
          'Operazioni',
        ),
    n > 1 || answer.next_cursor
      ? h('nav', { class: 'paging', 'aria-label': 'Pagine' },
          n > 1 ? button('Pagina precedente', () => turn(n - 1), { kind: 'secondary' }) : null,
          answer.next_cursor ? button('Pagina successiva', () => turn(n + 1), { kind: 'secondary' }) : null,
        )
      : null,
  );
}
