// The other paths a person meets: hand_over with the login, a rejection, a wrong code and a
// resend, a code not delivered, a cancel from the pending list, a holder form with field errors,
// an azienda new holder, keyboard-only use, paging, a holder created with the transfer, a link
// opened after the deadline, an old `?token=` link, and the headers every page carries.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { addMailbox, advanceClock, apiAs, assertAccessible, check, code, count, link, message, openRequest, person, useServiceAndBrowser } from './support.mjs';

const env = useServiceAndBrowser();
/** @type {Awaited<ReturnType<typeof person>>[]} */
const people = [];

after(() => {
  for (const p of people) assert.deepEqual(p.problems, [], 'no page logged an error');
  assertAccessible();
});

async function someone() {
  const p = await person(env.browser);
  people.push(p);
  return p.page;
}

/** @param {import('playwright-core').Page} page */
async function loginAsDemo(page) {
  await page.goto(`${env.service.base}/`);
  await page.getByLabel('demo', { exact: true }).check();
  await page.getByRole('button', { name: 'Accedi' }).click();
  await page.getByRole('heading', { name: 'Benvenuto, test test' }).waitFor();
}

/**
 * A draft of `demo` made through the API, open on its page in the reseller's browser.
 * @param {string} mailbox
 */
async function draftOnItsPage(mailbox) {
  const api = await apiAs(env.service.base, 'demo');
  const draft = await api('POST', '/v1/transfers', {
    items: [{ kind: 'mailbox', id: mailbox }],
    management: { mode: 'keep' },
    new_holder_id: '900008',
  });
  const page = await someone();
  await loginAsDemo(page);
  await page.goto(`${env.service.base}/#/cambio/${draft.id}`);
  await page.getByRole('heading', { name: 'Conferma la richiesta' }).waitFor();
  return { draft, page };
}

test('pages carry a strict Content-Security-Policy, no referrer, nosniff and no framing', async () => {
  for (const path of ['/', '/gestisci', '/password', '/js/api.js', '/css/app.css']) {
    const r = await fetch(`${env.service.base}${path}`);
    assert.equal(r.status, 200, path);
    const csp = r.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/, path);
    assert.match(csp, /style-src 'self'/, path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/, path);
    assert.equal(r.headers.get('referrer-policy'), 'no-referrer', path);
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
  }
  for (const path of ['/package.json', '/tests/support.mjs', '/node_modules/playwright-core/package.json', '/js/../package.json']) {
    const r = await fetch(`${env.service.base}${path}`);
    assert.notEqual(r.status, 200, `${path} is not served`);
  }
});

