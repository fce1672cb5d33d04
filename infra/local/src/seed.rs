//! Demo data, the examples of docs/rules.md: account `demo` (holders 19, 900008, 963300,
//! 534905, mailboxes teste1234@pec.it and fatture.testazienda@pec.it and domain
//! testazienda-pec.it of 534905, marco.test@pec.it, demo@pec.it, a suspended one) and account
//! `demo2` with data of its own. Seeded once: a restart keeps whatever the data has become
//! since.

use titolare_domain::ports::{AccountReader, Fixtures, StoreError};
use titolare_domain::values::{CodiceFiscale, EmailAddress};
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
        serde_json::json!({
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

fn date(s: &str) -> jiff::civil::Date {
    s.parse().expect("demo date")
}

fn mailbox(address: &str, holder: u64, kind: &str, end: &str, requested: &str) -> Mailbox {
    Mailbox {
        address: EmailAddress::parse(address).expect("demo address"),
        holder_id: HolderId::from_number(holder),
        status: ServiceStatus::Certificato,
        kind: kind.into(),
        inbox_gb: 1,
        inbox_extra_gb: 0,
        archive_gb: None,
        end_of_service: date(end),
        requested_on: date(requested),
        certified_on: Some(date(requested)),
        cancelled_on: None,
        renewal: "A Scadenza".into(),
        duration: "1 Anno".into(),
        cliente_finale: false,
        password_hash: None,
        password_reset_required: false,
        password_reset_issued_at: None,
        password_reset_links: 0,
        moved_by: None,
        password_reset_to: None,
        access_history: vec![Access {
            at: "2026-11-20T09:15:00Z".parse().expect("demo time"),
            ip: "198.51.100.7".into(),
            client: "webmail".into(),
        }],
        rules: vec!["Sposta le fatture nella cartella Fatture".into()],
    }
}

pub async fn demo<S: Fixtures + AccountReader + ?Sized>(store: &S) -> Result<(), StoreError> {
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
                serde_json::json!({
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
        store
            .put_mailbox(
                &demo,
                &mailbox(
                    "teste1234@pec.it",
                    534905,
                    "Standard",
                    "2027-06-30",
                    "2011-06-30",
                ),
            )
            .await?;
        store
            .put_mailbox(
                &demo,
                &mailbox(
                    "marco.test@pec.it",
                    900008,
                    "Pro",
                    "2027-03-31",
                    "2019-03-31",
                ),
            )
            .await?;
        store
            .put_mailbox(
                &demo,
                &mailbox("demo@pec.it", 19, "Standard", "2027-09-30", "2020-09-30"),
            )
            .await?;
        store
            .put_mailbox(
                &demo,
                &mailbox(
                    "fatture.testazienda@pec.it",
                    534905,
                    "Premium",
                    "2027-06-30",
                    "2021-06-30",
                ),
            )
            .await?;
        // Not active: a transfer refuses it.
        store
            .put_mailbox(
                &demo,
                &Mailbox {
                    status: ServiceStatus::Sospeso,
                    ..mailbox(
                        "sospesa@pec.it",
                        900008,
                        "Standard",
                        "2027-01-31",
                        "2018-01-31",
                    )
                },
            )
            .await?;
        store
            .put_domain(
                &demo,
                &CertifiedDomain {
                    name: "testazienda-pec.it".into(),
                    holder_id: HolderId::from_number(534905),
                    status: ServiceStatus::Attivo,
                    registered_on: date("2015-04-01"),
                    end_of_service: date("2027-04-01"),
                },
            )
            .await?;
        // Written last: its presence says the seed is complete.
        store
            .put_account(&Account {
                id: demo,
                username: "demo".into(),
                own_holder_id: Some(HolderId::from_number(19)),
                role: AccountRole::Rivenditore,
            })
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
        store
            .put_mailbox(
                &demo2,
                &mailbox(
                    "anna.bianchi@pec.it",
                    700001,
                    "Premium",
                    "2028-01-31",
                    "2022-01-31",
                ),
            )
            .await?;
        store
            .put_domain(
                &demo2,
                &CertifiedDomain {
                    name: "bianchi-pec.it".into(),
                    holder_id: HolderId::from_number(700001),
                    status: ServiceStatus::Attivo,
                    registered_on: date("2022-01-31"),
                    end_of_service: date("2028-01-31"),
                },
            )
            .await?;
        store
            .put_account(&Account {
                id: demo2,
                username: "demo2".into(),
                own_holder_id: Some(HolderId::from_number(700001)),
                role: AccountRole::Cliente,
            })
            .await?;
    }
    Ok(())
}
