// Seed 000 through the pages only: the reseller, the current holder and the new holder, each in
// a browser of their own, with nothing but clicks, typing and the codes at /dev/outbox.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { advanceClock, assertAccessible, check, code, count, link, outbox, person, useServiceAndBrowser } from './support.mjs';

const RESELLER_MOBILE = '+393330000019';
const CURRENT_HOLDER_EMAIL = 'amministrazione@testazienda.example.it';
const NEW_HOLDER_EMAIL = 'testdue@example.it';

const env = useServiceAndBrowser();


test('the reference flow: a change of holder of two mailboxes and a domain, through the pages only', async () => {
  const base = env.service.base;
  const reseller = await person(env.browser);
  const page = reseller.page;

  // The reseller logs in: the five sections and the profile.
  await page.goto(`${base}/`);
  await check(page, 'login');
  await page.getByLabel('demo', { exact: true }).check();
  await page.getByRole('button', { name: 'Accedi' }).click();
  await page.getByRole('heading', { name: 'Benvenuto, test test' }).waitFor();
  await assert.doesNotReject(page.getByText('Profilo: Rivenditore').waitFor());
  for (const section of ['I tuoi titolari', 'Le tue email', 'I tuoi Domini', 'Esito Operazioni', 'Cambio titolare PEC']) {
    await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: section }).waitFor();
  }
  await check(page, 'home');

  // I tuoi titolari: a search with no criterion is refused by the API, in words.
  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'I tuoi titolari' }).click();
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('alert').getByText(/almeno un criterio/).waitFor();
  // A wrong criterion is said beside its field, in the field's own words in the summary.
  await page.getByLabel('Id Titolare', { exact: true }).fill('abc');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('alert').getByText(/^Id Titolare: /).waitFor();
  assert.equal(await page.getByLabel('Id Titolare', { exact: true }).getAttribute('aria-invalid'), 'true', 'the field is marked');
  await page.getByLabel('Id Titolare', { exact: true }).fill('');
  // Finds holder 963300 by its codice fiscale, opens it, corrects an editable field.
  await page.getByLabel('Codice Fiscale', { exact: true }).fill('DTSTTD90A01A851Q');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByText('righe: 1 - 1 di 1').waitFor();
  await check(page, 'holders-search');
  await page.getByRole('link', { name: 'Dettaglio del titolare 963300' }).click();
  await page.getByRole('heading', { name: 'Dettaglio Titolare' }).waitFor();
  await check(page, 'holder-detail');
  await page.getByRole('link', { name: 'Modifica' }).click();
  await page.getByText('In giallo saranno visualizzati i campi modificabili').waitFor();
  assert.equal(await page.getByLabel('Codice Fiscale', { exact: true }).getAttribute('readonly'), '', 'a fixed field is read-only');
  assert.equal(await page.getByLabel('Nome', { exact: true }).getAttribute('readonly'), '');
  assert.equal(await page.getByLabel('Indirizzo').getAttribute('readonly'), null, 'an editable field is not');
  assert.match(await page.getByLabel('Indirizzo').evaluate((e) => e.closest('.field')?.className ?? ''), /editable/);
  await check(page, 'holder-edit');
  await page.getByLabel('Indirizzo').fill('Via Garibaldi 10');
  await page.getByRole('button', { name: 'Conferma' }).click();
  await page.getByText('Operazione effettuata con successo').waitFor();
  await page.getByText('Via Garibaldi 10').waitFor();

  // Le tue email: "PEC di altri titolari", the detail and its "Cambio Titolare".
  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'Le tue email' }).click();
  await page.getByLabel('PEC di altri titolari').check();
  await page.getByRole('button', { name: 'Cerca' }).click();
  // The filtered list is a page of its own: the unfiltered one may still be shown until then.
  await page.waitForURL(/held_by_others=true/);
  await page.getByRole('link', { name: 'teste1234@pec.it', exact: true }).waitFor();
  assert.equal(await page.getByRole('link', { name: 'demo@pec.it', exact: true }).count(), 0, 'the account\'s own mailbox is filtered out');
  await page.getByRole('link', { name: 'Test Azienda S.r.l. (534905)' }).first().waitFor();
  // By the start of the address, in any case.
  await page.getByLabel('Indirizzo che inizia con').fill('FATT');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('link', { name: 'fatture.testazienda@pec.it', exact: true }).waitFor();
  // Only addresses starting with the text (the earlier list goes once the answer is drawn).
  await page.getByRole('link', { name: 'teste1234@pec.it', exact: true }).waitFor({ state: 'detached' });
  await page.getByLabel('Indirizzo che inizia con').fill('');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByRole('link', { name: 'teste1234@pec.it', exact: true }).waitFor();
  await check(page, 'mailboxes');
  await page.getByRole('link', { name: 'teste1234@pec.it', exact: true }).click();
  await page.getByRole('heading', { name: 'Dati Email' }).waitFor();
  await page.getByText('1Gb base+0Gb extra').waitFor();
  await check(page, 'mailbox-detail');
  await page.getByRole('link', { name: 'Cambio Titolare', exact: true }).click();

  // The new-transfer form, the initiator's steps of docs/rules.md.
  await page.getByRole('heading', { name: /Passo 1 di 6/ }).waitFor();
  await check(page, 'new-transfer-1-needs');
  await page.getByRole('button', { name: 'Procedi' }).click();
  await page.getByRole('heading', { name: /Passo 2 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Casella PEC teste1234@pec.it').isChecked(), 'the mailbox the detail started from is chosen');
  // An item that cannot go in a request says why where it is chosen, and cannot be ticked;
  // while one holder's items are ticked, another holder's wait.
  assert.ok(await page.getByLabel('Casella PEC sospesa@pec.it: non selezionabile, sospesa').isDisabled(), 'a suspended mailbox');
  assert.ok(await page.getByLabel('Casella PEC marco.test@pec.it').isDisabled(), "another holder's mailbox waits");
  await page.getByRole('group', { name: /Id 900008/ }).getByText(/Una richiesta riguarda un solo attuale titolare/).waitFor();
  await page.getByRole('group', { name: 'Attuale titolare: Test Azienda S.r.l. (Id 534905)' }).waitFor();
  await page.getByLabel('Casella PEC fatture.testazienda@pec.it').check();
  await page.getByLabel('Dominio testazienda-pec.it').check();
  await check(page, 'new-transfer-2-items');
  // A reload keeps the ticks; Back and Forward move between the steps.
  await page.reload();
  await page.getByRole('heading', { name: /Passo 2 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Dominio testazienda-pec.it').isChecked(), 'a reload keeps what was ticked');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 3 di 6/ }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: /Passo 2 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Casella PEC fatture.testazienda@pec.it').isChecked(), 'Back shows the choice made');
  await page.goForward();
  await page.getByRole('heading', { name: /Passo 3 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Profilo titolare che gestisci col tuo username').isChecked());
  assert.ok(await page.getByLabel('Scegli un profilo titolare esistente').isChecked());
  await page.getByLabel('Id Titolare').fill('963300');
  await page.getByRole('button', { name: 'Cerca' }).click();
  await page.getByText('righe: 1 - 1 di 1').waitFor();
  await check(page, 'new-transfer-3-holder');
  await page.getByRole('button', { name: 'Scegli' }).click();
  await page.getByRole('heading', { name: /Passo 4 di 6/ }).waitFor();
  await page.reload();
  await page.getByRole('heading', { name: /Passo 4 di 6/ }).waitFor();
  assert.equal(await page.getByLabel('Indirizzo').inputValue(), 'Via Garibaldi 10', 'the corrected profile, after a reload');
  await check(page, 'new-transfer-4-data');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 5 di 6/ }).waitFor();
  await page.reload();
  await page.getByText('Nuovo titolare: testdue duetest').waitFor();
  await page.getByText(/attuale titolare: Test Azienda S\.r\.l\., Id 534905/).first().waitFor();
  await check(page, 'new-transfer-5-summary');
  await page.getByRole('button', { name: 'Prosegui' }).click();
  await page.getByRole('heading', { name: /Passo 6 di 6/ }).waitFor();
  assert.match(page.url(), /#\/cambio\/nuovo\?richiesta=1$/, 'the draft has its own address');
  // A reload of the SMS step resumes the draft, not a new request.
  await page.reload();
  await page.getByRole('heading', { name: /Passo 6 di 6/ }).waitFor();
  await page.getByText('+39*****019').waitFor();
  const smsBefore = await count(base, RESELLER_MOBILE, /\b\d{6}\b/);
  await page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await page.getByText(/Nuovo invio possibile tra \d+ secondi/).waitFor();
  await page.getByText('Tentativi rimasti: 5.').waitFor();
  await check(page, 'new-transfer-6-code');
  await page.getByLabel('Codice di verifica').fill(await code(base, RESELLER_MOBILE, smsBefore));
  await page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await page.getByText(/È necessario attendere la risposta/).waitFor();
  await check(page, 'new-transfer-done');
  // Reload and Back from here lead to this request, never to a second one.
  await page.reload();
  await page.getByRole('heading', { name: 'Cambio titolare PEC: richiesta inviata' }).waitFor();
  await page.goBack();
  await page.getByRole('heading', { name: 'Cambio titolare PEC: richiesta inviata' }).waitFor();
  await page.getByRole('link', { name: 'Vai alla richiesta n. 1' }).click();
  await page.getByRole('heading', { name: 'Richiesta di cambio titolare n. 1' }).waitFor();
  await page.getByText('In corso', { exact: true }).waitFor();
  await check(page, 'request-open');
  // A new request: the mailboxes of request n. 1 say so at step 2.
  await page.getByRole('link', { name: 'Indietro' }).click();
  await page.getByRole('link', { name: 'Crea nuova richiesta' }).click();
  await page.getByRole('button', { name: 'Procedi' }).click();
  await page.getByRole('heading', { name: /Passo 2 di 6/ }).waitFor();
  assert.ok(await page.getByLabel('Casella PEC teste1234@pec.it: non selezionabile, in una richiesta in corso, n. 1').isDisabled());
  assert.equal(await page.getByRole('checkbox', { checked: true }).count(), 0, 'a new request starts with nothing ticked');
  await check(page, 'new-transfer-2-unavailable');
  await page.goto(`${base}/#/cambio/1`);
  await page.getByText('In corso', { exact: true }).waitFor();

  // The current holder opens the link emailed to them: accepts everything, then the SMS code.
  const current = await person(env.browser);
  await current.page.goto(await link(base, CURRENT_HOLDER_EMAIL, 'gestisci'));
  await current.page.getByRole('heading', { name: 'Gestisci richiesta n. 1' }).waitFor();
  assert.ok(!current.page.url().includes('token'), 'the token left the address bar');
  await current.page.getByText(/cancellare il contenuto delle caselle PEC/).waitFor();
  await current.page.getByText('Ti è stato chiesto di cedere questi servizi, di cui sei titolare, a testdue duetest.').waitFor();
  await check(current.page, 'current-decisions');
  for (const item of ['teste1234@pec.it', 'fatture.testazienda@pec.it', 'testazienda-pec.it']) {
    await current.page.getByRole('group', { name: new RegExp(item.replaceAll('.', '\\.')) }).getByLabel('Accetta').check();
  }
  await current.page.getByRole('button', { name: 'Prosegui' }).click();
  await current.page.getByRole('heading', { name: 'Riepilogo' }).waitFor();
  await check(current.page, 'current-summary');
  await current.page.getByRole('button', { name: 'Prosegui' }).click();
  await current.page.getByRole('heading', { name: 'Verifica del numero di cellulare' }).first().waitFor();
  const currentMobile = '+393470534905';
  const currentBefore = await count(base, currentMobile, /\b\d{6}\b/);
  await current.page.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await current.page.getByText(/Codice inviato a \S/).waitFor();
  await check(current.page, 'current-sms');
  await current.page.getByLabel('Codice di verifica').fill(await code(base, currentMobile, currentBefore));
  await current.page.getByRole('button', { name: 'Verifica', exact: true }).click();
  await current.page.getByRole('heading', { name: 'Hai completato i tuoi passaggi' }).waitFor();
  await current.page.getByText(/attendere la risposta del nuovo titolare/).waitFor();
  await check(current.page, 'current-done');

  // The new holder: rejects one mailbox, accepts the rest, contract, SMS and email codes.
  const fresh = await person(env.browser);
  const np = fresh.page;
  await np.goto(await link(base, NEW_HOLDER_EMAIL, 'gestisci'));
  await np.getByRole('heading', { name: 'Gestisci richiesta n. 1' }).waitFor();
  // A proposal, not a fact, until the change completes.
  await np.getByText('Ti è stato proposto di diventare titolare di questi servizi, oggi intestati a Test Azienda S.r.l.').waitFor();
  assert.ok(!np.url().includes('token'), 'the token left the address bar');
  await np.getByText(/Lo storico degli accessi alla casella viene azzerato/).waitFor();
  await check(np, 'new-decisions');
  await np.getByRole('group', { name: /teste1234@pec\.it/ }).getByLabel('Accetta').check();
  await np.getByRole('group', { name: /fatture\.testazienda@pec\.it/ }).getByLabel('Rifiuta').check();
  await np.getByRole('group', { name: /testazienda-pec\.it/ }).getByLabel('Accetta').check();
  await np.getByRole('button', { name: 'Prosegui' }).click();
  await np.getByText('fatture.testazienda@pec.it: rifiuti il cambio').waitFor();
  await np.getByRole('button', { name: 'Prosegui' }).click();
  await np.getByRole('heading', { name: 'Accettazione delle condizioni contrattuali' }).waitFor();
  await check(np, 'new-contract');
  // The required conditions are needed: the API says which are missing.
  await np.getByRole('button', { name: 'Prosegui' }).click();
  await np.getByRole('alert').waitFor();
  // In the words of the screen, never the API's field code, and said once.
  const alert = await np.getByRole('alert').innerText();
  assert.match(alert, /^Per proseguire accetta le condizioni obbligatorie: «Condizioni generali/);
  assert.doesNotMatch(alert, /accepted/);
  assert.equal(alert.split('Per proseguire').length, 2, 'said once');
  await np.getByLabel('Accetto le Condizioni generali di contratto del servizio PEC (obbligatorio)').check();
  await np.getByLabel("Dichiaro di aver letto l'Informativa sul trattamento dei dati personali (obbligatorio)").check();
  await np.getByRole('button', { name: 'Prosegui' }).click();
  await np.getByRole('heading', { name: 'Verifica del numero di cellulare' }).first().waitFor();
  const newMobile = '+393330963300';
  const newBefore = await count(base, newMobile, /\b\d{6}\b/);
  await np.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await np.getByText(/Codice inviato a \S/).waitFor();
  await np.getByLabel('Codice di verifica').fill(await code(base, newMobile, newBefore));
  await np.getByRole('button', { name: 'Verifica', exact: true }).click();
  await np.getByRole('heading', { name: "Verifica dell'indirizzo email" }).first().waitFor();
  await check(np, 'new-email');
  const mailBefore = await count(base, NEW_HOLDER_EMAIL, /\b\d{6}\b/);
  await np.getByRole('button', { name: 'Invia codice di verifica' }).click();
  await np.getByText(/Codice inviato a \S/).waitFor();
  await np.getByLabel('Codice di verifica').fill(await code(base, NEW_HOLDER_EMAIL, mailBefore));
  await np.getByRole('button', { name: 'Verifica', exact: true }).click();
  await np.getByRole('heading', { name: 'Cambio titolare completato' }).waitFor();
  await np.getByText(/link per impostare la password/).waitFor();
  await check(np, 'new-done');

  // The reseller sees the outcome: the request, the operations, the mailboxes.
  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'Cambio titolare PEC' }).click();
  await page.goto(`${base}/#/cambio/1`);
  await page.getByText('Completata', { exact: true }).waitFor();
  await page.getByRole('cell', { name: 'Trasferito al nuovo titolare' }).first().waitFor();
  await page.getByRole('cell', { name: "Rimasto all'attuale titolare" }).waitFor();
  // The local mail platform has applied the change (the page drawn again if it was waiting).
  const applied = /^Applicato dal sistema di posta il \d\d\/\d\d\/\d{4} alle \d\d:\d\d \(ora italiana\)$/;
  if (await page.getByRole('cell', { name: applied }).count() === 0) {
    await page.reload();
    await page.getByRole('cell', { name: applied }).first().waitFor();
  }
  assert.equal(await page.getByRole('cell', { name: applied }).count(), 2, 'both moved items applied');
  await check(page, 'request-completed');
  await page.getByRole('navigation', { name: 'Sezioni' }).getByRole('link', { name: 'Esito Operazioni' }).click();
  await page.getByRole('cell', { name: 'Cambio titolare completato' }).waitFor();
  await page.getByRole('cell', { name: 'Modifica titolare' }).waitFor();
  await check(page, 'operations');
  await page.goto(`${base}/#/email/teste1234%40pec.it`);
  await page.getByRole('heading', { name: 'Dati Email' }).waitFor();
  await page.getByRole('link', { name: 'testdue duetest (963300)' }).waitFor();
  await page.getByText('Nessun accesso registrato.').waitFor();
  await page.goto(`${base}/#/email/fatture.testazienda%40pec.it`);
  await page.getByRole('link', { name: 'Test Azienda S.r.l. (534905)' }).waitFor();
  await page.goto(`${base}/#/domini/testazienda-pec.it`);
  await page.getByRole('link', { name: 'testdue duetest (963300)' }).waitFor();
  await check(page, 'domain-detail');

  for (const p of [reseller, current, fresh]) {
    assert.deepEqual(p.problems, [], 'no page logged an error');
    await p.context.close();
  }

  // A day later the password link has lapsed: its page offers a new one, sent to the
  // holder's email on file, and the new link sets the password.
  await advanceClock(base, 86_400);
  const owner = await person(env.browser);
  const lapsed = await link(base, NEW_HOLDER_EMAIL, 'password');
  await owner.page.goto(lapsed);
  // The page reads the link first: it names the mailbox and says the link lapsed, with no
  // form to fill in vain.
  await owner.page.getByRole('heading', { name: 'Link scaduto' }).waitFor();
  assert.ok(!owner.page.url().includes('token'), 'the token left the address bar');
  await owner.page.getByText('Casella teste1234@pec.it').waitFor();
  await owner.page.getByText(/è scaduto/).first().waitFor();
  assert.equal(await owner.page.getByLabel('Nuova password', { exact: true }).count(), 0, 'no form for a lapsed link');
  await check(owner.page, 'password-lapsed');
  await owner.page.getByRole('button', { name: 'Inviami un nuovo link' }).click();
  await owner.page.getByText(/Ti abbiamo inviato un nuovo link a t\*\*\*@example\.it/).waitFor();
  await check(owner.page, 'password-new-link');
  /** @type {string[]} */
  let links = [];
  for (let i = 0; i < 200 && links.length < 2; i++) {
    links = (await outbox(base))
      .filter((m) => m.to === NEW_HOLDER_EMAIL)
      .map((m) => m.text.match(/(https?:\/\/\S+\/password#token=[A-Za-z0-9._~-]+)/)?.[1])
      .filter((url) => url !== undefined);
    await new Promise((r) => setTimeout(r, 50));
  }
  const renewed = links.find((url) => url !== lapsed);
  assert.ok(renewed, 'a new link reached the new holder');
  // The new link opens in a fresh tab, as from the email.
  const again = await owner.context.newPage();
  await again.goto(renewed);
  await again.getByRole('heading', { name: 'Imposta la password' }).waitFor();
  await again.getByText('Casella teste1234@pec.it').waitFor();
  await check(again, 'password');
  await again.getByLabel('Nuova password', { exact: true }).fill('Nuova-Password-2026');
  await again.getByLabel('Ripeti la nuova password').fill('Nuova-Password-2026');
  await again.getByRole('button', { name: 'Conferma' }).click();
  await again.getByText('Password impostata per la casella teste1234@pec.it.', { exact: false }).waitFor();
  await check(again, 'password-done');
  // The same link opened again in the same tab (only the fragment changes): it was used, and
  // the page says so at once.
  await again.goto(renewed);
  await again.getByRole('heading', { name: 'Password già impostata' }).waitFor();
  assert.equal(await again.getByLabel('Nuova password', { exact: true }).count(), 0, 'no form for a used link');
  assert.deepEqual(owner.problems, [], 'no page logged an error');
  await owner.context.close();
  assertAccessible();
});
