use super::*;
use proptest::prelude::*;

fn fields(json: serde_json::Value) -> HolderFields {
    serde_json::from_value(json).unwrap()
}

pub(crate) fn privato() -> serde_json::Value {
    serde_json::json!({
        "tipo": "privato", "nome": "testdue", "cognome": "duetest",
        "codice_fiscale": "dtsttd90a01a851q", "indirizzo": "Via Roma 1", "cap": "52011",
        "provincia": "ar", "comune": "bibbiena", "cellulare": "333 1234567",
        "email": "testdue@example.it"
    })
}

fn azienda() -> serde_json::Value {
    serde_json::json!({
        "tipo": "azienda", "ragione_sociale": "Esempio S.r.l.", "partita_iva": "06363391001",
        "codice_fiscale_azienda": "06363391001", "indirizzo": "Via Milano 2", "cap": "00185",
        "provincia": "RM", "comune": "Roma", "cellulare": "+39 347 7654321",
        "email": "info@esempio.it", "telefono": "06 1234 5678"
    })
}

#[test]
fn creates_and_normalises_a_privato() {
    let h = Holder::create(HolderId::parse("963300").unwrap(), &fields(privato())).unwrap();
    assert_eq!(
        h.codice_fiscale.as_ref().unwrap().as_str(),
        "DTSTTD90A01A851Q"
    );
    assert_eq!(h.provincia.as_ref().unwrap().as_str(), "AR");
    assert_eq!(h.comune, "Bibbiena");
    assert_eq!(h.cellulare.as_str(), "+393331234567");
    assert_eq!(h.nazione, Nazione::Italia);
    let json = serde_json::to_value(&h).unwrap();
    assert_eq!(json["id"], "963300");
    assert_eq!(serde_json::from_value::<Holder>(json).unwrap(), h);
}

#[test]
fn reports_every_field_error_at_once() {
    let mut input = privato();
    input["codice_fiscale"] = "RSSMRA80A01H501X".into();
    input["cap"] = "1234".into();
    input["comune"] = "Milano".into();
    input["cellulare"] = "06 1234 5678".into();
    input["partita_iva"] = "06363391001".into();
    input.as_object_mut().unwrap().remove("email");
    let errors = Holder::create(HolderId::from_number(1), &fields(input)).unwrap_err();
    let named: Vec<_> = errors.fields().collect();
    assert_eq!(
        named,
        [
            "cap",
            "cellulare",
            "codice_fiscale",
            "comune",
            "email",
            "partita_iva"
        ]
    );
    assert_eq!(errors.get("email"), Some("Campo obbligatorio."));
}

#[test]
fn codice_fiscale_must_match_the_person() {
    let mut input = privato();
    input["nome"] = "Mario".into();
    let errors = Holder::create(HolderId::from_number(1), &fields(input)).unwrap_err();
    assert_eq!(
        errors.get("codice_fiscale"),
        Some("Il codice fiscale non corrisponde al nome.")
    );
}

#[test]
fn required_fields_depend_on_tipo() {
    let errors = Holder::create(
        HolderId::from_number(1),
        &fields(serde_json::json!({"tipo": "azienda"})),
    )
    .unwrap_err();
    for f in [
        "ragione_sociale",
        "partita_iva",
        "codice_fiscale_azienda",
        "indirizzo",
        "cap",
        "comune",
        "cellulare",
        "email",
        "provincia",
    ] {
        assert!(errors.get(f).is_some(), "{f}");
    }
    assert!(errors.get("nome").is_none());
    let errors = Holder::create(
        HolderId::from_number(1),
        &fields(serde_json::json!({"tipo": "libero_professionista"})),
    )
    .unwrap_err();
    assert!(errors.get("partita_iva").is_some());
    assert!(Holder::create(HolderId::from_number(1), &fields(azienda())).is_ok());
}