test('the initiator sends the invitation again and corrects an email; the old link says it was replaced', async () => {
  const base = env.service.base;
  const request = await openRequest(base, {
    items: [{ kind: 'mailbox', id: 'teste1234@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  const oldLink = await link(base, 'testdue@example.it', 'gestisci', request.id);
  const page = await someone();
  await loginAsDemo(page);
  await advanceClock(base, 61);
  await page.goto(`${base}/#/cambio/${request.id}`);
  await page.getByRole('heading', { name: `Richiesta di cambio titolare n. ${request.id}` }).waitFor();
  await page.getByRole('button', { name: "Invia di nuovo l'invito: Nuovo titolare" }).click();
  await page.getByText('Invito inviato di nuovo a t***@example.it.').waitFor();
  await advanceClock(base, 61);
  await page.locator('summary', { hasText: 'Correggi i contatti' }).nth(1).click();
  const correct = page.getByRole('form', { name: 'Correggi i contatti: Nuovo titolare' });
  await correct.getByLabel('Email corretta').fill('testdue.nuovo@example.it');
  await correct.getByRole('button', { name: 'Correggi e invia di nuovo' }).click();
  await page.getByText(/Contatti corretti: il nuovo titolare ha ricevuto un nuovo invito/).waitFor();
  await page.getByRole('cell', { name: 'Contatti corretti' }).waitFor();
  await check(page, 'request-contact-corrected');
  const holder = await someone();
  await holder.goto(oldLink);
  await holder.getByRole('heading', { name: 'Link sostituito' }).waitFor();
  await holder.getByText(/ti ha inviato un nuovo link via email/).waitFor();
  // The new link opened in the same tab, which showed "Link sostituito": the page reads it.
  const renewed = holder;
  await renewed.goto(await link(base, 'testdue.nuovo@example.it', 'gestisci', request.id));
  await renewed.getByRole('heading', { name: `Gestisci richiesta n. ${request.id}` }).waitFor();
  // Leave the mailbox free for the tests that follow.
  const api = await apiAs(base, 'demo');
  await api('POST', `/v1/transfers/${request.id}/cancel`);
});

test('hand_over: the new holder logs in as the named account before going on', async () => {
  const request = await openRequest(env.service.base, {
    items: [{ kind: 'mailbox', id: 'marco.test@pec.it' }],
    management: { mode: 'hand_over', username: 'demo2' },
    new_holder_id: '963300',
  });
  const page = await someone();
  await page.goto(await link(env.service.base, 'testdue@example.it', 'gestisci', request.id));
  await page.getByRole('heading', { name: `Gestisci richiesta n. ${request.id}` }).waitFor();
  await page.getByText("Gestione affidata all'account demo2").waitFor();
  await page.getByRole('radio', { name: 'Accetta' }).check();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: 'Accesso con lo username indicato' }).waitFor();
  await check(page, 'new-login');
  await page.getByRole('button', { name: 'Accedi' }).click();
  await page.getByRole('heading', { name: 'Accettazione delle condizioni contrattuali' }).waitFor();
  await page.getByText('Accesso con lo username indicato (fatto)').waitFor();
});

test('a rejection: the current holder rejects everything, the request ends, the other link says why', async () => {
  const request = await openRequest(env.service.base, {
    items: [{ kind: 'mailbox', id: 'teste1234@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  // The reseller keeps the request's page open: it follows the answer without a reload.
  const reseller = await someone();
  await loginAsDemo(reseller);
  await reseller.goto(`${env.service.base}/#/cambio/${request.id}`);
  await reseller.getByText('In corso', { exact: true }).waitFor();

  const page = await someone();
  await page.goto(await link(env.service.base, 'amministrazione@testazienda.example.it', 'gestisci', request.id));
  await page.getByRole('heading', { name: `Gestisci richiesta n. ${request.id}` }).waitFor();
  // Before accepting, the current holder reads that access to the mailboxes is lost.
  await page.getByText(/non potrai più accedere a queste caselle: prima salva i messaggi e le ricevute/).waitFor();
  await page.getByRole('radio', { name: 'Rifiuta' }).check();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByText('Rifiutando tutti gli elementi la richiesta si chiude.').waitFor();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Rifiutata|Richiesta conclusa/ }).waitFor();
  await check(page, 'current-rejected');

  const other = await someone();
  await other.goto(await link(env.service.base, 'testdue@example.it', 'gestisci', request.id));
  await other.getByRole('heading', { name: 'Richiesta conclusa' }).waitFor();
  await other.getByText(/rifiutata/).waitFor();
  assert.equal(await other.getByRole('main').getByRole('button').count(), 0, 'nothing to click');
  await check(other, 'link-ended');

  await reseller.getByText('Rifiutata', { exact: true }).waitFor({ timeout: 15_000 });
  await reseller.getByText('La richiesta è cambiata: la pagina mostra il suo stato attuale.').waitFor();
  await reseller.getByRole('cell', { name: 'Richiesta rifiutata' }).waitFor();
});

test('a wrong code and a resend, then a cancel from the pending list', async () => {
  const { draft, page } = await draftOnItsPage('fatture.testazienda@pec.it');
  const mobile = '+393330000019';
  const before = await count(env.service.base, mobile, /\b\d{6}\b/);
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText('Tentativi rimasti: 5.').waitFor();
  const first = await code(env.service.base, mobile, before);
  await page.getByLabel('Codice di verifica').fill(first === '000000' ? '111111' : '000000');
  await page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await page.getByRole('alert').waitFor();
  await page.getByText('Tentativi rimasti: 4.').waitFor();
  await check(page, 'code-wrong');
  // No resend during the wait: the button says so by being off, beside the countdown; a
  // minute later it goes (the service's clock is moved, so the page reads the code again).
  assert.ok(await page.getByRole('button', { name: 'Invia codice di verifica' }).isDisabled(), 'no resend during the wait');
  await page.getByText(/Nuovo invio possibile tra \d+ secondi/).waitFor();
  await advanceClock(env.service.base, 61);
  await page.reload();
  await page.getByText('Tentativi rimasti: 4.').waitFor();
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText('Invii rimasti: 3.').waitFor();
  const second = await code(env.service.base, mobile, before + 1);
  await page.getByLabel('Codice di verifica').fill(second);
  await page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await page.getByText(/Richiesta confermata/).waitFor();
  await page.getByText('In corso', { exact: true }).waitFor();

  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'Cambio titolare PEC' }).click();
  await page.getByRole('heading', { name: 'Richieste non ancora concluse' }).waitFor();
  await check(page, 'pending');
  await page.getByRole('button', { name: `Annulla la richiesta n. ${draft.id}` }).click();
  await page.getByText(`Interrompere la richiesta n. ${draft.id}?`).waitFor();
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByText(`Richiesta n. ${draft.id} annullata.`).waitFor();
  await page.goto(`${env.service.base}/#/cambio/${draft.id}`);
  await page.getByText('Annullata', { exact: true }).waitFor();
});

test('a new holder profile: tipo first, then its form; field errors beside their fields', async () => {
  const page = await someone();
  await loginAsDemo(page);
  await page.goto(`${env.service.base}/#/titolari/nuovo`);
  await page.getByLabel('Tipo Titolare').selectOption('privato');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('group', { name: 'DATI PRIVATO' }).waitFor();
  // The required fields are marked before anything is sent.
  await page.getByText('Sotto ogni campo obbligatorio è scritto «Obbligatorio».').waitFor();
  assert.equal(await page.getByLabel('Codice Fiscale', { exact: true }).getAttribute('aria-required'), 'true');
  assert.equal(await page.getByLabel('Fax', { exact: true }).getAttribute('aria-required'), null, 'an optional field is not');
  await page.getByLabel('Nome', { exact: true }).fill('Mario');
  await page.getByLabel('Cognome', { exact: true }).fill('Rossi');
  await page.getByLabel('Codice Fiscale', { exact: true }).fill('RSSMRA80A01H501X');
  await page.getByLabel('Cap').fill('123');
  await page.getByLabel('Email').fill('non-un-indirizzo');
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByRole('alert').waitFor();
  for (const label of ['Codice Fiscale', 'Cap', 'Email']) {
    const input = page.getByLabel(label, { exact: true });
    assert.equal(await input.getAttribute('aria-invalid'), 'true', `${label} is marked`);
    const described = (await input.getAttribute('aria-describedby')) ?? '';
    const errorId = described.split(' ').find((id) => id.endsWith('-error'));
    assert.ok(errorId, `${label} points to its error`);
    assert.ok((await page.locator(`[id="${errorId}"]`).innerText()).length > 0);
  }
  await check(page, 'holder-errors');
  // Corrected, it is created and shown.
  await page.getByLabel('Codice Fiscale', { exact: true }).fill('RSSMRA80A01H501U');
  await page.getByLabel('Cap').fill('00185');
  await page.getByLabel('Email').fill('mario.rossi@example.it');
  await page.getByLabel('Indirizzo').fill('Via Roma 1');
  await page.getByLabel('Provincia').fill('RM');
  await page.getByLabel('Comune').fill('Roma');
  await page.getByLabel('Cellulare').fill('+39 333 1234567');
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByText('Operazione effettuata con successo').waitFor();
  await page.getByRole('heading', { name: 'Dettaglio Titolare' }).waitFor();
});

test('the domains list and its detail', async () => {
  const page = await someone();
  await loginAsDemo(page);
  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'I tuoi Domini' }).click();
  await page.getByRole('link', { name: 'testazienda-pec.it', exact: true }).click();
  await page.getByRole('heading', { name: 'Dati Dominio' }).waitFor();
  await check(page, 'domain');
});

