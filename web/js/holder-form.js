// A holder profile drawn as the customer area draws it ("DATI PRIVATO", the fields of each tipo); which
// fields may change comes from the API (`editable_fields`), which also judges every value;
// the fields of each tipo and their labels come from its `vocabulary` (words.js).

import { h } from './dom.js';
import { field, select } from './ui.js';
import { LABELS, TIPI } from './words.js';

export { LABELS };

/** @typedef {'privato' | 'libero_professionista' | 'azienda'} Tipo */

/** The tipi as a select offers them. @returns {[string, string][]} */
export function tipoChoices() {
  return TIPI.map((t) => [t.tipo, t.label]);
}

/** @param {string} tipo */
export function tipoLabel(tipo) {
  return TIPI.find((t) => t.tipo === tipo)?.label ?? tipo;
}

/** @type {Record<string, string>} */
const HINTS = {
  codice_fiscale: '16 caratteri, ad esempio RSSMRA80A01H501U.',
  partita_iva: '11 cifre.',
  codice_fiscale_azienda: '11 cifre, o il codice fiscale del titolare per una ditta individuale.',
  provincia: 'La sigla, ad esempio RM.',
  cellulare: 'Con il prefisso internazionale, ad esempio +39 333 123 4567.',
  telefono: 'Con il prefisso, ad esempio +39 06 1234567.',
};

/** @type {Record<string, string>} */
const AUTOCOMPLETE = {
  nome: 'given-name',
  cognome: 'family-name',
  ragione_sociale: 'organization',
  indirizzo: 'street-address',
  cap: 'postal-code',
  nazione: 'country-name',
  comune: 'address-level2',
  provincia: 'address-level1',
  telefono: 'tel',
  cellulare: 'tel',
  fax: 'tel',
  email: 'email',
};

/**
 * The fields a profile of `tipo` is drawn with, in order (the API's `vocabulary`).
 * @param {Tipo} tipo
 */
export function fieldsOf(tipo) {
  return TIPI.find((t) => t.tipo === tipo)?.fields.map((f) => f.name) ?? [];
}

/** @param {Tipo} tipo */
function sectionTitle(tipo) {
  return { privato: 'DATI PRIVATO', libero_professionista: 'DATI LIBERO PROFESSIONISTA', azienda: 'DATI AZIENDA' }[tipo];
}

/**
 * The inputs of a profile of `tipo`: empty for a new one; for an existing one its values, the
 * editable fields highlighted (yellow) and the others read-only.
 * @param {Tipo} tipo
 * @param {Record<string, any> | null} holder
 */
export function holderInputs(tipo, holder) {
  const editable = holder ? /** @type {string[]} */ (holder.editable_fields ?? []) : null;
  const inputs = fieldsOf(tipo).map((name) => {
    const fixed = editable !== null && !editable.includes(name);
    return field({
      name,
      label: LABELS[name],
      value: holder ? holder[name] ?? '' : name === 'nazione' ? 'Italia' : '',
      type: name === 'email' ? 'email' : name === 'cellulare' || name === 'telefono' || name === 'fax' ? 'tel' : 'text',
      readonly: fixed,
      // A new profile's required fields are marked before anything is sent.
      required: holder === null && TIPI.find((t) => t.tipo === tipo)?.fields.find((f) => f.name === name)?.required === true,
      highlight: editable !== null && !fixed,
      hint: fixed ? 'Non modificabile.' : HINTS[name],
      autocomplete: AUTOCOMPLETE[name],
    });
  });
  const linguaFixed = editable !== null && !editable.includes('lingua');
  const lingua = select({
    name: 'lingua',
    label: LABELS.lingua,
    options: [['it', 'Italiano'], ['en', 'English']],
    value: holder?.lingua ?? 'it',
    disabled: linguaFixed,
  });
  if (editable !== null && !linguaFixed) lingua.classList.add('editable');
  return h(
    'fieldset',
    { class: 'holder-fields' },
    h('legend', {}, sectionTitle(tipo)),
    editable !== null ? h('p', { class: 'legend-editable' }, 'In giallo saranno visualizzati i campi modificabili') : null,
    holder === null ? h('p', { class: 'hint' }, 'Sotto ogni campo obbligatorio è scritto «Obbligatorio».') : null,
    h('div', { class: 'grid' }, inputs, lingua),
  );
}

/**
 * What changed in the editable fields of `holder`, for a PATCH (a cleared field is null).
 * @param {HTMLFormElement} form
 * @param {Record<string, any>} holder
 */
export function changes(form, holder) {
  /** @type {Record<string, string | null>} */
  const patch = {};
  for (const name of /** @type {string[]} */ (holder.editable_fields ?? [])) {
    const input = form.elements.namedItem(name);
    if (!(input instanceof HTMLInputElement || input instanceof HTMLSelectElement)) continue;
    const value = input.value.trim();
    if (value !== (holder[name] ?? '')) patch[name] = value === '' ? null : value;
  }
  return patch;
}

/**
 * A profile read-only, as the detail page shows it.
 * @param {Record<string, any>} holder
 */
export function holderDetails(holder) {
  const tipo = /** @type {Tipo} */ (holder.tipo);
  const rows = [
    ['id', holder.id],
    ['tipo', tipoLabel(tipo)],
    ...fieldsOf(tipo).map((name) => [name, holder[name]]),
    ['lingua', holder.lingua === 'en' ? 'English' : 'Italiano'],
  ];
  return h(
    'dl',
    { class: 'details' },
    rows.map(([name, value]) => [h('dt', {}, LABELS[name]), h('dd', {}, value || '—')]),
  );
}

/** @param {Record<string, any>} holder */
export function holderName(holder) {
  return holder.ragione_sociale || [holder.nome, holder.cognome].filter(Boolean).join(' ') || `Titolare ${holder.id}`;
}
