// Pieces every page uses: announced messages, labelled fields with their errors, and the
// one-time-code step (send, resend, verify) of the initiator and of both holders.

import { ApiError } from './api.js';
import { h, show, focus, dateTime } from './dom.js';
import { LABELS } from './words.js';

/**
 * The words a person sees for a field the API names: its label in the form, else the API's
 * own label for it (the vocabulary), never the field's code ("items[0]", "accepted").
 * @param {string} field
 * @param {HTMLElement | null | undefined} input
 * @param {HTMLElement} [form]
 */
function fieldLabel(field, input, form) {
  const inForm = input?.id ? form?.querySelector(`label[for="${CSS.escape(input.id)}"]`)?.textContent?.trim() : '';
  if (inForm) return inForm;
  const item = /^items\[(\d+)\]$/.exec(field);
  if (item) return `${LABELS.items ?? 'Elementi'}, n. ${Number(item[1]) + 1}`;
  return LABELS[field] ?? LABELS[field.split('.').pop() ?? ''] ?? LABELS.request ?? 'Richiesta';
}

/**
 * A message region: errors are announced at once (role=alert), news politely.
 * @param {'error' | 'success' | 'info'} kind
 * @param {string} text
 * @param {HTMLElement[]} [extra]
 */
export function notice(kind, text, extra = []) {
  const box = h(
    'div',
    { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' },
    h('p', {}, text),
    extra,
  );
  return box;
}

/**
 * Shows an error of the API (or any error) in `region`, and each field error beside its field
 * inside `form` (`[name=field]`), marking the field invalid.
 * @param {HTMLElement} region
 * @param {unknown} error
 * @param {HTMLElement} [form]
 */
export function showError(region, error, form) {
  clearFieldErrors(form);
  const message = error instanceof ApiError ? error.message : 'Si è verificato un errore inatteso: riprova.';
  /** @type {{ at: HTMLElement | null, line: HTMLElement }[]} */
  const found = [];
  if (error instanceof ApiError) {
    for (const [field, text] of Object.entries(error.errors)) {
      const match = form?.querySelector(`[name="${CSS.escape(field)}"]`);
      const input = match instanceof HTMLElement ? match : null;
      if (input) {
        const id = `${input.id || field}-error`;
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-describedby', [input.getAttribute('aria-describedby'), id].filter(Boolean).join(' '));
        (input.closest('.field') ?? input).appendChild(h('p', { class: 'field-error', id }, text));
      }
      // A field's message that only repeats the notice is said beside the field alone.
      if (text === message && Object.keys(error.errors).length === 1) continue;
      found.push({ at: input, line: h('li', {}, `${fieldLabel(field, input, form)}: ${text}`) });
    }
  }
  // The summary in the order of the form (what has no field of its own first).
  found.sort((a, b) => {
    if (!a.at || !b.at) return a.at ? 1 : b.at ? -1 : 0;
    return a.at.compareDocumentPosition(b.at) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1;
  });
  const list = found.map((f) => f.line);
  const box = notice('error', message, list.length ? [h('ul', {}, list)] : []);
  show(region, box);
  focus(box);
}

/** @param {HTMLElement} [form] */
export function clearFieldErrors(form) {
  if (!form) return;
  for (const note of form.querySelectorAll('.field-error')) note.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    const described = (input.getAttribute('aria-describedby') ?? '')
      .split(' ')
      .filter((id) => id && !id.endsWith('-error'))
      .join(' ');
    if (described) input.setAttribute('aria-describedby', described);
    else input.removeAttribute('aria-describedby');
  }
}

let fieldCount = 0;

/**
 * A labelled input.
 * @param {object} spec
 * @param {string} spec.name
 * @param {string} spec.label
 * @param {string | null} [spec.value]
 * @param {string} [spec.type]
 * @param {boolean} [spec.readonly]
 * @param {boolean} [spec.highlight] an editable field of an existing profile (yellow)
 * @param {string} [spec.hint]
 * @param {string} [spec.autocomplete]
 * @param {string} [spec.inputmode]
 * @param {boolean} [spec.required] marked before anything is sent (the API still judges)
 */