test('keyboard only: log in, reach a section, search, with the focus always visible', async () => {
  const page = await someone();
  await page.goto(`${env.service.base}/`);
  await page.getByRole('button', { name: 'Accedi' }).waitFor();
  /** Presses Tab until the focused element's text or label matches, checking the focus shows. */
  const tabTo = async (/** @type {RegExp} */ target) => {
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const e = /** @type {HTMLElement} */ (document.activeElement);
        const label = e.id ? document.querySelector(`label[for="${CSS.escape(e.id)}"]`)?.textContent : '';
        const style = getComputedStyle(e);
        return { text: `${e.textContent ?? ''} ${label ?? ''}`.trim(), visible: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
      });
      if (target.test(focused.text)) {
        assert.ok(focused.visible, `the focus on "${focused.text}" is visible`);
        return;
      }
    }
    assert.fail(`Tab never reached ${target}`);
  };
  await tabTo(/^demo$/);
  await tabTo(/^Accedi$/);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'Benvenuto, test test' }).waitFor();
  await tabTo(/^I tuoi titolari$/);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'I tuoi titolari' }).waitFor();
  await tabTo(/^Cognome$/);
  await page.keyboard.type('duetest');
  await page.keyboard.press('Enter');
  await page.getByText('righe: 1 - 1 di 1').waitFor();
});

