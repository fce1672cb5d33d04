// What every listing shares: a scrollable table with its headers, and paging by the API's
// cursors ("Pagina precedente", "Pagina successiva").

import { h } from '../dom.js';
import { button } from '../ui.js';

/**
 * A table in a region that scrolls sideways on a narrow screen.
 * @param {(string | Node)[]} headings
 * @param {import('../dom.js').Children[][]} rows
 * @param {string} label
 */
export function table(headings, rows, label) {
  return h(
    'div',
    // Named apart from the section around it, which often bears the same title.
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-label': `Tabella: ${label}` },
    h('table', {},
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((c) => h('td', {}, c))))),
    ),
  );
}

/** The cursors of the pages seen so far, per listing: page n starts at cursors[n - 1]. */
/** @type {Map<string, (string | null)[]>} */
const cursors = new Map();

/**
 * Where page `wanted` of the listing `key` starts; an unknown page is the first again (an
 * address kept from an earlier visit). `seen` records where the next page starts.
 * @param {string} key
 * @param {number} wanted 1-based
 */
export function pageOf(key, wanted) {
  const known = cursors.get(key) ?? [null];
  cursors.set(key, known);
  const n = wanted >= 1 && wanted <= known.length ? wanted : 1;
  return {
    n,
    cursor: known[n - 1],
    /** @param {string | null | undefined} next the answer's `next_cursor` */
    seen: (next) => {
      if (next) known[n] = next;
    },
  };
}

/**
 * The paging controls of page `n`, or null when there is one page.
 * @param {number} n
 * @param {boolean} hasNext
 * @param {(page: number) => void} turn
 */
export function pagingNav(n, hasNext, turn) {
  if (n <= 1 && !hasNext) return null;
  return h('nav', { class: 'paging', 'aria-label': 'Pagine' },
    n > 1 ? button('Pagina precedente', () => turn(n - 1), { kind: 'secondary' }) : null,
    hasNext ? button('Pagina successiva', () => turn(n + 1), { kind: 'secondary' }) : null,
  );
}
