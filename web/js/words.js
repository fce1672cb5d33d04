// The words a person reads for the API's codes (statuses, steps, parties).

import { dateTime } from './dom.js';

/**
 * The API's words for its codes (`vocabulary` of `GET /v1/account` and `GET /v1/party`): a page
 * keeps no copy, it learns them from the first answer that carries them.
 * @typedef {{ name: string, label: string, required: boolean }} FormField
 * @typedef {{ tipo: string, label: string, fields: FormField[] }} TipoForm
 * @typedef {{ steps: Record<string, string>, statuses: Record<string, string>,
 *   parties: Record<string, string>, audit: Record<string, string>,
 *   item_kinds: Record<string, string>, outcomes: Record<string, string>,
 *   decisions: Record<string, string>, platform: Record<string, string>, tipi: TipoForm[],
 *   labels: Record<string, string> }} Vocabulary
 */

/** @type {Record<string, string>} */
export const STATUS = {};
/** @type {Record<string, string>} */
export const STEP = {};
/** @type {Record<string, string>} */
export const PARTY = {};
/** Holder fields' labels by name (and `id`'s). @type {Record<string, string>} */
export const LABELS = {};
/** Each tipo in the form's order, with its form's fields. @type {TipoForm[]} */
export const TIPI = [];
/** Each trail line's words, by action. @type {Record<string, string>} */
const AUDIT = {};
/** @type {Record<string, string>} */
const ITEM_KINDS = {};
/** @type {Record<string, string>} */
const OUTCOMES = {};
/** A holder's answer on an item. @type {Record<string, string>} */
const DECISIONS = {};
/** Where the mail platform stands with a moved item. @type {Record<string, string>} */
const PLATFORM = {};

/** @param {Vocabulary | undefined} vocabulary */
export function learn(vocabulary) {
  if (!vocabulary) return;
  Object.assign(STATUS, vocabulary.statuses);
  Object.assign(STEP, vocabulary.steps);
  Object.assign(PARTY, vocabulary.parties);
  Object.assign(AUDIT, vocabulary.audit);
  Object.assign(ITEM_KINDS, vocabulary.item_kinds);
  Object.assign(OUTCOMES, vocabulary.outcomes);
  Object.assign(DECISIONS, vocabulary.decisions);
  Object.assign(PLATFORM, vocabulary.platform ?? {});
  Object.assign(LABELS, vocabulary.labels);
  TIPI.splice(0, TIPI.length, ...vocabulary.tipi);
}

/** @param {string} kind */
export function itemKind(kind) {
  return ITEM_KINDS[kind] ?? kind;
}

/** @param {boolean | null | undefined} accept */
export function decision(accept) {
  if (accept === true) return DECISIONS.accepted ?? 'true';
  if (accept === false) return DECISIONS.rejected ?? 'false';
  return DECISIONS.pending ?? '—';
}

/** @param {string | null | undefined} outcome */
export function outcome(outcome) {
  return (outcome && OUTCOMES[outcome]) || '—';
}

/**
 * Where the mail platform stands with a moved item: "Applicato dal sistema di posta il
 * 04/12/2026 alle 10:15 (ora italiana)", "In attesa del sistema di posta"; '—' before a move.
 * @param {{ status: string, at?: string } | null | undefined} platform
 */
export function platformStatus(platform) {
  if (!platform) return '—';
  const words = PLATFORM[platform.status] ?? platform.status;
  if (!platform.at) return words;
  return `${words} il ${dateTime(platform.at)}`;
}

/**
 * @param {any} management `{mode, username?}`
 * @param {'initiator' | 'holder'} [reader] who reads it
 */
export function management(management, reader = 'initiator') {
  if (management?.mode === 'hand_over') return `Gestione affidata all'account ${management.username}`;
  return reader === 'initiator'
    ? 'Gestione mantenuta dal tuo account (rinnovi, fatture, modifiche)'
    : 'Gestione amministrativa mantenuta da chi ha chiesto il cambio';
}

/** @param {string} action an audit entry's action */
export function auditAction(action) {
  return AUDIT[action] ?? action;
}

/**
 * Who wrote a line of the trail, as the account reads it.
 * @param {any} a an audit line
 */
export function auditWho(a) {
  if (a.support) return `Assistenza (operatore ${a.support.operator})`;
  return a.party ? PARTY[a.party] ?? a.party : 'Servizio (automatico)';
}

/**
 * A line's detail, with the reason support gave.
 * @param {any} a an audit line
 */
export function auditDetail(a) {
  const detail = a.detail ?? '';
  if (!a.support) return detail;
  const why = a.support.reason ? `Motivo: ${a.support.reason}` : 'Nessun motivo indicato';
  return detail ? `${detail}. ${why}` : why;
}

/**
 * What the email or SMS provider reported of a message: "consegnato il …", "consegna in
 * ritardo, …", "non consegnato: <reason>"; null while it reported nothing.
 * @param {{ outcome: string, at: string, reason?: string } | null | undefined} d
 */
export function deliveryWords(d) {
  if (!d) return null;
  if (d.outcome === 'delivered') return `consegnato il ${dateTime(d.at)}`;
  if (d.outcome === 'delayed') return 'consegna in ritardo, il servizio di posta riprova';
  return `non consegnato: ${d.reason}`;
}