test('a new holder that is a company confirms its data, read-only, with where to correct it', async () => {
  const api = await apiAs(env.service.base, 'demo');
  const company = await api('POST', '/v1/holders', {
    tipo: 'azienda', ragione_sociale: 'Nuova Impresa S.r.l.', partita_iva: '07654321004', codice_fiscale_azienda: '07654321004',
    indirizzo: 'Via Po 1', cap: '10123', provincia: 'TO', comune: 'Torino', cellulare: '+39 333 7654321', email: 'nuova.impresa@example.it',
  });
  const request = await openRequest(env.service.base, {
    items: [{ kind: 'mailbox', id: 'demo@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: company.id,
  });
  const page = await someone();
  await page.goto(await link(env.service.base, 'nuova.impresa@example.it', 'gestisci', request.id));
  await page.getByRole('radio', { name: 'Accetta' }).check();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: 'Conferma dei dati titolare' }).waitFor();
  await page.getByText('Nuova Impresa S.r.l.', { exact: true }).waitFor();
  await page.getByRole('link', { name: 'Come modificarla' }).waitFor();
  await page.getByRole('link', { name: "Contatta l'assistenza" }).waitFor();
  assert.equal(await page.getByRole('main').getByRole('textbox').count(), 0, 'nothing to edit');
  await check(page, 'new-holder-data');
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByRole('heading', { name: 'Accettazione delle condizioni contrattuali' }).waitFor();
});

/** @param {string} ten the first 10 digits */
function partitaIva(ten) {
  let sum = 0;
  for (let i = 0; i < 10; i++) {
    let n = Number(ten[i]);
    if (i % 2 === 1) n = n * 2 > 9 ? n * 2 - 9 : n * 2;
    sum += n;
  }
  return `${ten}${(10 - (sum % 10)) % 10}`;
}

test('paging: 21 holders found, 20 a page; "Esito Operazioni" page by page', async () => {
  const api = await apiAs(env.service.base, 'demo');
  for (let i = 1; i <= 21; i++) {
    const piva = partitaIva(`${String(5000000 + i)}001`);
    await api('POST', '/v1/holders', {
      tipo: 'azienda', ragione_sociale: `Paginata ${String(i).padStart(2, '0')} S.r.l.`, partita_iva: piva, codice_fiscale_azienda: piva,
      indirizzo: 'Via Po 1', cap: '10123', provincia: 'TO', comune: 'Torino', cellulare: '+39 333 7654321', email: `paginata${i}@example.it`,
    });
  }
  const page = await someone();
  await loginAsDemo(page);
  await page.goto(`${env.service.base}/#/titolari?ragione_sociale=paginata`);
  await page.getByText('righe: 1 - 20 di 21').waitFor();
  await page.getByRole('button', { name: 'Pagina successiva' }).click();
  await page.getByText('righe: 21 - 21 di 21').waitFor();
  await page.getByRole('button', { name: 'Pagina precedente' }).click();
  await page.getByText('righe: 1 - 20 di 21').waitFor();

  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'Esito Operazioni' }).click();
  await page.getByRole('heading', { name: 'Esito Operazioni' }).waitFor();
  const firstPage = await page.getByRole('row').count();
  assert.equal(firstPage, 21, 'a header and 20 operations');
  await page.getByRole('button', { name: 'Pagina successiva' }).click();
  await page.getByRole('button', { name: 'Pagina precedente' }).waitFor();
  assert.ok((await page.getByRole('row').count()) > 1, 'older operations on page 2');
});

