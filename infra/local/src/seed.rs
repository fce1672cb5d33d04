//! Demo data, the examples of docs/rules.md: account `demo` (holders 19, 900008, 963300,
//! 534905, mailboxes teste1234@pec.it and fatture.testazienda@pec.it and domain
//! testazienda-pec.it of 534905, marco.test@pec.it, demo@pec.it, a suspended one) and account
//! `demo2` with data of its own. Seeded once: a restart keeps whatever the data has become
//! since.

use serde_json::{Value, json};
use titolare_domain::ports::{AccountReader, Fixtures, InventoryWriter, StoreError};
use titolare_domain::values::CodiceFiscale;
use titolare_domain::*;

fn holder(id: u64, json: serde_json::Value) -> Holder {
    let fields = serde_json::from_value(json).expect("demo holder fields");
    Holder::create(HolderId::from_number(id), &fields).expect("demo holder is valid")
}

fn person(
    id: u64,
    nome: &str,
    cognome: &str,
    cf: &str,
    address: (&str, &str, &str, &str),
    cellulare: &str,
    email: &str,
) -> Holder {
    let (indirizzo, cap, provincia, comune) = address;
    holder(
        id,
        json!({
            "tipo": "privato", "nome": nome, "cognome": cognome, "codice_fiscale": cf,
            "indirizzo": indirizzo, "cap": cap, "provincia": provincia, "comune": comune,
            "cellulare": cellulare, "email": email,
        }),
    )
}

fn cf(cognome: &str, nome: &str, birth: &str, place: &str) -> String {
    CodiceFiscale::for_person(cognome, nome, birth, place)
        .expect("demo codice fiscale")
        .as_str()
        .to_owned()
}

/// A mailbox as the provider's inventory sends it (certified, with one login on record).
fn mailbox(
    account: &str,
    address: &str,
    holder: u64,
    kind: &str,
    end: &str,
    requested: &str,
) -> Value {
    json!({
        "schema": 1, "type": "mailbox.upserted", "version": 1, "account": account,
        "mailbox": {
            "address": address, "holder_id": holder.to_string(), "status": "Certificato",
            "kind": kind, "inbox_gb": 1, "end_of_service": end, "requested_on": requested,
            "certified_on": requested, "renewal": "A Scadenza", "duration": "1 Anno",
            "access_history": [{ "at": "2026-11-20T09:15:00Z", "ip": "198.51.100.7", "client": "webmail" }],
            "rules": ["Sposta le fatture nella cartella Fatture"],
        }
    })
}

fn domain(account: &str, name: &str, holder: u64, registered: &str, end: &str) -> Value {
    json!({
        "schema": 1, "type": "domain.upserted", "version": 1, "account": account,
        "domain": {
            "name": name, "holder_id": holder.to_string(), "status": "Attivo",
            "registered_on": registered, "end_of_service": end,
        }
    })
}

fn account(id: &str, own_holder: u64, role: &str) -> Value {
    json!({
        "schema": 1, "type": "account.upserted", "version": 1,
        "account": { "id": id, "username": id, "own_holder_id": own_holder.to_string(), "role": role }
    })
}

/// Sends the demo inventory through the ingest path the queue's messages take.
async fn ingest<S: InventoryWriter + ?Sized>(
    store: &S,
    messages: &[Value],
) -> Result<(), StoreError> {
    for message in messages {
        titolare_api::inventory::ingest(store, &message.to_string())
            .await
            .map_err(|e| StoreError::Unavailable(format!("demo inventory: {e}")))?;
    }
    Ok(())
}

pub async fn demo<S: Fixtures + AccountReader + InventoryWriter + ?Sized>(
    store: &S,
) -> Result<(), StoreError> {
    let demo = AccountId::parse("demo").expect("demo account id");
    if store.account(&demo).await?.is_none() {
        let holders = [
            person(
                19,
                "test",
                "test",
                &cf("test", "test", "80A01", "H501"),
                ("Via Roma 1", "00185", "RM", "Roma"),
                "+39 333 0000019",
                "test.test@example.it",
            ),
            person(
                900008,
                "marco",
                "test",
                &cf("test", "marco", "85M15", "F205"),
                ("Corso Buenos Aires 10", "20124", "MI", "Milano"),
                "+39 333 0900008",
                "marco.test@example.it",
            ),
            person(
                963300,
                "testdue",
                "duetest",
                "DTSTTD90A01A851Q",
                ("Via del Casentino 5", "52011", "AR", "Bibbiena"),
                "+39 333 0963300",
                "testdue@example.it",
            ),
            holder(
                534905,
                json!({
                    "tipo": "azienda", "ragione_sociale": "Test Azienda S.r.l.", "partita_iva": "12345670587",
                    "codice_fiscale_azienda": "12345670587", "indirizzo": "Via Nazionale 100", "cap": "00184",
                    "provincia": "RM", "comune": "Roma", "telefono": "+39 06 1234567", "cellulare": "+39 347 0534905",
                    "email": "amministrazione@testazienda.example.it",
                }),
            ),
        ];
        for h in &holders {
            store.seed_holder(&demo, h).await?;
        }
        // The account last: its presence says the seed is complete.
        ingest(
            store,
            &[
                mailbox(
                    "demo",
                    "teste1234@pec.it",
                    534905,
                    "Standard",
                    "2027-06-30",
                    "2011-06-30",
                ),
                mailbox(
                    "demo",
                    "marco.test@pec.it",
                    900008,
                    "Pro",
                    "2027-03-31",
                    "2019-03-31",
                ),
                mailbox(
                    "demo",
                    "demo@pec.it",
                    19,
                    "Standard",
                    "2027-09-30",
                    "2020-09-30",
                ),
                mailbox(
                    "demo",
                    "fatture.testazienda@pec.it",
                    534905,
                    "Premium",
                    "2027-06-30",
                    "2021-06-30",
                ),
                // Not active: a transfer refuses it.
                {
                    let mut m = mailbox(
                        "demo",
                        "sospesa@pec.it",
                        900008,
                        "Standard",
                        "2027-01-31",
                        "2018-01-31",
                    );
                    m["mailbox"]["status"] = json!("Sospeso");
                    m
                },
                domain(
                    "demo",
                    "testazienda-pec.it",
                    534905,
                    "2015-04-01",
                    "2027-04-01",
                ),
                account("demo", 19, "rivenditore"),
            ],
        )
        .await?;
    }
    let demo2 = AccountId::parse("demo2").expect("demo2 account id");
    if store.account(&demo2).await?.is_none() {
        let anna = person(
            700001,
            "Anna",
            "Bianchi",
            &cf("Bianchi", "Anna", "75D52", "L219"),
            ("Via Po 3", "10123", "TO", "Torino"),
            "+39 333 0700001",
            "anna.bianchi@example.it",
        );
        store.seed_holder(&demo2, &anna).await?;
        ingest(
            store,
            &[
                mailbox(
                    "demo2",
                    "anna.bianchi@pec.it",
                    700001,
                    "Premium",
                    "2028-01-31",
                    "2022-01-31",
                ),
                domain(
                    "demo2",
                    "bianchi-pec.it",
                    700001,
                    "2022-01-31",
                    "2028-01-31",
                ),
                account("demo2", 700001, "cliente"),
            ],
        )
        .await?;
    }
    Ok(())
}