#[test]
fn fixed_fields_refuse_the_whole_update() {
    let h = Holder::create(HolderId::from_number(19), &fields(privato())).unwrap();
    let err = h
        .update(&fields(serde_json::json!({"nome": "Marco", "codice_fiscale": "RSSMRA80A01H501U", "indirizzo": "Via Nuova 3"})))
        .unwrap_err();
    let UpdateError::Fixed(errors) = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        errors.fields().collect::<Vec<_>>(),
        ["codice_fiscale", "nome"]
    );
    // The same value, however written, is no change.
    let (updated, changed) = h
        .update(&fields(serde_json::json!({"codice_fiscale": "dtsttd90a01a851q", "indirizzo": "Via Nuova 3", "telefono": "06 1234 5678"})))
        .unwrap();
    assert_eq!(changed, [Field::Indirizzo, Field::Telefono]);
    assert_eq!(updated.indirizzo.as_str(), "Via Nuova 3");
    let (cleared, changed) = updated
        .update(&fields(serde_json::json!({"telefono": null})))
        .unwrap();
    assert_eq!(changed, [Field::Telefono]);
    assert!(cleared.telefono.is_none());
    let UpdateError::Invalid(errors) = h
        .update(&fields(serde_json::json!({"email": null})))
        .unwrap_err()
    else {
        panic!()
    };
    assert_eq!(errors.get("email"), Some("Campo obbligatorio."));
}

#[test]
fn azienda_may_change_all_but_partita_iva() {
    let h = Holder::create(HolderId::from_number(534905), &fields(azienda())).unwrap();
    assert!(
        h.update(&fields(
            serde_json::json!({"ragione_sociale": "Nuova S.p.A."})
        ))
        .is_ok()
    );
    assert!(matches!(
        h.update(&fields(serde_json::json!({"partita_iva": "00000010000"}))),
        Err(UpdateError::Fixed(_))
    ));
    assert!(matches!(
        h.update(&fields(serde_json::json!({"tipo": "privato"}))),
        Err(UpdateError::Fixed(_))
    ));
    assert!(Tipo::Azienda.editable().contains(&Field::RagioneSociale));
    assert!(!Tipo::Privato.editable().contains(&Field::Nome));
}

#[test]
fn unknown_and_foreign_fields_are_refused() {
    assert!(serde_json::from_value::<HolderFields>(serde_json::json!({"nomee": "x"})).is_err());
    assert!(serde_json::from_value::<HolderFields>(serde_json::json!({"nome": 3})).is_err());
    let mut input = privato();
    input["ragione_sociale"] = "X".into();
    let errors = Holder::create(HolderId::from_number(1), &fields(input)).unwrap_err();
    assert_eq!(
        errors.get("ragione_sociale"),
        Some("Campo non previsto per un titolare di tipo privato.")
    );
}

#[test]
fn foreign_addresses_skip_istat() {
    let mut input = privato();
    input["nazione"] = "Francia".into();
    input["cap"] = "75001".into();
    input["comune"] = "Paris".into();
    input.as_object_mut().unwrap().remove("provincia");
    let h = Holder::create(HolderId::from_number(1), &fields(input)).unwrap();
    assert_eq!(h.nazione.as_str(), "Francia");
}