test('a new transfer with a new holder created in the page, handed over to another account', async () => {
  const page = await someone();
  await loginAsDemo(page);
  await page.goto(`${env.service.base}/#/cambio/nuovo`);
  await page.getByRole('button', { name: 'Procedi' }).click();
  await page.getByLabel('Casella PEC teste1234@pec.it').check();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByLabel('Profilo titolare gestito da un altro account').check();
  const username = page.getByLabel("Username dell'account che gestirà gli elementi");
  await page.getByLabel('Crea un nuovo profilo titolare').check();
  // The username is checked here, where it is typed, not at the summary: its form, then not
  // the account's own (whether it exists is not said: the new holder's login proves it).
  await username.fill('con spazi');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByText('Alcuni campi non sono validi').waitFor();
  assert.equal(await username.getAttribute('aria-invalid'), 'true');
  await username.fill('demo');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.locator('.field-error', { hasText: 'È il tuo stesso account' }).waitFor();
  await check(page, 'new-transfer-3-own-account');
  await username.fill('demo2');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 4 di 6/ }).waitFor();
  await page.getByLabel('Tipo Titolare').selectOption('azienda');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  const piva = partitaIva('6000001001');
  await page.getByLabel('Ragione Sociale').fill('Creata Nel Wizard S.p.A.');
  await page.getByLabel('Partita Iva').fill(piva);
  await page.getByLabel('Codice Fiscale Azienda').fill(piva);
  await page.getByLabel('Indirizzo').fill('Corso Italia 2');
  await page.getByLabel('Cap').fill('20122');
  await page.getByLabel('Provincia').fill('MI');
  await page.getByLabel('Comune').fill('Milano');
  await page.getByLabel('Cellulare').fill('+39 333 2222333');
  await page.getByLabel('Email').fill('creata@example.it');
  await check(page, 'new-transfer-4-new');
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByRole('heading', { name: /Passo 5 di 6/ }).waitFor();
  await page.getByText('Nuovo titolare: Creata Nel Wizard S.p.A.').waitFor();
  await page.getByText("Gestione affidata all'account demo2").waitFor();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 6 di 6/ }).waitFor();
  await page.getByRole('button', { name: 'Modifica numero' }).click();
  await page.getByLabel('Nuovo numero di cellulare').fill('+39 333 4445556');
  const before = await count(env.service.base, '+393334445556', /\b\d{6}\b/);
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText(/Codice inviato a \+39\*{5}556/).waitFor();
  await page.getByLabel('Codice di verifica').fill(await code(env.service.base, '+393334445556', before));
  await page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await page.getByText(/È necessario attendere la risposta/).waitFor();
});

test('a code that was not delivered says "non consegnato" and may go again at once', async () => {
  const { page } = await draftOnItsPage('fatture.testazienda@pec.it');
  await page.getByRole('button', { name: 'Modifica numero' }).click();
  // The local outbox never delivers to this number (UNDELIVERABLE_SMS).
  await page.getByLabel('Nuovo numero di cellulare').fill('+39 333 999 9999');
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText('Non consegnato: chiedi un nuovo invio.').waitFor();
  await page.getByText('Un nuovo invio è possibile ora.').waitFor();
  await check(page, 'code-not-delivered');
  await page.getByLabel('Nuovo numero di cellulare').fill('+39 333 000 0019');
  const before = await count(env.service.base, '+393330000019', /\b\d{6}\b/);
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText(/^Codice inviato a \+39\*{5}019\.$/).waitFor();
  assert.equal(await page.getByText('Non consegnato: chiedi un nuovo invio.').count(), 0, 'never both');
  // The number the code actually went to, not the one on file.
  await page.locator('.code-send strong').getByText('+39*****019').waitFor();
  await page.getByLabel('Codice di verifica').fill(await code(env.service.base, '+393330000019', before));
  await page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await page.getByText(/Richiesta confermata/).waitFor();
});