export function field(spec) {
  const id = `f-${spec.name}-${++fieldCount}`;
  // A required field says so in words under its label, before anything is sent.
  const hint = spec.required ? ['Obbligatorio.', spec.hint].filter(Boolean).join(' ') : spec.hint;
  const hintId = hint ? `${id}-hint` : null;
  const input = h('input', {
    id,
    name: spec.name,
    type: spec.type ?? 'text',
    value: spec.value ?? '',
    readonly: spec.readonly ?? false,
    autocomplete: spec.autocomplete ?? 'off',
    inputmode: spec.inputmode ?? null,
    'aria-describedby': hintId,
    'aria-required': spec.required ? 'true' : null,
  });
  return h(
    'div',
    { class: `field${spec.highlight ? ' editable' : ''}${spec.readonly ? ' fixed' : ''}` },
    h('label', { for: id }, spec.label),
    input,
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
  );
}

/**
 * A labelled select.
 * @param {object} spec
 * @param {string} spec.name
 * @param {string} spec.label
 * @param {[string, string][]} spec.options value, text
 * @param {string} [spec.value]
 * @param {boolean} [spec.disabled]
 */
export function select(spec) {
  const id = `f-${spec.name}-${++fieldCount}`;
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, spec.label),
    h(
      'select',
      { id, name: spec.name, disabled: spec.disabled ?? false },
      spec.options.map(([value, text]) => h('option', { value, selected: value === spec.value }, text)),
    ),
  );
}

/**
 * A button; `busy` while its action runs, so a double click sends once. An error its action
 * does not handle itself is shown in the page's messages, never lost.
 * @param {string} text
 * @param {(event: Event) => Promise<void> | void} action
 * @param {object} [options]
 * @param {'primary' | 'secondary' | 'danger' | 'link'} [options.kind]
 * @param {string} [options.name] a fuller name for assistive technology, where many buttons share `text`
 */
export function button(text, action, options = {}) {
  const b = h('button', { type: 'button', class: `btn btn-${options.kind ?? 'primary'}`, 'aria-label': options.name ?? null }, text);
  b.addEventListener('click', async (event) => {
    if (b.getAttribute('aria-busy') === 'true') return;
    b.setAttribute('aria-busy', 'true');
    try {
      await action(event);
    } catch (error) {
      // Gone from the page (e.g. the login lapsed and the login form replaced it): nothing to tell here.
      if (!b.isConnected) return;
      let region = b.closest('main')?.querySelector('.messages');
      if (!(region instanceof HTMLElement)) {
        region = h('div', { class: 'messages' });
        b.before(region);
      }
      showError(/** @type {HTMLElement} */ (region), error);
    } finally {
      b.removeAttribute('aria-busy');
    }
  });
  return b;
}

/**
 * A form whose submit runs `action` once at a time.
 * @param {(form: HTMLFormElement) => Promise<void>} action
 * @param {Attrs} attrs
 * @param {...any} children
 * @returns {HTMLFormElement}
 */
export function form(action, attrs, ...children) {
  const f = h('form', { novalidate: true, ...attrs }, ...children);
  let running = false;
  f.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (running) return;
    running = true;
    f.setAttribute('aria-busy', 'true');
    try {
      await action(f);
    } finally {
      running = false;
      f.removeAttribute('aria-busy');
    }
  });
  return f;
}
/** @typedef {import('./dom.js').Attrs} Attrs */

/**
 * The values of a form's named inputs, trimmed; empty ones left out.
 * @param {HTMLFormElement} f
 * @returns {Record<string, string>}
 */
export function values(f) {
  /** @type {Record<string, string>} */
  const out = {};
  for (const [name, value] of new FormData(f).entries()) {
    const text = String(value).trim();
    if (text) out[name] = text;
  }
  return out;
}

/**
 * @typedef {object} CodeStatusItem
 * @property {'sms' | 'email'} channel
 * @property {string} destination
 * @property {string} status
 * @property {string} delivery
 * @property {string | null} [notice]
 * @property {string} expires_at
 * @property {number} sends_left
 * @property {number} tries_left
 * @property {number} resend_in_seconds
 */