/// A valid holder's input of any tipo, valid by construction: a codice fiscale that is the
/// person's own, a comune of its provincia, a mobile of the numbering plan, an address
/// email, a partita IVA with its check digit; optional fields now and then.
fn valid_input() -> impl Strategy<Value = serde_json::Value> {
    use crate::values::strategies;
    let person = (
        strategies::person_name(),
        strategies::person_name(),
        strategies::birth(),
        "[A-Z][0-9]{3}",
    )
        .prop_map(|(nome, cognome, birth, place)| {
            let cf =
                crate::values::CodiceFiscale::for_person(&cognome, &nome, &birth, &place).unwrap();
            (nome, cognome, cf.as_str().to_lowercase())
        });
    (
        prop::sample::select(vec![
            Tipo::Privato,
            Tipo::LiberoProfessionista,
            Tipo::Azienda,
        ]),
        person,
        strategies::comune(),
        "[0-9]{5}",
        strategies::mobile(),
        strategies::email(),
        strategies::partita_iva(),
        "[A-Z][a-z]{2,12}( [A-Z][a-z]{2,8})? (S\\.r\\.l\\.|S\\.p\\.A\\.|S\\.n\\.c\\.)",
        prop::option::of(prop::sample::select(vec!["it", "en"])),
        any::<bool>(),
    )
        .prop_map(
            |(
                tipo,
                (nome, cognome, cf),
                (sigla, comune),
                cap,
                (mobile, _),
                email,
                piva,
                ragione,
                lingua,
                representative,
            )| {
                let mut input = serde_json::json!({
                    "tipo": tipo.as_str(), "indirizzo": "Via Roma 1", "cap": cap,
                    "provincia": sigla, "comune": comune, "cellulare": mobile, "email": email,
                });
                let person =
                    serde_json::json!({"nome": nome, "cognome": cognome, "codice_fiscale": cf});
                match tipo {
                    Tipo::Privato => merge(&mut input, person),
                    Tipo::LiberoProfessionista => {
                        merge(&mut input, person);
                        input["partita_iva"] = piva.into();
                    }
                    Tipo::Azienda => {
                        input["ragione_sociale"] = ragione.into();
                        input["partita_iva"] = piva.clone().into();
                        input["codice_fiscale_azienda"] = piva.into();
                        if representative {
                            merge(&mut input, person);
                        }
                    }
                }
                if let Some(lingua) = lingua {
                    input["lingua"] = lingua.into();
                }
                input
            },
        )
}

fn merge(into: &mut serde_json::Value, from: serde_json::Value) {
    for (k, v) in from.as_object().unwrap() {
        into[k] = v.clone();
    }
}

proptest! {
    // A holder parses a dozen fields (phone metadata is built once): 500 cases.
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Every valid input is a holder, which round-trips through JSON.
    #[test]
    fn a_valid_input_is_a_holder(input in valid_input()) {
        let created = Holder::create(HolderId::from_number(7), &fields(input.clone()));
        let h = created.map_err(|e| TestCaseError::fail(format!("{input}: {e:?}")))?;
        prop_assert_eq!(h.tipo.as_str(), input["tipo"].as_str().unwrap());
        let back: Holder = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
        prop_assert_eq!(back, h);
    }

    /// One field of a valid input made wrong: refused, naming exactly that field.
    #[test]
    fn one_wrong_field_is_named_alone(
        input in valid_input(),
        wrong in prop::sample::select(vec![
            ("cap", "1234"),
            ("cellulare", "06 1234 5678"),
            ("email", "senza-chiocciola.it"),
            ("comune", "Atlantide"),
            ("provincia", "XX"),
            ("codice_fiscale", "RSSMRA85T10A564X"),
            ("partita_iva", "06363391002"),
            ("indirizzo", ""),
        ]),
    ) {
        let (field, value) = wrong;
        prop_assume!(input.get(field).is_some());
        let mut input = input;
        input[field] = value.into();
        let errors = Holder::create(HolderId::from_number(7), &fields(input)).unwrap_err();
        let named: Vec<_> = errors.fields().collect();
        prop_assert_eq!(named, [field]);
    }
}

proptest! {
    // Any text in any field: 2,000 cases, each cheap.
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_input_is_a_holder_or_field_errors(
        values in proptest::collection::btree_map(0usize..17, "\\PC{0,20}", 0..17)
    ) {
        let mut json = serde_json::Map::new();
        for (i, v) in values {
            json.insert(Field::ALL[i].as_str().to_owned(), v.into());
        }
        let input = fields(serde_json::Value::Object(json));
        if let Ok(h) = Holder::create(HolderId::from_number(7), &input) {
            let back: Holder = serde_json::from_value(serde_json::to_value(&h).unwrap()).unwrap();
            prop_assert_eq!(back, h);
        }
    }
}

