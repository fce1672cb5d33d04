// "Esito Operazioni": the account's operations, newest first, page by page.

import { dateTime, h, show } from '../dom.js';
import { listPage } from './items.js';
import { table } from './lists.js';

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

/** @param {Ctx} ctx */
export async function route(ctx) {
  ctx.title('Esito Operazioni');
  const { items, paging } = await listPage(ctx, '/v1/operations', {}, '#/operazioni');
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
    paging,
  );
}
