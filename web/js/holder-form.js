// A holder profile drawn as the customer area draws it ("DATI PRIVATO", the fields of each tipo); which
// fields may change comes from the API (`editable_fields`), which also judges every value.

import { h } from './dom.js';
import { field, select } from './ui.js';

/** @typedef {'privato' | 'libero_professionista' | 'azienda'} Tipo */

/** @type {[Tipo, string][]} */
export const TIPI = [
  ['azienda', 'Azienda/Ditta Individuale'],
  ['privato', 'Privato'],
  ['libero_professionista', 'Libero Professionista'],
];

/** @param {string} tipo */
export function tipoLabel(tipo) {
  return TIPI.find(([value]) => value === tipo)?.[1] ?? tipo;
}

/** @type {Record<Tipo, string[]>} */
const OWN_FIELDS = {
  privato: ['nome', 'cognome', 'codice_fiscale'],
  libero_professionista: ['nome', 'cognome', 'codice_fiscale', 'partita_iva'],
  azienda: ['ragione_sociale', 'partita_iva', 'codice_fiscale_azienda'],
};
const CONTACT_FIELDS = ['indirizzo', 'cap', 'nazione', 'provincia', 'comune', 'telefono', 'cellulare', 'fax', 'email'];

/** @type {Record<string, string>} */
export const LABELS = {
  id: 'Id Titolare',
  tipo: 'Tipo Titolare',
  nome: 'Nome',
  cognome: 'Cognome',
  codice_fiscale: 'Codice Fiscale',
  ragione_sociale: 'Ragione Sociale',
  partita_iva: 'Partita Iva',
  codice_fiscale_azienda: 'Codice Fiscale Azienda',
  indirizzo: 'Indirizzo',
  cap: 'Cap',
  nazione: 'Nazione',
  provincia: 'Provincia',
  comune: 'Comune',
  telefono: 'Telefono',
  cellulare: 'Cellulare',
  fax: 'Fax',
  email: 'Email',
  lingua: 'Lingua delle comunicazioni',
};

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

/** @param {Tipo} tipo */
export function fieldsOf(tipo) {
  return [...OWN_FIELDS[tipo], ...CONTACT_FIELDS];
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