/// A holder stored when its comune existed keeps it after ISTAT merges it away: an update
/// of other fields goes through; naming a comune again checks it against today's table.
#[test]
fn a_stored_comune_istat_merged_away_does_not_block_updates() {
    let mut stored = serde_json::to_value(
        Holder::create(HolderId::parse("963300").unwrap(), &fields(privato())).unwrap(),
    )
    .unwrap();
    stored["comune"] = "Comune Soppresso".into();
    let holder: Holder = serde_json::from_value(stored).unwrap();
    let (updated, changed) = holder
        .update(&fields(serde_json::json!({"email": "nuova@example.it"})))
        .unwrap();
    assert_eq!(changed, vec![Field::Email]);
    assert_eq!(updated.comune, "Comune Soppresso", "kept as stored");
    let renamed = holder.update(&fields(serde_json::json!({"comune": "Altro Soppresso"})));
    assert!(matches!(renamed, Err(UpdateError::Invalid(e)) if e.get("comune").is_some()));
    let moved = holder
        .update(&fields(
            serde_json::json!({"provincia": "AR", "comune": "Bibbiena"}),
        ))
        .unwrap();
    assert_eq!(moved.0.comune, "Bibbiena");
}

/// A fixed field sent again however written (case, accents, spacing) is no change and
/// keeps its stored spelling; a different value is still refused.
#[test]
fn fixed_fields_compare_as_the_search_does() {
    let holder = Holder::create(HolderId::parse("963300").unwrap(), &fields(privato())).unwrap();
    let stored_nome = holder.nome.as_ref().unwrap().as_str().to_owned();
    let (same, changed) = holder
        .update(&fields(serde_json::json!({
            "nome": stored_nome.to_uppercase(),
            "cognome": " DUETEST ",
            "codice_fiscale": "dtsttd90a01a851q",
            "email": "x@example.it"
        })))
        .unwrap();
    assert_eq!(changed, vec![Field::Email]);
    assert_eq!(
        same.nome.as_ref().unwrap().as_str(),
        stored_nome,
        "stored spelling stays"
    );
    let refused = holder.update(&fields(serde_json::json!({"nome": "altro"})));
    assert!(matches!(refused, Err(UpdateError::Fixed(e)) if e.get("nome").is_some()));
    assert!(
        same_value(Field::Cognome, "NICOLO", "Nicolò"),
        "accents fold"
    );
    assert!(!same_value(Field::Cognome, "Nicola", "Nicolò"));
}

/// The `SameFiscalIdentityOnly` policy compares only codes no update can change.
#[test]
fn the_fiscal_identity_is_the_fixed_codes_only() {
    let make = |json: serde_json::Value| {
        Holder::create(HolderId::parse("1").unwrap(), &fields(json)).unwrap()
    };
    let person = make(privato());
    assert_eq!(person.identity_codes(), ["DTSTTD90A01A851Q"]);
    // The same person as an azienda's legal representative: an editable field.
    let mut represented = azienda();
    for key in ["nome", "cognome", "codice_fiscale"] {
        represented[key] = privato()[key].clone();
    }
    let company = make(represented);
    assert_eq!(
        company.identity_codes(),
        ["06363391001"],
        "not the representative's"
    );
    assert!(!person.same_fiscal_identity(&company));
    let mut professional = privato();
    professional["tipo"] = "libero_professionista".into();
    professional["partita_iva"] = "06363391001".into();
    let professional = make(professional);
    assert!(
        person.same_fiscal_identity(&professional),
        "the same person"
    );
    assert!(
        company.same_fiscal_identity(&professional),
        "the same partita IVA"
    );
}