test('what the providers reported: a bounced invitation on the request page, a code "consegnato" only once delivered', async () => {
  const base = env.service.base;
  // A mailbox of its own, from the provider's inventory as the queue would bring it.
  await addMailbox(base, 'consegne@pec.it');
  const request = await openRequest(base, {
    items: [{ kind: 'mailbox', id: 'consegne@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  /** @param {string} id @param {string} outcome */
  const report = async (id, outcome) => {
    const r = await fetch(`${base}/dev/outbox/report`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ id, outcome }) });
    assert.equal(r.status, 200, await r.text());
  };
  const invitation = await message(base, 'amministrazione@testazienda.example.it', new RegExp(`gestisci#token=${request.id}\\.`));
  const delivered = await message(base, 'testdue@example.it', new RegExp(`gestisci#token=${request.id}\\.`));
  // The local outbox's page answers for the provider, as a developer would click it.
  const developer = await someone();
  await developer.goto(`${base}/dev/outbox.html`);
  await developer.locator(`button[onclick="report('${delivered.id}','delivered')"]`).click();
  await developer.getByRole('status').getByText(/"recorded":"recorded"/).waitFor();

  const reseller = await someone();
  await loginAsDemo(reseller);
  await reseller.goto(`${base}/#/cambio/${request.id}`);
  await reseller.getByText(/^Ultimo invito: consegnato il \d\d\/\d\d\/\d{4} alle \d\d:\d\d \(ora italiana\)\.$/).waitFor();
  await reseller.getByText('Ultimo invito: inviato, in attesa della conferma di consegna.').waitFor();
  // The page follows the report without a reload.
  await report(invitation.id, 'bounced');
  await reseller.getByText("Ultimo invito non consegnato: l'indirizzo non esiste o non riceve email. Correggi i contatti: un nuovo invito partirà al nuovo indirizzo.").waitFor({ timeout: 15_000 });
  await reseller.getByRole('form', { name: 'Correggi i contatti: Attuale titolare' }).getByLabel('Email corretta').waitFor();
  await reseller.getByText('Invito non consegnato', { exact: true }).first().waitFor();
  await check(reseller, 'request-invitation-bounced');

  // The current holder's code: "inviato" while the carrier has said nothing, then "consegnato".
  const current = await someone();
  await current.goto(await link(base, 'amministrazione@testazienda.example.it', 'gestisci', request.id));
  await current.getByRole('group', { name: /consegne@pec\.it/ }).getByLabel('Accetta').check();
  await current.getByRole('button', { name: 'Prosegui' }).click();
  await current.getByRole('heading', { name: 'Riepilogo' }).waitFor();
  await current.getByRole('button', { name: 'Prosegui' }).click();
  await current.getByRole('heading', { name: 'Verifica del numero di cellulare' }).first().waitFor();
  const before = await count(base, '+393470534905', /\b\d{6}\b/);
  await current.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await current.getByText(/^Codice inviato a \S+\.$/).waitFor();
  const sms = await message(base, '+393470534905', /\b\d{6}\b/, before);
  await report(sms.id, 'delivered');
  await current.getByText(/^Codice consegnato a \S+\.$/).waitFor({ timeout: 15_000 });
  await check(current, 'code-delivered');
  const api = await apiAs(base, 'demo');
  await api('POST', `/v1/transfers/${request.id}/cancel`);
});

test('the operator console: find a request by its mailbox, read it, send the invitation again; the account sees both', async () => {
  const base = env.service.base;
  await addMailbox(base, 'supporto@pec.it');
  const request = await openRequest(base, {
    items: [{ kind: 'mailbox', id: 'supporto@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });

  // Someone outside the operators' group is refused with words.
  const outsider = await someone();
  await loginAsDemo(outsider);
  await outsider.goto(`${base}/operatore#/?casella=supporto%40pec.it`);
  await outsider.getByText(/riservata all'assistenza del gestore/).first().waitFor();

  const operator = await someone();
  await operator.goto(`${base}/operatore`);
  await operator.getByLabel('operatore', { exact: true }).check();
  await operator.getByRole('button', { name: 'Accedi' }).click();
  await operator.getByRole('heading', { name: 'Cerca una richiesta' }).waitFor();
  await operator.getByLabel('Cerca per').selectOption('casella');
  await operator.getByLabel('Valore').fill('supporto@pec.it');
  await operator.getByRole('button', { name: 'Cerca' }).click();
  await operator.getByRole('link', { name: `Richiesta n. ${request.id}` }).waitFor();
  await check(operator, 'operator-search');
  await operator.getByRole('link', { name: `Richiesta n. ${request.id}` }).click();
  await operator.getByLabel('Motivo della consultazione (facoltativo)').fill("Il cliente chiede dell'invito");
  await operator.getByRole('button', { name: 'Apri la richiesta' }).click();
  await operator.getByRole('heading', { name: 'Messaggi' }).waitFor();
  await operator.getByRole('cell', { name: 'Consultata dall\'assistenza' }).first().waitFor();
  await check(operator, 'operator-request');

  // The invitation again, after the minute everyone waits; a reason is required.
  await advanceClock(base, 61);
  const invite = operator.getByRole('form', { name: "Invia di nuovo l'invito" });
  await invite.getByRole('button', { name: "Invia l'invito" }).click();
  await invite.getByText(/^Indica il motivo: resta nello storico/).first().waitFor();
  await invite.getByLabel('Motivo').fill('Non trova la prima email');
  await invite.getByRole('button', { name: "Invia l'invito" }).click();
  await operator.getByText('Invito inviato di nuovo.').waitFor();

  // The account reads both lines, with the operator and the reasons.
  const reseller = await someone();
  await loginAsDemo(reseller);
  await reseller.goto(`${base}/#/cambio/${request.id}`);
  await reseller.getByRole('cell', { name: 'Consultata dall\'assistenza' }).first().waitFor();
  await reseller.getByRole('cell', { name: "Motivo: Il cliente chiede dell'invito" }).waitFor();
  await reseller.getByRole('cell', { name: /Motivo: Non trova la prima email/ }).waitFor();
  assert.ok((await reseller.getByRole('cell', { name: 'Assistenza (operatore operatore)' }).count()) >= 2);
  await check(reseller, 'request-support-lines');

  // Cancelled from the console: the parties are told, the mailbox is free again.
  const cancel = operator.getByRole('form', { name: 'Annulla la richiesta' });
  await cancel.getByLabel('Motivo').fill('Aperta per errore, confermato al telefono');
  await cancel.getByRole('button', { name: 'Annulla la richiesta' }).click();
  await operator.getByText('Richiesta annullata: le parti sono state avvisate.').waitFor();
});

test('a link opened after the deadline says so, with nothing to click; an old ?token= link still opens', async () => {
  const request = await openRequest(env.service.base, {
    items: [{ kind: 'domain', id: 'testazienda-pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  const url = await link(env.service.base, 'amministrazione@testazienda.example.it', 'gestisci', request.id);
  const legacy = url.replace('/gestisci#token=', '/gestisci?token=');
  const page = await someone();
  await page.goto(legacy);
  await page.getByRole('heading', { name: `Gestisci richiesta n. ${request.id}` }).waitFor();
  assert.ok(!page.url().includes('token'), 'the token left the address bar');

  await advanceClock(env.service.base, 5 * 86_400 + 60);
  const late = await someone();
  await late.goto(url);
  await late.getByRole('heading', { name: 'Richiesta scaduta' }).waitFor();
  await late.getByText(/5 giorni/).waitFor();
  assert.equal(await late.getByRole('main').getByRole('button').count(), 0, 'nothing to click');
  await check(late, 'link-expired');
  // The request's page says who had not finished, and that nothing changed.
  const reseller = await someone();
  await loginAsDemo(reseller);
  await reseller.goto(`${env.service.base}/#/cambio/${request.id}`);
  await reseller.getByText('Scaduta prima che concludessero i loro passaggi: Attuale titolare, Nuovo titolare.', { exact: false }).waitFor();
  await check(reseller, 'request-expired');
});

test('another number held the request: the holder on file stops it from the link in their SMS', async () => {
  const base = env.service.base;
  const request = await openRequest(base, {
    items: [{ kind: 'domain', id: 'testazienda-pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  // The new holder's link, used with a number that is not theirs on file (set-up by the API).
  const gestisci = await link(base, 'testdue@example.it', 'gestisci', request.id);
  const bearer = new URL(gestisci).hash.slice('#token='.length);
  const party = async (/** @type {string} */ path, /** @type {unknown} */ body) => {
    const r = await fetch(`${base}${path}`, { method: 'POST', headers: { authorization: `Bearer ${bearer}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const answer = await r.json();
    assert.ok(r.ok, `${path}: ${r.status} ${JSON.stringify(answer)}`);
    return answer;
  };
  await party('/v1/party/decisions', { decisions: [{ item: 'testazienda-pec.it', accept: true }] });
  await party('/v1/party/contract', { accepted: ['condizioni-generali', 'privacy'] });
  await party('/v1/party/codes', { channel: 'sms', phone: '+39 347 555 1313' });
  const approved = await party('/v1/party/codes/verify', { channel: 'sms', code: await code(base, '+393475551313') });
  assert.ok(approved.hold_until, 'held');
  // The number on file is told, with the link that stops the request.
  const sms = await message(base, '+393330963300', /blocca#token=/);
  const stopLink = sms.text.match(/(https?:\/\/\S+\/blocca#token=[A-Za-z0-9._~-]+)/)?.[1];
  assert.ok(stopLink, sms.text);
  const page = await someone();
  await page.goto(stopLink);
  await page.getByRole('heading', { name: 'Blocca la richiesta' }).waitFor();
  assert.equal(new URL(page.url()).hash, '', 'the token leaves the address bar');
  await check(page, 'stop-request');
  await page.getByRole('button', { name: 'Blocca la richiesta' }).click();
  await page.getByRole('heading', { name: 'Richiesta bloccata' }).waitFor();
  assert.match(await page.locator('main').innerText(), new RegExp(`n\\. ${request.id} è bloccata e rifiutata`));
  await check(page, 'stop-request-done');
});

test('an item another request took meanwhile is named in words when the request is made', async () => {
  const base = env.service.base;
  const page = await someone();
  await loginAsDemo(page);
  await page.goto(`${base}/#/cambio/nuovo?mailbox=fatture.testazienda%40pec.it`);
  await page.getByRole('button', { name: 'Procedi' }).click();
  await page.getByRole('heading', { name: /Passo 2 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Casella PEC fatture.testazienda@pec.it').isChecked());
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 3 di 6/ }).waitFor();
  await page.getByLabel('Id Titolare').fill('963300');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('button', { name: 'Scegli il titolare 963300' }).click();
  await page.getByRole('heading', { name: /Passo 4 di 6/ }).waitFor();
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 5 di 6/ }).waitFor();
  // Meanwhile another request takes the mailbox: the refusal names it as the screen does.
  const other = await openRequest(base, {
    items: [{ kind: 'mailbox', id: 'fatture.testazienda@pec.it' }],
    management: { mode: 'keep' },
    new_holder_id: '963300',
  });
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('alert').getByText(`Elementi, n. 1: La casella fatture.testazienda@pec.it è in una richiesta in corso, n. ${other.id}.`).waitFor();
  assert.doesNotMatch(await page.getByRole('alert').innerText(), /items\[/);
  const api = await apiAs(base, 'demo');
  await api('POST', `/v1/transfers/${other.id}/cancel`);
});