/**
 * Where the code's message is, as the provider reported it: "consegnato" only once it said so.
 * @type {Record<string, (to: string) => string>}
 */
const DELIVERY_LINE = {
  queued: (to) => `Codice in invio a ${to}.`,
  sent: (to) => `Codice inviato a ${to}.`,
  delivered: (to) => `Codice consegnato a ${to}.`,
};

/**
 * Where a code stands, in words.
 * @param {CodeStatusItem} item
 */
function codeFacts(item) {
  return h(
    'ul',
    { class: 'code-facts' },
    // One line for where the code is: on its way, sent, or not delivered (never two of them).
    item.notice
      ? h('li', { class: 'failed' }, item.notice)
      : h('li', {}, DELIVERY_LINE[item.delivery]?.(item.destination) ?? `Codice inviato a ${item.destination}.`),
    item.status === 'pending' ? h('li', {}, `Valido fino al ${dateTime(item.expires_at)}.`) : null,
    item.status === 'expired' ? h('li', {}, 'Codice scaduto: chiedine uno nuovo.') : null,
    item.status === 'max_attempts_reached' ? h('li', {}, 'Troppi tentativi errati: chiedi un nuovo codice.') : null,
    item.status === 'pending' ? h('li', {}, item.tries_left === 1 ? 'Resta 1 tentativo.' : `Tentativi rimasti: ${item.tries_left}.`) : null,
    h('li', {}, item.sends_left === 0 ? 'Nessun invio rimasto per questa richiesta: per un nuovo codice contatta l\'assistenza.' : item.sends_left === 1 ? 'Resta 1 invio.' : `Invii rimasti: ${item.sends_left}.`),
  );
}

/**
 * @typedef {object} CodeStepSpec
 * @property {'sms' | 'email'} channel
 * @property {string} contact masked mobile or email on file
 * @property {(body: {channel: string, phone?: string}) => Promise<any>} send
 * @property {(body: {channel: string, code: string}) => Promise<any>} verify
 * @property {() => Promise<{items: CodeStatusItem[]}>} status
 * @property {(answer: any) => void} done
 * @property {boolean} [heading] whether the step draws its own heading (false where the page's
 *   step heading already says it)
 */

/**
 * A code step as the reference flow draws it: the number (or address) on file, changeable for SMS,
 * "Invia codice di verifica", the "Codice di verifica" field and "Verifica"; with where the
 * code stands: delivered or "non consegnato: invia di nuovo", time before a resend, tries left.
 * @param {CodeStepSpec} spec
 */
