// Building and formatting DOM without innerHTML: every text a page shows goes in as text.

/** @typedef {string | number | Node | null | undefined | false} Child */
/** @typedef {Child | Children[]} Children */
/** @typedef {Record<string, string | number | boolean | null | undefined | ((event: any) => void)>} Attrs */

/**
 * An element with attributes (`on…` are listeners; `true` is a bare attribute, `false`/null
 * leave it out) and children (strings become text nodes).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...Children} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Node} parent
 * @param {Children[]} children
 */
export function append(parent, children) {
  for (const child of /** @type {Child[]} */ (/** @type {unknown[]} */ (children).flat(Infinity))) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces what `parent` shows.
 * @param {Element} parent
 * @param {...Children} children
 */
export function show(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * The element with `id`, which the page's HTML must have.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} missing from the page`);
  return element;
}

const romeDate = new Intl.DateTimeFormat('it-IT', {
  timeZone: 'Europe/Rome',
  day: '2-digit',
  month: '2-digit',
  year: 'numeric',
});
const romeTime = new Intl.DateTimeFormat('it-IT', {
  timeZone: 'Europe/Rome',
  hour: '2-digit',
  minute: '2-digit',
});

/**
 * A moment as Italians read it, and as the emails write it: "28/11/2026 alle 09:00 (ora
 * italiana)".
 * @param {string | null | undefined} iso
 */
export function dateTime(iso) {
  if (!iso) return '—';
  const at = new Date(iso);
  return `${romeDate.format(at)} alle ${romeTime.format(at)} (ora italiana)`;
}

/**
 * A civil date ("2013-06-30") as "30/06/2013".
 * @param {string | null | undefined} isoDate
 */
export function date(isoDate) {
  if (!isoDate) return '—';
  const [y, m, d] = isoDate.split('-');
  return d && m && y ? `${d}/${m}/${y}` : romeDate.format(new Date(isoDate));
}

/**
 * Moves the reader's focus (and a screen reader) to what just appeared.
 * @param {HTMLElement} element
 */
export function focus(element) {
  if (!element.hasAttribute('tabindex')) element.setAttribute('tabindex', '-1');
  element.focus();
}