export function codeStep(spec) {
  const sms = spec.channel === 'sms';
  const messages = h('div', { class: 'messages' });
  const state = h('div', { class: 'code-state', 'aria-live': 'polite' });
  const phoneField = field({
    name: 'phone',
    label: 'Nuovo numero di cellulare',
    type: 'tel',
    autocomplete: 'tel',
    hint: "Con il prefisso internazionale, ad esempio +39 333 123 4567. Con un numero diverso da quello indicato, avvisiamo il numero e l'email che risultano a noi, e il cambio si conclude solo dopo un periodo di attesa.",
  });
  phoneField.hidden = true;
  const change = sms
    ? button('Modifica numero', () => {
        phoneField.hidden = false;
        if (change) change.hidden = true;
        const input = phoneField.querySelector('input');
        if (input) input.focus();
      }, { kind: 'link' })
    : null;
  const used = h('strong', {}, spec.contact || '—');
  const sendForm = form(
    async (f) => {
      const phone = sms ? values(f).phone : undefined;
      try {
        await spec.send(phone ? { channel: spec.channel, phone } : { channel: spec.channel });
        // Where the code stands is said once, by the facts below (in invio, inviato, non
        // consegnato), not by a notice that could contradict them.
        show(messages);
        verifyForm.hidden = false;
        await refresh();
        const input = verifyForm.querySelector('input');
        if (input) input.focus();
      } catch (error) {
        showError(messages, error, f);
        await refresh();
      }
    },
    { class: 'code-send' },
    h(
      'p',
      {},
      sms ? 'Numero di cellulare: ' : 'Indirizzo email: ',
      used,
      ' ',
      change,
    ),
    sms ? phoneField : null,
    h('button', { type: 'submit', class: 'btn btn-secondary', id: `send-${spec.channel}` }, 'Invia codice di verifica'),
  );
  const verifyForm = form(
    async (f) => {
      try {
        const answer = await spec.verify({ channel: spec.channel, code: values(f).code ?? '' });
        show(messages, notice('success', sms ? 'Numero di cellulare verificato.' : 'Indirizzo email verificato.'));
        spec.done(answer);
      } catch (error) {
        // An expired code is said by the facts, once.
        if (error instanceof ApiError && error.problem.type?.endsWith('code-expired')) show(messages);
        else showError(messages, error, f);
        await refresh();
      }
    },
    { class: 'code-verify' },
    field({
      name: 'code',
      label: 'Codice di verifica',
      inputmode: 'numeric',
      autocomplete: 'one-time-code',
      hint: 'Le 6 cifre ricevute; il codice vale 10 minuti.',
    }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Verifica'),
  );
  verifyForm.hidden = true;

  // The facts are announced once per change (polite region); the countdown ticks beside them
  // in a region that is not announced every second.
  const countdown = h('p', { class: 'countdown' });
  /** @type {number | undefined} */
  let timer;
  /** @type {number | undefined} */
  let poll;
  let polls = 0;
  let shownFacts = '';
  async function refresh() {
    clearTimeout(poll);
    let items;
    try {
      items = (await spec.status()).items;
    } catch {
      return;
    }
    // The page moved on: no more polling or counting for a step nobody sees.
    if (!section.isConnected) {
      clearInterval(timer);
      return;
    }
    const item = items.find((i) => i.channel === spec.channel);
    clearInterval(timer);
    show(countdown);
    if (!item) {
      show(state);
      shownFacts = '';
      verifyForm.hidden = true;
      return;
    }
    verifyForm.hidden = item.status === 'approved';
    // The number or address the code actually went to, and buttons only when they can work.
    show(used, item.destination);
    const verifyButton = verifyForm.querySelector('button[type="submit"]');
    if (verifyButton instanceof HTMLButtonElement) verifyButton.disabled = item.status !== 'pending';
    const sendButton = sendForm.querySelector('button[type="submit"]');
    if (sendButton instanceof HTMLButtonElement) sendButton.disabled = item.sends_left === 0 || item.resend_in_seconds > 0;
    // While the message is on its way, look again: "consegnato" or "non consegnato" follows.
    if ((item.delivery === 'queued' || (item.delivery === 'sent' && item.status === 'pending')) && polls < 20) {
      polls += 1;
      poll = window.setTimeout(refresh, 1500);
    } else {
      polls = 0;
    }
    // Redrawn only when something changed, so the live region speaks once per change.
    const facts = JSON.stringify([item.destination, item.status, item.delivery, item.tries_left, item.sends_left]);
    if (facts !== shownFacts) {
      shownFacts = facts;
      show(state, codeFacts(item));
    }
    if (item.sends_left === 0 || item.status === 'approved') return;
    const resendAt = Date.now() + item.resend_in_seconds * 1000;
    const tick = () => {
      if (!section.isConnected) {
        clearInterval(timer);
        return;
      }
      const wait = Math.max(0, Math.ceil((resendAt - Date.now()) / 1000));
      show(countdown, wait > 1 ? `Nuovo invio possibile tra ${wait} secondi.` : wait === 1 ? 'Nuovo invio possibile tra 1 secondo.' : 'Un nuovo invio è possibile ora.');
      if (wait === 0) {
        clearInterval(timer);
        const sendButton = sendForm.querySelector('button[type="submit"]');
        if (sendButton instanceof HTMLButtonElement) sendButton.disabled = false;
      }
    };
    tick();
    timer = window.setInterval(tick, 1000);
  }

  const section = h(
    'section',
    { class: 'code-step' },
    spec.heading === false
      ? null
      : h('h3', {}, sms ? 'Verifica del numero di cellulare' : "Verifica dell'indirizzo email"),
    messages,
    sendForm,
    state,
    countdown,
    verifyForm,
  );
  refresh();
  return section;
}
