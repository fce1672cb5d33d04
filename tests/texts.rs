//! Every text a person reads, rendered and read: each error kind the API answers, each field
//! message the validators give, each email and SMS in both languages. Each is checked
//! against a list of known mistakes and the house style (sentence case, full stop, "tu"),
//! and all of them are written to one catalogue per language (`shared/texts/it.md`,
//! `shared/texts/en.md`) where a reviewer reads them at once. The test fails when the
//! committed catalogue differs from what the code says: run it with
//! `TITOLARE_UPDATE_TEXTS=1` to rewrite it, and read the diff.
//!
//! A second pass reads every string literal of the code and the panel for the same
//! mistakes, so a text only some unusual path renders is not left unread either.

use lambda_http::{Body, Request};
use regex::Regex;
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use titolare_api::input::{json_body, query_params};
use titolare_api::problem::ApiError;
use titolare_domain::AccountId;
use titolare_domain::holder::Holder;
use titolare_domain::otp::{Channel, CodeError, Party};
use titolare_domain::outbox::Message;
use titolare_domain::ports::StoreError;
use titolare_domain::quota::{OverLimit, QuotaScope};
use titolare_domain::transfer::PasswordResetToken;
use titolare_domain::transfer::{Closed, Step, TransferStatus};
use titolare_domain::values::*;
use titolare_domain::{FieldErrors, HolderFields, HolderId, Lingua};
use titolare_messaging::templates::Rendered;
use titolare_messaging::templates::samples::{render, sample};

/// Known mistakes, each with what is wrong. Applied to every rendered text and to every
/// string literal of the code and the panel.
const MISTAKES: &[(&str, &str)] = &[
    (r"(?i)\bil attuale\b", "«l'attuale»"),
    (
        r"(?i)\b(richiesta|casella|bozza|condizione) [^.:;]*\bnon (trovato|attivo|scaduto)\b",
        "agreement: feminine noun",
    ),
    (
        r"(?i)\b(casella|richiesta) [^ ]+ (indicato|trovato|attivo|scaduto)\b",
        "agreement: feminine noun",
    ),
    (r"\brestano 1\b", "«resta 1»"),
    (r"\brestano 0\b", "«nessun … rimasto»"),
    (
        r"\b1 (elementi|caselle|tentativi|secondi|minuti|ore|codici|domini|giorni)\b",
        "singular after 1",
    ),
    (r"\batteso una\b", "«attesa una»"),
    (
        r"\b(riprovare|ricaricare|correggerli|toglierli|richiederne)\b",
        "infinitive for an instruction: use «tu» (riprova, ricarica…)",
    ),
    (
        r"(^|[:.] )(Indicare|Usare|Attendere|Scegliere|Inserire|Contattare|Controllare|Richiedere|Aprire|Premere|Selezionare|Ripetere|Verificare|Inviare|Chiedere|Compilare|indicare|usare|attendere|scegliere|inserire|contattare|controllare|aprire|premere|selezionare)\b",
        "infinitive for an instruction: use «tu»",
    ),
    (r"\bun email\b", "«un'email»"),
    (r"\bl' ", "no space after an apostrophe"),
    (r"\bE' ", "«È»"),
    (r"perch[eè]\b", "«perché»"),
    (r"\bpò\b", "«po'»"),
    (r"qual'è", "«qual è»"),
    (
        r"(?i)passaggio non previsto per questa parte",
        "say what to do instead",
    ),
];

/// Mistakes only a rendered text can show (the code itself holds serde's words and ids).
const RENDERED_MISTAKES: &[(&str, &str)] = &[
    (
        r"(?i)unknown (variant|field)|missing field|invalid (type|value|length)|\bexpected\b|\binteger\b|\bstruct\b",
        "serde's English",
    ),
    (r"`", "a backtick from a Rust or serde message"),
    (r"\b(Some|None|Ok|Err)\(", "Rust's Debug output"),
    (
        r"libero_professionista|condizioni-generali",
        "an id where a label is due",
    ),
    (r"  ", "a double space"),
    (r" [,.:;]", "a space before punctuation"),
    (r"[^.]\.\.(\s|$)", "a double full stop"),
    (r"\{[a-z_0-9]*\}", "a placeholder left unfilled"),
];

/// Italian words that must not appear in an English text, and the reverse.
const ITALIAN_IN_ENGLISH: &str =
    r"\b(il|della|delle|sono|non|è|tuo|tua|richiesta|casella|dominio)\b";
const ENGLISH_IN_ITALIAN: &str = r"\b(the|your|and|you|request|mailbox|please)\b";

struct Lint {
    rules: Vec<(Regex, &'static str)>,
    rendered: Vec<(Regex, &'static str)>,
    italian_in_english: Regex,
    english_in_italian: Regex,
    found: Vec<String>,
}

impl Lint {
    fn new() -> Self {
        let compile = |list: &[(&str, &'static str)]| {
            list.iter()
                .map(|(re, why)| (Regex::new(re).unwrap(), *why))
                .collect()
        };
        Self {
            rules: compile(MISTAKES),
            rendered: compile(RENDERED_MISTAKES),
            italian_in_english: Regex::new(ITALIAN_IN_ENGLISH).unwrap(),
            english_in_italian: Regex::new(ENGLISH_IN_ITALIAN).unwrap(),
            found: Vec::new(),
        }
    }

    fn source(&mut self, place: &str, text: &str) {
        for (re, why) in &self.rules {
            if re.is_match(text) {
                self.found.push(format!("{place}: {why}: {text:?}"));
            }
        }
    }

    fn rendered(&mut self, place: &str, text: &str) {
        self.source(place, text);
        for (re, why) in &self.rendered {
            if re.is_match(text) {
                self.found.push(format!("{place}: {why}: {text:?}"));
            }
        }
    }

    /// A detail or field message: also a sentence, capital first, full stop last.
    fn sentence(&mut self, place: &str, text: &str) {
        self.rendered(place, text);
        let first = text.chars().next().unwrap_or(' ');
        if !(first.is_uppercase() || first.is_ascii_digit() || first == '«') {
            self.found
                .push(format!("{place}: not in sentence case: {text:?}"));
        }
        if !text.ends_with(['.', '?', '!']) {
            self.found
                .push(format!("{place}: no full stop at the end: {text:?}"));
        }
    }

    fn language(&mut self, place: &str, text: &str, lingua: Lingua) {
        let (pattern, why) = match lingua {
            Lingua::En => (&self.italian_in_english, "Italian in the English text"),
            Lingua::It => (&self.english_in_italian, "English in the Italian text"),
        };
        // Addresses, links and the signature name things, they do not speak.
        let words: String = text
            .split_whitespace()
            .filter(|w| !w.contains('@') && !w.contains("://") && !w.contains('.'))
            .collect::<Vec<_>>()
            .join(" ");
        if let Some(m) = pattern.find(&words) {
            self.found
                .push(format!("{place}: {why} ({:?}): {text:?}", m.as_str()));
        }
    }
}

// ---- every error kind ------------------------------------------------------------------

/// The name of each kind of error; a new variant fails to compile here until it has a
/// sample below.
fn kind(e: &ApiError) -> &'static str {
    match e {
        ApiError::Unauthorized => "Unauthorized",
        ApiError::NotOperator => "NotOperator",
        ApiError::Support(_) => "Support",
        ApiError::NotThroughEdge => "NotThroughEdge",
        ApiError::NotFound(_) => "NotFound",
        ApiError::MethodNotAllowed(_) => "MethodNotAllowed",
        ApiError::BadRequest { .. } => "BadRequest",
        ApiError::UnsupportedMediaType => "UnsupportedMediaType",
        ApiError::PayloadTooLarge => "PayloadTooLarge",
        ApiError::Validation(_) => "Validation",
        ApiError::FixedFields(_) => "FixedFields",
        ApiError::IdempotencyKeyReused => "IdempotencyKeyReused",
        ApiError::Store(_) => "Store",
        ApiError::InvalidLink => "InvalidLink",
        ApiError::Closed(_) => "Closed",
        ApiError::Code(_) => "Code",
        ApiError::Conflict(_) => "Conflict",
        ApiError::Step { .. } => "Step",
        ApiError::Busy(_) => "Busy",
        ApiError::InvalidResetLink => "InvalidResetLink",
        ApiError::ExpiredResetLink => "ExpiredResetLink",
        ApiError::DuplicateHolder { .. } => "DuplicateHolder",
        ApiError::ResetLink(_) => "ResetLink",
        ApiError::ReplacedLink => "ReplacedLink",
        ApiError::Invite(_) => "Invite",
        ApiError::EmailLimit(_) => "EmailLimit",
    }
}
const KINDS: usize = 26;

fn code_error_name(e: &CodeError) -> &'static str {
    match e {
        CodeError::AlreadyApproved => "AlreadyApproved",
        CodeError::TooManySends(_) => "TooManySends",
        CodeError::TooSoon(_) => "TooSoon",
        CodeError::NoCode => "NoCode",
        CodeError::Expired => "Expired",
        CodeError::TooManyAttempts => "TooManyAttempts",
        CodeError::Wrong(_) => "Wrong",
        CodeError::Format => "Format",
        CodeError::Channel(_) => "Channel",
        CodeError::Country => "Country",
        CodeError::SmsLimit(_) => "SmsLimit",
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Probe {
    channel: Channel,
    count: u32,
    items: Vec<String>,
    party: Party,
    flag: bool,
    #[serde(default)]
    pair: Option<[u8; 2]>,
    #[serde(default)]
    address: Option<std::net::Ipv4Addr>,
}

fn json_request(content_type: &str, body: Body) -> Request {
    http::Request::builder()
        .method("POST")
        .uri("/v1/probe")
        .header("content-type", content_type)
        .body(body)
        .unwrap()
}

/// What the JSON parser and the query reader answer for each kind of bad input.
fn bad_inputs() -> Vec<(String, ApiError)> {
    let bodies: &[(&str, &str)] = &[
        ("syntax", r#"{"channel": "#),
        (
            "trailing text",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "new_holder", "flag": true} x"#,
        ),
        ("empty", ""),
        ("unknown field", r#"{"chanel": "sms"}"#),
        ("missing field", r#"{"channel": "sms"}"#),
        (
            "unknown value",
            r#"{"channel": "fax", "count": 1, "items": [], "party": "new_holder", "flag": true}"#,
        ),
        (
            "unknown party",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "x", "flag": true}"#,
        ),
        (
            "text for a number",
            r#"{"channel": "sms", "count": "1", "items": [], "party": "new_holder", "flag": true}"#,
        ),
        (
            "negative number",
            r#"{"channel": "sms", "count": -1, "items": [], "party": "new_holder", "flag": true}"#,
        ),
        (
            "object for a list",
            r#"{"channel": "sms", "count": 1, "items": {}, "party": "new_holder", "flag": true}"#,
        ),
        (
            "text for a boolean",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "new_holder", "flag": "yes"}"#,
        ),
        (
            "number for a text",
            r#"{"channel": "sms", "count": 1, "items": [5], "party": "new_holder", "flag": true}"#,
        ),
        ("list for the body", "[1, 2]"),
        (
            "a list too short",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "new_holder", "flag": true, "pair": [1]}"#,
        ),
        (
            "text for a list of two",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "new_holder", "flag": true, "pair": "x"}"#,
        ),
        (
            "number for an IP address",
            r#"{"channel": "sms", "count": 1, "items": [], "party": "new_holder", "flag": true, "address": 5}"#,
        ),
        ("duplicate field", r#"{"channel": "sms", "channel": "sms"}"#),
    ];
    let mut out: Vec<(String, ApiError)> = bodies
        .iter()
        .filter_map(|(name, body)| {
            json_body::<Probe>(&json_request(
                "application/json",
                Body::Text((*body).into()),
            ))
            .err()
            .map(|e| (format!("body: {name}"), e))
        })
        .collect();
    let not_utf8 = json_request("application/json", Body::Binary(vec![0xff, 0xfe]));
    out.push((
        "body: not UTF-8".into(),
        json_body::<Probe>(&not_utf8).err().unwrap(),
    ));
    let text = json_request("text/plain", Body::Text("{}".into()));
    out.push((
        "body: not JSON".into(),
        json_body::<Probe>(&text).err().unwrap(),
    ));
    let get_with_body: Request = http::Request::builder()
        .method("GET")
        .uri("/v1/probe")
        .body(Body::Text("{}".into()))
        .unwrap();
    out.push((
        "body: where none is expected".into(),
        titolare_api::input::no_body(&get_with_body).err().unwrap(),
    ));
    let big = json_request("application/json", Body::Text(" ".repeat(70_000)));
    out.push((
        "body: too large".into(),
        json_body::<Probe>(&big).err().unwrap(),
    ));
    for (name, uri) in [
        ("query: unknown parameter", "/v1/probe?colore=blu"),
        (
            "query: repeated parameter",
            "/v1/probe?page_size=1&page_size=2",
        ),
        ("query: bad escape", "/v1/probe?cognome=%FF"),
    ] {
        let req: Request = http::Request::builder().uri(uri).body(Body::Empty).unwrap();
        out.push((
            name.into(),
            query_params(&req, &["page_size", "cursor"]).err().unwrap(),
        ));
    }
    out
}

/// Every field message a new holder can get, from real bad input.
fn holder_field_errors() -> Vec<(String, FieldErrors)> {
    let cases: &[(&str, &str)] = &[
        ("privato: nothing but tipo", r#"{"tipo": "privato"}"#),
        ("tipo unknown", r#"{"tipo": "marziano"}"#),
        (
            "privato: wrong values",
            r#"{"tipo": "Privato", "nome": "Mario", "cognome": "Rossi", "codice_fiscale": "RSSMRA80A01H501X", "ragione_sociale": "X", "indirizzo": " ", "cap": "1234", "provincia": "ZZ", "comune": "Roma", "cellulare": "+39 06 1234567", "telefono": "12", "email": "mario@", "lingua": "fr"}"#,
        ),
        (
            "azienda: bad codes",
            r#"{"tipo": "azienda", "ragione_sociale": "Test S.r.l.", "partita_iva": "12345678901", "codice_fiscale_azienda": "1234", "indirizzo": "Via Roma 1", "cap": "00100", "provincia": "RM", "comune": "Milano", "cellulare": "+393331234567", "email": "a@b.it"}"#,
        ),
        (
            "abroad with a provincia",
            r#"{"tipo": "privato", "nome": "Mario", "cognome": "Rossi", "codice_fiscale": "RSSMRA80A41H501Y", "indirizzo": "Rue 1", "cap": "75001", "nazione": "Francia", "provincia": "RM", "comune": "Parigi", "cellulare": "+393331234567", "email": "a@b.it"}"#,
        ),
    ];
    cases
        .iter()
        .map(|(name, body)| {
            let fields: HolderFields = serde_json::from_str(body).unwrap();
            let errors = Holder::create(HolderId::from_number(1), &fields)
                .err()
                .unwrap_or_else(|| panic!("{name} should be refused"));
            (format!("holder: {name}"), errors)
        })
        .collect()
}

/// Every message of the value parsers, variant by variant.
fn value_messages() -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, e: &dyn std::fmt::Display| out.push((name.into(), e.to_string()));
    for e in [
        CodiceFiscaleError::Length,
        CodiceFiscaleError::Character(7),
        CodiceFiscaleError::Month,
        CodiceFiscaleError::Day,
        CodiceFiscaleError::CheckCharacter,
        CodiceFiscaleError::Cognome,
        CodiceFiscaleError::Nome,
    ] {
        add(&format!("CodiceFiscaleError::{e:?}"), &e);
    }
    for e in [
        PartitaIvaError::Format,
        PartitaIvaError::Office,
        PartitaIvaError::CheckDigit,
    ] {
        add(&format!("PartitaIvaError::{e:?}"), &e);
        let company = CodiceFiscaleAziendaError::Numerico(e.clone());
        add(
            &format!("CodiceFiscaleAziendaError::Numerico({e:?})"),
            &company,
        );
    }
    add(
        "CodiceFiscaleAziendaError::Personale",
        &CodiceFiscaleAziendaError::Personale(CodiceFiscaleError::Length),
    );
    add(
        "CodiceFiscaleAziendaError::Length",
        &CodiceFiscaleAziendaError::Length,
    );
    for e in [
        PlaceError::Provincia,
        PlaceError::Comune,
        PlaceError::Nazione,
    ] {
        add(&format!("PlaceError::{e:?}"), &e);
    }
    for e in [CapError::Italian, CapError::Foreign] {
        add(&format!("CapError::{e:?}"), &e);
    }
    for e in [
        TextError::Empty,
        TextError::TooLong(200),
        TextError::Characters,
        TextError::Invisible,
        TextError::Link,
    ] {
        add(&format!("TextError::{e:?}"), &e);
    }
    for e in [PhoneError::Invalid, PhoneError::NotMobile] {
        add(&format!("PhoneError::{e:?}"), &e);
    }
    for e in [
        EmailError::Invalid,
        EmailError::LocalPartNotAscii,
        EmailError::MixedScript,
    ] {
        add(&format!("EmailError::{e:?}"), &e);
    }
    add(
        "Tipo::parse",
        &titolare_domain::Tipo::parse("x").unwrap_err(),
    );
    add("HolderId::parse", &HolderId::parse("x").unwrap_err());
    add(
        "parse_username",
        &titolare_domain::records::parse_username("").unwrap_err(),
    );
    add(
        "AccountId::parse",
        &titolare_domain::AccountId::parse("").unwrap_err(),
    );
    add(
        "PageRequest::parse page_size",
        &titolare_domain::PageRequest::parse(Some("0"), None)
            .unwrap_err()
            .get("page_size")
            .unwrap(),
    );
    for e in [
        titolare_domain::transfer::ItemKind::Mailbox,
        titolare_domain::transfer::ItemKind::Domain,
    ] {
        let refused = titolare_domain::transfer::ItemRef::parse(e, "@@").unwrap_err();
        add(&format!("ItemRef::parse {e:?}"), &refused);
    }
    out
}

fn every_error() -> Vec<(String, ApiError)> {
    use http::StatusCode;
    let field = |f: &str, m: &str| FieldErrors::one(f, m);
    let mut out: Vec<(String, ApiError)> = vec![
        ("Unauthorized".into(), ApiError::Unauthorized),
        ("NotOperator".into(), ApiError::NotOperator),
        ("NotThroughEdge".into(), ApiError::NotThroughEdge),
        (
            "MethodNotAllowed".into(),
            ApiError::MethodNotAllowed(vec!["GET", "PATCH"]),
        ),
        (
            "UnsupportedMediaType".into(),
            ApiError::UnsupportedMediaType,
        ),
        ("PayloadTooLarge".into(), ApiError::PayloadTooLarge),
        (
            "IdempotencyKeyReused".into(),
            ApiError::IdempotencyKeyReused,
        ),
        ("InvalidLink".into(), ApiError::InvalidLink),
        ("InvalidResetLink".into(), ApiError::InvalidResetLink),
        ("ExpiredResetLink".into(), ApiError::ExpiredResetLink),
        ("ReplacedLink".into(), ApiError::ReplacedLink),
        (
            "ResetLink::NotPending".into(),
            ApiError::ResetLink(titolare_domain::reset::LinkError::NotPending),
        ),
        (
            "ResetLink::TooMany".into(),
            ApiError::ResetLink(titolare_domain::reset::LinkError::TooMany(5)),
        ),
        (
            "ResetLink::TooSoon".into(),
            ApiError::ResetLink(titolare_domain::reset::LinkError::TooSoon(42)),
        ),
        (
            "Store::Conflict".into(),
            ApiError::Store(StoreError::Conflict),
        ),
        (
            "Store::InvalidCursor".into(),
            ApiError::Store(StoreError::InvalidCursor),
        ),
        (
            "Store::Unavailable".into(),
            ApiError::Store(StoreError::Unavailable("x".into())),
        ),
        (
            "Store::Corrupt".into(),
            ApiError::Store(StoreError::Corrupt("x".into())),
        ),
        (
            "FixedFields".into(),
            ApiError::FixedFields(field(
                "nome",
                "Campo non modificabile per un titolare di tipo privato.",
            )),
        ),
        (
            "Busy".into(),
            ApiError::Busy(field(
                "items[0]",
                "La casella a@pec.it è in una richiesta in corso, n. 7.",
            )),
        ),
        (
            "Conflict".into(),
            ApiError::Conflict("La scadenza non è ancora passata."),
        ),
        (
            "Step".into(),
            ApiError::Step {
                status: StatusCode::FORBIDDEN,
                detail:
                    "Per completare la richiesta accedi con lo username indicato dal richiedente."
                        .into(),
                field: None,
            },
        ),
        (
            "DuplicateHolder (privato)".into(),
            ApiError::DuplicateHolder {
                existing: HolderId::from_number(19),
                natural_person: true,
                within: None,
            },
        ),
        (
            "DuplicateHolder (azienda, in a draft)".into(),
            ApiError::DuplicateHolder {
                existing: HolderId::from_number(20),
                natural_person: false,
                within: Some("new_holder"),
            },
        ),
    ];
    for what in [
        "Richiesta non trovata.",
        "Casella non trovata.",
        "Dominio non trovato.",
        "Titolare non trovato.",
        "Percorso non trovato.",
    ] {
        out.push((format!("NotFound: {what}"), ApiError::NotFound(what)));
    }
    for closed in [
        Closed::DeadlinePassed,
        Closed::DraftLapsed,
        Closed::Ended(TransferStatus::Completed),
        Closed::Ended(TransferStatus::Rejected),
        Closed::Ended(TransferStatus::Cancelled),
    ] {
        out.push((format!("Closed::{closed:?}"), ApiError::Closed(closed)));
    }
    let codes = [
        CodeError::AlreadyApproved,
        CodeError::TooManySends(5),
        CodeError::TooSoon(1),
        CodeError::TooSoon(42),
        CodeError::NoCode,
        CodeError::Expired,
        CodeError::TooManyAttempts,
        CodeError::Wrong(4),
        CodeError::Wrong(1),
        CodeError::Wrong(0),
        CodeError::Format,
        CodeError::Channel("email"),
        CodeError::Country,
        CodeError::SmsLimit(OverLimit {
            scope: QuotaScope::Destination,
            retry_after_seconds: 2520,
        }),
        CodeError::SmsLimit(OverLimit {
            scope: QuotaScope::Account,
            retry_after_seconds: 60,
        }),
    ];
    let mut code_names = BTreeSet::new();
    for e in codes {
        code_names.insert(code_error_name(&e));
        out.push((format!("Code::{e:?}"), ApiError::Code(e)));
    }
    assert_eq!(code_names.len(), 11, "every CodeError has a sample");
    out.push((
        "EmailLimit".into(),
        ApiError::EmailLimit(OverLimit {
            scope: QuotaScope::AccountEmail,
            retry_after_seconds: 3 * 3600 + 300,
        }),
    ));
    {
        use titolare_domain::invite::InviteError as I;
        for e in [
            I::Closed(Closed::DeadlinePassed),
            I::NotOpen,
            I::NotAHolder,
            I::TooMany(Party::NewHolder, 5),
            I::TooSoon(42),
            I::Verified(Party::CurrentHolder, Channel::Sms),
            I::Verified(Party::NewHolder, Channel::Email),
            I::Finished(Party::CurrentHolder),
            I::Nothing,
        ] {
            out.push((format!("Invite::{e:?}"), ApiError::Invite(e)));
        }
    }
    {
        use titolare_api::problem::seldom;
        use titolare_domain::reset::LinkError;
        for (name, e) in [
            (
                "ResetLink::NoVerifiedAddress",
                ApiError::ResetLink(LinkError::NoVerifiedAddress),
            ),
            (
                "ResetLink::EarlierChange",
                ApiError::ResetLink(LinkError::EarlierChange),
            ),
            ("ResetLink::Used", ApiError::ResetLink(LinkError::Used)),
            (
                "ResetLink::Replaced",
                ApiError::ResetLink(LinkError::Replaced),
            ),
            ("seldom::BUSY", ApiError::Conflict(seldom::BUSY)),
            (
                "seldom::PROFILE_GONE",
                ApiError::Conflict(seldom::PROFILE_GONE),
            ),
            (
                "seldom::TRANSFER_GONE",
                ApiError::Conflict(seldom::TRANSFER_GONE),
            ),
            (
                "seldom::NOT_OVERDUE",
                ApiError::Conflict(seldom::NOT_OVERDUE),
            ),
            (
                "seldom::HOLDER_NOT_IN_ACCOUNT",
                ApiError::Validation(FieldErrors::one("items", seldom::HOLDER_NOT_IN_ACCOUNT)),
            ),
            (
                "seldom::NO_OWN_PROFILE",
                ApiError::Validation(FieldErrors::one("initiator", seldom::NO_OWN_PROFILE)),
            ),
            (
                "ItemGone",
                ApiError::from(titolare_domain::consequences::ItemGone),
            ),
            (
                "Support::NoReason",
                ApiError::from(titolare_domain::support::SupportError::NoReason),
            ),
            (
                "Support::NotBlocked",
                ApiError::from(titolare_domain::support::SupportError::NotBlocked(
                    Party::CurrentHolder,
                    2,
                )),
            ),
            (
                "Support::AlreadyUnblocked",
                ApiError::from(titolare_domain::support::SupportError::AlreadyUnblocked),
            ),
            (
                "Support::NoCode",
                ApiError::from(titolare_domain::support::SupportError::NoCode(
                    Party::NewHolder,
                )),
            ),
            (
                "DraftError::FiscalIdentity",
                ApiError::from(titolare_domain::draft::DraftError::FiscalIdentity),
            ),
        ] {
            out.push((name.into(), e));
        }
        use titolare_domain::steps::StepError as E;
        for e in [
            E::AlreadyDone,
            E::MissingConditions("«Condizioni generali»".into()),
            E::UnknownCondition("altro".into()),
            E::WrongAccount,
            E::NumberFixed,
            E::NumberTooLate(titolare_domain::text::wait_in_words(3600)),
            E::HoldPending,
            E::NotAHolder,
            E::UnknownUsername,
        ] {
            out.push((format!("StepError::{e:?}"), titolare_api::step_error(e)));
        }
    }
    out.extend(bad_inputs());
    for (name, errors) in holder_field_errors() {
        out.push((name, ApiError::Validation(errors)));
    }
    out.extend(step_errors());
    out
}

/// The service's own words that are not errors of a call: refusals as the domain words them,
/// the trail's and the operations' lines, the steps a refusal names, the password rule as the
/// page lists it, and the mail platform adapter's reasons.
fn service_words() -> Vec<(String, String)> {
    use titolare_domain::draft::{DraftError, Unavailable};
    use titolare_domain::steps::{StepError, Withdrawal, effects, step_name};
    use titolare_domain::transfer::{ItemKind, ItemOutcome, ItemRef};
    use titolare_store::conformance::{NOW, sample_transfer};
    let mut out: Vec<(String, String)> = Vec::new();
    let mut add = |name: &str, text: String| out.push((name.into(), text));
    add(
        "TransferId::parse",
        titolare_domain::transfer::TransferId::parse("abc")
            .unwrap_err()
            .to_string(),
    );
    for e in [
        DraftError::Items(FieldErrors::default()),
        DraftError::MixedHolders,
        DraftError::SameHolder,
        DraftError::FiscalIdentity,
        DraftError::OwnAccount,
    ] {
        add(&format!("DraftError::{e:?}"), e.to_string());
    }
    let mailbox = ItemRef::parse(ItemKind::Mailbox, "a@pec.it").unwrap();
    let recent = Unavailable::RecentChange {
        until: jiff::civil::date(2026, 12, 24),
    };
    add("Unavailable::RecentChange", recent.sentence(&mailbox));
    for e in [
        titolare_domain::holder::UpdateError::Fixed(FieldErrors::default()),
        titolare_domain::holder::UpdateError::Invalid(FieldErrors::default()),
    ] {
        add("UpdateError", e.to_string());
    }
    add(
        "Delivery::Failed",
        titolare_domain::otp::Delivery::Failed.notice(None).unwrap(),
    );
    add(
        "Delivery::Failed, with the provider's reason",
        titolare_domain::otp::Delivery::Failed
            .notice(Some(&titolare_domain::delivery::Failure::Carrier {
                response: "Phone number is opted out".into(),
            }))
            .unwrap(),
    );
    add(
        "OverLimit",
        OverLimit {
            scope: QuotaScope::Destination,
            retry_after_seconds: 90,
        }
        .to_string(),
    );
    {
        use titolare_domain::reset::PasswordError as P;
        for e in [P::Length, P::Variety, P::MailboxName] {
            add(&format!("PasswordError::{e:?}"), e.to_string());
        }
        for rule in P::RULES {
            add("PasswordError::RULES", rule.into());
        }
    }
    for w in [
        Withdrawal::Removed,
        Withdrawal::NotActive,
        Withdrawal::OtherHolder,
    ] {
        add(&format!("Withdrawal::{w:?}"), w.words().into());
    }
    for step in titolare_domain::transfer::Step::all() {
        add(&format!("step_name({step:?})"), step_name(step).into());
    }
    for e in [
        StepError::AlreadyDone,
        StepError::HoldPending,
        StepError::NotOverdue,
    ] {
        add(&format!("StepError::{e:?}"), e.to_string());
    }
    add(
        "Closed::Ended",
        Closed::Ended(TransferStatus::Completed).to_string(),
    );
    add(
        "ItemGone",
        titolare_domain::consequences::ItemGone.to_string(),
    );
    // The trail's line for a code verified at another number, and each ending's operation.
    let account = AccountId::parse("texts").unwrap();
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    let open = sample_transfer(7, &account, NOW + 5 * 86_400);
    let rules = titolare_domain::steps::Rules::default();
    let actor = titolare_domain::transfer::Actor::system("texts");
    let held = open.held(
        Party::NewHolder,
        &MobileNumber::parse("+393330000077").unwrap(),
        now,
        &rules,
        &actor,
    );
    add(
        "trail: number changed",
        held.audit.last().unwrap().detail.clone().unwrap(),
    );
    let mut draft = open.clone();
    draft.status = TransferStatus::Draft;
    let mut withdrawn = open.clone();
    withdrawn.status = TransferStatus::Cancelled;
    for item in &mut withdrawn.items {
        item.outcome = Some(ItemOutcome::Withdrawn);
    }
    let ended = |status: TransferStatus| {
        let mut t = open.clone();
        t.status = status;
        t
    };
    for (name, before, after) in [
        ("rejected", &open, ended(TransferStatus::Rejected)),
        ("cancelled", &open, ended(TransferStatus::Cancelled)),
        ("withdrawn", &open, withdrawn.clone()),
        ("expired", &open, ended(TransferStatus::Expired)),
        ("draft expired", &draft, ended(TransferStatus::Expired)),
    ] {
        for (_, op) in effects(Some(before), &after, now).operations {
            add(&format!("operation: {name}"), op.detail);
        }
    }
    {
        use titolare_domain::delivery::Failure as F;
        for failure in [
            F::AddressUnknown,
            F::Suppressed,
            F::Temporary,
            F::Complaint,
            F::NotSent,
            F::Carrier {
                response: "Phone number is opted out".into(),
            },
            F::Carrier {
                response: "Invalid phone number".into(),
            },
            F::Carrier {
                response: "Unknown error attempting to reach phone".into(),
            },
            F::Carrier {
                response: "Phone carrier has blocked this message".into(),
            },
            F::Carrier {
                response: "Something else".into(),
            },
        ] {
            add(&format!("Failure::{failure:?}"), failure.words());
        }
    }
    for reason in titolare_dovecot::NOT_APPLICABLE {
        add("Dovecot: not applicable", reason.into());
    }
    out
}

/// The refusals of a transfer's steps, from the state machine itself.
fn step_errors() -> Vec<(String, ApiError)> {
    use titolare_domain::steps::{Action, Decision, Rules};
    use titolare_store::conformance::{NOW, sample_draft, sample_transfer};
    let rules = Rules::default();
    let actor = titolare_domain::transfer::Actor::system("texts");
    let now = jiff::Timestamp::from_second(NOW).unwrap();
    let account = titolare_domain::AccountId::parse("texts").unwrap();
    let open = sample_transfer(1, &account, NOW + 5 * 86_400);
    // Nobody has decided yet: decisions are the holders' next step.
    let mut undecided = open.clone();
    undecided.progress = Default::default();
    undecided.progress.initiator = open.progress.initiator.clone();
    for item in &mut undecided.items {
        (item.current_holder, item.new_holder) = (None, None);
    }
    let draft = sample_draft(2, &account, NOW + 86_400);
    let mut finished = open.clone();
    finished.progress.current_holder = vec![Step::Decisions, Step::Sms];
    let other = titolare_domain::transfer::ItemRef::parse(
        titolare_domain::transfer::ItemKind::Domain,
        "altro-dominio.it",
    )
    .unwrap();
    let cases: Vec<(&str, &titolare_domain::transfer::Transfer, Party, Action)> = vec![
        (
            "step not the party's (current holder, contract)",
            &open,
            Party::CurrentHolder,
            Action::AcceptContract(vec![]),
        ),
        (
            "step not the party's (login without hand_over)",
            &open,
            Party::NewHolder,
            Action::Login(titolare_domain::AccountId::parse("x").unwrap()),
        ),
        (
            "step out of order",
            &open,
            Party::NewHolder,
            Action::Verified(Channel::Email),
        ),
        (
            "initiator after opening",
            &open,
            Party::Initiator,
            Action::Verified(Channel::Sms),
        ),
        (
            "holder before opening",
            &draft,
            Party::CurrentHolder,
            Action::Verified(Channel::Sms),
        ),
        (
            "decision for an item not in the request",
            &undecided,
            Party::CurrentHolder,
            Action::Decide(vec![Decision {
                item: other,
                accept: true,
            }]),
        ),
        (
            "decision missing",
            &undecided,
            Party::CurrentHolder,
            Action::Decide(vec![]),
        ),
        ("not overdue", &open, Party::Initiator, Action::Expire),
        (
            "holder data, a person's new holder",
            &undecided,
            Party::NewHolder,
            Action::ConfirmHolderData,
        ),
        (
            "decisions by the initiator of a draft",
            &draft,
            Party::Initiator,
            Action::Decide(vec![]),
        ),
        (
            "contract by the current holder who has finished",
            &finished,
            Party::CurrentHolder,
            Action::AcceptContract(vec![]),
        ),
    ];
    let mut out = Vec::new();
    for (name, t, party, action) in cases {
        let e = t
            .apply(party, &action, now, &rules, &actor)
            .err()
            .unwrap_or_else(|| panic!("{name} should be refused"));
        out.push((format!("step: {name}"), titolare_api::step_error(e)));
    }
    out
}

/// An error as the API answers it: status, type, title, detail and field messages.
fn answer(e: ApiError) -> Value {
    let response = e.into_response("texts");
    let body = match response.body() {
        Body::Text(t) => t.clone(),
        Body::Binary(b) => String::from_utf8(b.clone()).unwrap(),
        Body::Empty => String::new(),
        _ => String::new(),
    };
    serde_json::from_str(&body).unwrap()
}

// ---- refusals through the service ------------------------------------------------------------

/// The refusals a person meets, from real calls to the local gateway (its clock frozen, so
/// dates do not move): each query, body and step that is refused, with what the service
/// answers. Also the texts the answers carry besides errors (the new holder's data hints, the
/// operations' details) and the gateway's own refusals.
async fn refusals() -> (Vec<(String, u16, Value)>, Vec<(String, String)>) {
    use titolare_e2e::flow::{self, As, Surface};
    let gw = titolare_e2e::local_gateway_frozen_on(None, 1_795_420_800).await;
    let s = titolare_e2e::GatewaySurface::new(gw.client.clone());
    let mut out: Vec<(String, u16, Value)> = Vec::new();
    let mut texts: Vec<(String, String)> = Vec::new();
    macro_rules! refused {
        ($name:expr, $reply:expr) => {{
            let reply = $reply;
            assert!(
                (400..500).contains(&reply.status),
                "{} is refused with a 4xx: {} {}",
                $name,
                reply.status,
                reply.body
            );
            out.push(($name.to_string(), reply.status, reply.body));
        }};
    }
    let get = |path: String| {
        let s = &s;
        async move { s.call("GET", &path, As::Account("demo"), None).await }
    };
    let post = |path: &'static str, body: Value| {
        let s = &s;
        async move { s.call("POST", path, As::Account("demo"), Some(body)).await }
    };
    let item = |kind: &str, id: &str| serde_json::json!({"kind": kind, "id": id});

    // Lists and searches.
    refused!(
        "caselle: page_size non numerico",
        get("/v1/mailboxes?page_size=tanti".into()).await
    );
    refused!(
        "caselle: for_transfer non booleano",
        get("/v1/mailboxes?for_transfer=forse".into()).await
    );
    refused!(
        "caselle: held_by_others non booleano",
        get("/v1/mailboxes?held_by_others=forse".into()).await
    );
    refused!(
        "caselle: testo di ricerca con #",
        get("/v1/mailboxes?address=a%23b".into()).await
    );
    refused!(
        "ricerca titolari: nessun criterio",
        get("/v1/holders".into()).await
    );
    refused!(
        "titolare: parametro non previsto",
        get("/v1/holders/19?colore=blu".into()).await
    );
    refused!(
        "ricerca titolari: tipo sconosciuto",
        get("/v1/holders?tipo=nessuno".into()).await
    );
    refused!(
        "ricerca titolari: cognome di soli #",
        get("/v1/holders?cognome=%23%23".into()).await
    );
    refused!(
        "ricerca titolari: cognome troppo lungo",
        get(format!("/v1/holders?cognome={}", "a".repeat(101))).await
    );
    refused!(
        "ricerca titolari: cursore troppo lungo",
        get(format!(
            "/v1/holders?cognome=rossi&cursor={}",
            "a".repeat(1025)
        ))
        .await
    );
    refused!(
        "richieste: stato sconosciuto",
        get("/v1/transfers?status=finite".into()).await
    );
    refused!(
        "richieste: page_size zero",
        get("/v1/transfers?page_size=0".into()).await
    );
    refused!(
        "richiesta: numero non valido",
        get("/v1/transfers/abc".into()).await
    );

    // Drafts.
    let draft = |items: Vec<Value>, new_holder: &str| serde_json::json!({"items": items, "management": {"mode": "keep"}, "new_holder_id": new_holder});
    refused!(
        "bozza: nessun elemento",
        post("/v1/transfers", draft(vec![], "963300")).await
    );
    refused!(
        "bozza: troppi elementi",
        post(
            "/v1/transfers",
            draft(
                (0..101)
                    .map(|n| item("mailbox", &format!("c{n}@pec.it")))
                    .collect(),
                "963300"
            )
        )
        .await
    );
    let mut both = draft(vec![item("mailbox", "teste1234@pec.it")], "963300");
    both["new_holder"] = serde_json::json!({"tipo": "privato"});
    refused!(
        "bozza: nuovo titolare indicato due volte",
        post("/v1/transfers", both).await
    );
    refused!(
        "bozza: nuovo titolare sconosciuto",
        post(
            "/v1/transfers",
            draft(vec![item("mailbox", "teste1234@pec.it")], "999999")
        )
        .await
    );
    let mut mode = draft(vec![item("mailbox", "teste1234@pec.it")], "963300");
    mode["management"] = serde_json::json!({"mode": "tieni"});
    refused!(
        "bozza: modalità di gestione sconosciuta",
        post("/v1/transfers", mode).await
    );
    let mut own = draft(vec![item("mailbox", "teste1234@pec.it")], "963300");
    own["management"] = serde_json::json!({"mode": "hand_over", "username": "demo"});
    refused!(
        "bozza: gestione affidata al proprio account",
        post("/v1/transfers", own).await
    );
    refused!(
        "bozza: elementi di due titolari",
        post(
            "/v1/transfers",
            draft(
                vec![
                    item("mailbox", "teste1234@pec.it"),
                    item("mailbox", "marco.test@pec.it")
                ],
                "963300"
            )
        )
        .await
    );
    refused!(
        "bozza: nuovo titolare uguale all'attuale",
        post(
            "/v1/transfers",
            draft(vec![item("mailbox", "teste1234@pec.it")], "534905")
        )
        .await
    );
    refused!(
        "bozza: elemento non nell'account",
        post(
            "/v1/transfers",
            draft(vec![item("mailbox", "nessuna@pec.it")], "963300")
        )
        .await
    );
    refused!(
        "gestione: username malformato",
        post(
            "/v1/management/check",
            serde_json::json!({"mode": "hand_over", "username": "con spazi"})
        )
        .await
    );
    refused!(
        "gestione: username del proprio account",
        post(
            "/v1/management/check",
            serde_json::json!({"mode": "hand_over", "username": "demo"})
        )
        .await
    );
    refused!(
        "titolari: allow_duplicate non booleano",
        post(
            "/v1/holders",
            serde_json::json!({"tipo": "privato", "allow_duplicate": "forse"})
        )
        .await
    );
    refused!(
        "Idempotency-Key troppo lunga",
        s.call_with(
            "POST",
            "/v1/holders",
            As::Account("demo"),
            Some(serde_json::json!({})),
            &[("idempotency-key", &"k".repeat(300))],
        )
        .await
    );

    // A request under way: the holders' refusals.
    let id = flow::open_transfer(
        &s,
        draft(vec![item("mailbox", "marco.test@pec.it")], "534905"),
    )
    .await;
    let current = s.link(&id, "current_holder", flow::MARCO.email).await;
    let new = s.link(&id, "new_holder", flow::AZIENDA.email).await;
    refused!(
        "decisioni: elemento non nella richiesta",
        s.call(
            "POST",
            "/v1/party/decisions",
            As::Link(&current),
            Some(serde_json::json!({"decisions": [{"item": "altra@pec.it", "accept": true}]})),
        )
        .await
    );
    refused!(
        "codici: numero per il canale email",
        s.call(
            "POST",
            "/v1/party/codes",
            As::Link(&current),
            Some(serde_json::json!({"channel": "email", "phone": "+393330000001"})),
        )
        .await
    );
    refused!(
        "accesso con l'account: non il nuovo titolare",
        s.call(
            "POST",
            "/v1/party/login",
            As::AccountWithLink("demo2", &current),
            None
        )
        .await
    );
    refused!(
        "dati del titolare: non confermati",
        s.call(
            "PUT",
            "/v1/party/holder-data",
            As::Link(&new),
            Some(serde_json::json!({"confirm": false})),
        )
        .await
    );
    let party = s.call("GET", "/v1/party", As::Link(&new), None).await;
    for hint in ["wrong_ragione_sociale", "wrong_codes"] {
        let detail = party.body["holder_data"][hint]["detail"]
            .as_str()
            .unwrap_or_else(|| panic!("the new holder's view has {hint}: {}", party.body));
        texts.push((format!("dati del titolare: {hint}"), detail.to_owned()));
    }

    // What the account's operations say (a new holder's profile saved with a draft).
    let mut with_new = draft(vec![item("mailbox", "teste1234@pec.it")], "");
    with_new.as_object_mut().unwrap().remove("new_holder_id");
    with_new["new_holder"] = serde_json::json!({
        "tipo": "privato", "nome": "Anna", "cognome": "Verdi", "codice_fiscale": titolare_domain::values::CodiceFiscale::for_person("Verdi", "Anna", "80A41", "A851").unwrap().as_str(),
        "indirizzo": "Via Roma 1", "cap": "52011", "provincia": "AR", "comune": "Bibbiena",
        "cellulare": "+39 333 1112223", "email": "anna.verdi@example.it"
    });
    let created = post("/v1/transfers", with_new).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let operations = get("/v1/operations".into()).await;
    for op in operations.body["items"]
        .as_array()
        .cloned()
        .unwrap_or_default()
    {
        let detail = op["detail"].as_str().unwrap_or_default();
        texts.push((
            format!("operazione {}", op["kind"].as_str().unwrap_or_default()),
            detail.to_owned(),
        ));
    }

    // The provider's support.
    let operator = gw.client.login("operatore").await;
    let support = |path: &'static str| {
        let (client, operator) = (&gw.client, &operator);
        async move { client.send("GET", path, Some(operator), None).await }
    };
    refused!(
        "assistenza: non operatore",
        get("/v1/support/transfers?numero=1".into()).await
    );
    refused!(
        "assistenza: nessun criterio",
        support("/v1/support/transfers").await
    );
    refused!(
        "assistenza: numero non valido",
        support("/v1/support/transfers?numero=abc").await
    );
    refused!(
        "assistenza: account non valido",
        support("/v1/support/transfers?account=con%20spazi").await
    );
    refused!(
        "assistenza: codice troppo lungo",
        support("/v1/support/transfers?codice_fiscale=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await
    );

    // The local gateway's own.
    refused!(
        "gateway: spostamento dell'orologio negativo",
        s.call(
            "POST",
            "/dev/clock",
            As::Nobody,
            Some(serde_json::json!({"advance_seconds": -1}))
        )
        .await
    );
    refused!(
        "gateway: corpo troppo grande",
        gw.client
            .send(
                "POST",
                "/dev/clock",
                None,
                Some(&" ".repeat(1024 * 1024 + 1))
            )
            .await
    );
    refused!(
        "gateway: pagina inesistente",
        gw.client.send("GET", "/js/nessuna.js", None, None).await
    );
    gw.shutdown().await;
    (out, texts)
}

// ---- every message -----------------------------------------------------------------------

fn every_message() -> Vec<(String, Lingua, Rendered)> {
    let deadline: jiff::Timestamp = "2026-11-28T08:00:00Z".parse().unwrap();
    // As the transfer names them (`ItemRef::label`): an English email says them in English.
    let items = vec![
        "casella teste1234@pec.it".to_owned(),
        "dominio esempio-pec.it".to_owned(),
    ];
    let one = vec!["casella teste1234@pec.it".to_owned()];
    let kept = vec!["altra@pec.it".to_owned()];
    // Every step, in the table's order (the new holder's with `hand_over` and an azienda).
    let new_holder_steps: Vec<Step> = Step::all().collect();
    let mut templates: Vec<(String, titolare_domain::outbox::OutboxMessage)> = vec![
        (
            "SMS code".into(),
            sample(
                Channel::Sms,
                Message::Code {
                    party: Party::CurrentHolder,
                    send_no: 1,
                },
            ),
        ),
        (
            "Email code".into(),
            sample(
                Channel::Email,
                Message::Code {
                    party: Party::NewHolder,
                    send_no: 1,
                },
            ),
        ),
        (
            "Invitation to the current holder".into(),
            sample(
                Channel::Email,
                Message::Invitation {
                    party: Party::CurrentHolder,
                    items: items.clone(),
                    deadline,
                    from: Some("Rivendita Test S.r.l.".into()),
                    other: Some("Test Azienda S.r.l.".into()),
                    steps: vec![Step::Decisions, Step::Sms],
                    username: None,
                    link: 0,
                    reminder: false,
                },
            ),
        ),
        (
            "Reminder to the current holder (hand_over)".into(),
            sample(
                Channel::Email,
                Message::Invitation {
                    party: Party::CurrentHolder,
                    items: items.clone(),
                    deadline,
                    from: Some("Rivendita Test S.r.l.".into()),
                    other: Some("Test Azienda S.r.l.".into()),
                    steps: vec![Step::Sms],
                    username: Some("demo2".into()),
                    link: 0,
                    reminder: true,
                },
            ),
        ),
        (
            "Invitation to the current holder, one item, no names".into(),
            sample(
                Channel::Email,
                Message::Invitation {
                    party: Party::CurrentHolder,
                    items: one.clone(),
                    deadline,
                    from: None,
                    other: None,
                    steps: vec![Step::Decisions, Step::Sms],
                    username: None,
                    link: 0,
                    reminder: false,
                },
            ),
        ),
        (
            "Invitation to the new holder (hand_over, azienda)".into(),
            sample(
                Channel::Email,
                Message::Invitation {
                    party: Party::NewHolder,
                    items: items.clone(),
                    deadline,
                    from: Some("Rivendita Test S.r.l.".into()),
                    other: Some("testdue duetest".into()),
                    steps: new_holder_steps.clone(),
                    username: Some("demo2".into()),
                    link: 0,
                    reminder: false,
                },
            ),
        ),
        (
            "Invitation to the new holder (keep, privato)".into(),
            sample(
                Channel::Email,
                Message::Invitation {
                    party: Party::NewHolder,
                    items: one.clone(),
                    deadline,
                    from: None,
                    other: None,
                    steps: vec![Step::Decisions, Step::Contract, Step::Sms, Step::Email],
                    username: None,
                    link: 0,
                    reminder: false,
                },
            ),
        ),
        (
            "Another number verified, SMS to the number on file".into(),
            sample(
                Channel::Sms,
                Message::NumberChanged {
                    party: Party::NewHolder,
                    number: "+39*****212".into(),
                    until: deadline,
                },
            ),
        ),
        (
            "Another number verified, email to the address on file".into(),
            sample(
                Channel::Email,
                Message::NumberChanged {
                    party: Party::CurrentHolder,
                    number: "+39*****212".into(),
                    until: deadline,
                },
            ),
        ),
        (
            "Rejection by the new holder".into(),
            sample(
                Channel::Email,
                Message::Rejection {
                    items: items.clone(),
                    by: Some(Party::NewHolder),
                },
            ),
        ),
        (
            "Rejection by the current holder".into(),
            sample(
                Channel::Email,
                Message::Rejection {
                    items: one.clone(),
                    by: Some(Party::CurrentHolder),
                },
            ),
        ),
        (
            "Cancellation".into(),
            sample(
                Channel::Email,
                Message::Cancellation {
                    items: items.clone(),
                    by_support: false,
                },
            ),
        ),
        (
            "Cancellation by the provider's support".into(),
            sample(
                Channel::Email,
                Message::Cancellation {
                    items: one.clone(),
                    by_support: true,
                },
            ),
        ),
        (
            "Items withdrawn by the provider, the request goes on".into(),
            sample(
                Channel::Email,
                Message::Withdrawn {
                    items: one.clone(),
                    ended: false,
                },
            ),
        ),
        (
            "Items withdrawn by the provider, none left".into(),
            sample(
                Channel::Email,
                Message::Withdrawn {
                    items: items.clone(),
                    ended: true,
                },
            ),
        ),
        (
            "Expiry".into(),
            sample(
                Channel::Email,
                Message::Expiry {
                    items: items.clone(),
                    deadline,
                    draft: false,
                },
            ),
        ),
        (
            "Expiry of a draft".into(),
            sample(
                Channel::Email,
                Message::Expiry {
                    items: one.clone(),
                    deadline,
                    draft: true,
                },
            ),
        ),
        (
            "Password, one mailbox".into(),
            sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["teste1234@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: false,
                },
            ),
        ),
        (
            "Password, a new link asked for".into(),
            sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["teste1234@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: true,
                },
            ),
        ),
        (
            "Password, two mailboxes".into(),
            sample(
                Channel::Email,
                Message::PasswordReset {
                    account: AccountId::parse("acc").unwrap(),
                    mailboxes: vec!["a@pec.it".into(), "b@pec.it".into()],
                    issued_at: deadline - PasswordResetToken::VALIDITY,
                    reissued: false,
                },
            ),
        ),
    ];
    let mut to_initiator = sample(
        Channel::Email,
        Message::Expiry {
            items: items.clone(),
            deadline,
            draft: false,
        },
    );
    to_initiator.recipient = Some(titolare_domain::outbox::Recipient {
        party: Party::Initiator,
        name: Some("Rivendita Test S.r.l.".into()),
    });
    templates.push(("Expiry, to the requester".into(), to_initiator));
    templates.push((
        "Invitation not delivered, to the requester".into(),
        sample(
            Channel::Email,
            Message::Undelivered {
                party: Party::CurrentHolder,
                failure: titolare_domain::delivery::Failure::AddressUnknown,
            },
        ),
    ));
    templates.push((
        "Rejection, no party named".into(),
        sample(
            Channel::Email,
            Message::Rejection {
                items: one.clone(),
                by: None,
            },
        ),
    ));
    for party in [Party::Initiator, Party::CurrentHolder, Party::NewHolder] {
        templates.push((
            format!("Confirmation to {party:?}"),
            sample(
                Channel::Email,
                Message::Confirmation {
                    party,
                    moved: items.clone(),
                    kept: kept.clone(),
                    handed_over_to: None,
                },
            ),
        ));
    }
    templates.push((
        "Confirmation to Initiator (hand_over)".into(),
        sample(
            Channel::Email,
            Message::Confirmation {
                party: Party::Initiator,
                moved: one.clone(),
                kept: vec![],
                handed_over_to: Some("rivenditore2".into()),
            },
        ),
    ));
    let mut out = Vec::new();
    for lingua in [Lingua::It, Lingua::En] {
        for (name, template) in &templates {
            out.push((name.clone(), lingua, render(template, lingua)));
        }
    }
    out
}

// ---- every literal in the code and the panel ---------------------------------------------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn files(dir: &Path, ext: &[&str], out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if !["node_modules", "vendor", "target", "tests"].contains(&name.as_str()) {
                files(&path, ext, out);
            }
        } else if ext.iter().any(|e| name.ends_with(e)) && name != "tests.rs" {
            out.push(path);
        }
    }
}

/// The string literals of a source file (Rust, JavaScript) or the text of an HTML page,
/// with their line numbers; Rust test modules are left out.
fn literals(path: &Path) -> Vec<(usize, String)> {
    let source = std::fs::read_to_string(path).unwrap();
    let source = match source.find("#[cfg(test)]") {
        Some(at) if path.extension().is_some_and(|e| e == "rs") => source[..at].to_owned(),
        _ => source,
    };
    let pattern = if path.extension().is_some_and(|e| e == "html") {
        Regex::new(r">([^<>]+)<").unwrap()
    } else {
        Regex::new(r#""((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)'|`((?:[^`\\]|\\.)*)`"#).unwrap()
    };
    let mut out = Vec::new();
    for (n, line) in source.lines().enumerate() {
        let code = line.trim_start();
        if code.starts_with("//") || code.starts_with('*') || code.starts_with("/*") {
            continue;
        }
        for c in pattern.captures_iter(line) {
            if let Some(m) = c.iter().skip(1).flatten().next() {
                out.push((n + 1, m.as_str().to_owned()));
            }
        }
    }
    out
}

/// The Rust literals that read as Italian words for people and are not in the catalogue: every
/// fixed part of the literal (the text between its `{…}` placeholders) must appear there, so a
/// text no sample renders fails here instead of going unread.
fn outside_the_catalogue(root: &Path, catalogue: &str) -> Vec<String> {
    let spaces = Regex::new(r"\s+").unwrap();
    let catalogue = spaces.replace_all(catalogue, " ").to_string();
    // "per" is English too ("one entry per update"): it alone does not make a text Italian.
    let italian =
        Regex::new(r"(?i)\b(il|la|le|lo|gli|di|del|della|non|che|una|un|sono|alla|al|con|da|dal|nel|nella|ai)\b|[àèéìòùÈ]")
            .unwrap();
    let placeholder = Regex::new(r"\{[^{}]*\}").unwrap();
    let mut sources = Vec::new();
    for dir in [
        "shared",
        "functions",
        "infra/local/src",
        "infra/admin/src",
        "infra/dovecot/src",
    ] {
        files(&root.join(dir), &[".rs"], &mut sources);
    }
    sources.sort();
    let mut missing = Vec::new();
    for path in &sources {
        let shown = path.strip_prefix(root).unwrap().display().to_string();
        // Test support, and the demo's data (names and addresses, not texts).
        if shown.contains("/conformance")
            || shown.ends_with("testing.rs")
            || shown.ends_with("probes.rs")
            || shown.ends_with("infra/local/src/seed.rs")
        {
            continue;
        }
        for (line, literal) in literals(path) {
            let text = literal.replace("\\n", " ").replace("\\\"", "\"");
            let starts_as_text = text
                .chars()
                .next()
                .is_some_and(|c| c.is_alphabetic() || c == '«' || c == '{');
            if text.split_whitespace().count() < 2 || !starts_as_text || !italian.is_match(&text) {
                continue;
            }
            let absent: Vec<String> = placeholder
                .split(&text)
                .map(|part| spaces.replace_all(part, " ").trim().to_owned())
                .filter(|part| !part.is_empty() && !catalogue.contains(part.as_str()))
                .collect();
            if !absent.is_empty() {
                missing.push(format!("{shown}:{line}: {literal}"));
            }
        }
    }
    missing
}

// ---- the test ------------------------------------------------------------------------------

#[tokio::test]
async fn every_text_is_read_and_the_catalogue_is_current() {
    let mut lint = Lint::new();
    let mut it = String::from(
        "# Testi per le persone — italiano\n\n\
         Ogni testo che una persona legge, come il codice lo produce: errori dell'API \
         (`application/problem+json`), messaggi dei campi, email e SMS. Generato da \
         `tests/texts.rs`, che controlla ogni testo contro un elenco di errori noti; per \
         aggiornarlo: `TITOLARE_UPDATE_TEXTS=1 cargo test -p titolare-e2e --test texts`.\n",
    );
    let mut en = String::from(
        "# Texts for people — English\n\n\
         Every email and SMS in English, as the code renders it for a holder whose `lingua` is \
         `en` (errors and pages are Italian only). Generated by `tests/texts.rs`.\n",
    );

    it.push_str("\n## Errori dell'API\n");
    let errors = every_error();
    let kinds: BTreeSet<&str> = errors.iter().map(|(_, e)| kind(e)).collect();
    assert_eq!(
        kinds.len(),
        KINDS,
        "every kind of error has a sample: {kinds:?}"
    );
    for (name, e) in errors {
        let body = answer(e);
        let detail = body["detail"].as_str().unwrap();
        let title = body["title"].as_str().unwrap();
        lint.sentence(&format!("{name}: detail"), detail);
        lint.rendered(&format!("{name}: title"), title);
        let _ = write!(
            it,
            "\n### {name}\n\n{} `{}` — **{title}**\n\n{detail}\n",
            body["status"],
            body["type"].as_str().unwrap()
        );
        if let Some(fields) = body["errors"].as_object() {
            it.push('\n');
            for (field, message) in fields {
                let message = message.as_str().unwrap();
                lint.sentence(&format!("{name}: field {field}"), message);
                let _ = writeln!(it, "- `{field}`: {message}");
            }
        }
    }

    it.push_str("\n## Rifiuti, come il servizio li risponde\n\nChiamate vere al gateway locale: ogni richiesta rifiutata, con la risposta.\n");
    let (walked, answered) = refusals().await;
    for (name, status, body) in walked {
        let detail = body["detail"]
            .as_str()
            .or(body.as_str())
            .unwrap_or_default();
        let title = body["title"].as_str().unwrap_or_default();
        lint.sentence(&format!("{name}: detail"), detail);
        lint.rendered(&format!("{name}: title"), title);
        // A page of the gateway answers plain text: no title then.
        let title = if title.is_empty() {
            String::new()
        } else {
            format!(" — **{title}**")
        };
        let _ = write!(it, "\n### {name}\n\n{status}{title}\n\n{detail}\n");
        if let Some(fields) = body["errors"].as_object() {
            it.push('\n');
            for (field, message) in fields {
                let message = message.as_str().unwrap_or_default();
                lint.sentence(&format!("{name}: field {field}"), message);
                let _ = writeln!(it, "- `{field}`: {message}");
            }
        }
    }
    it.push_str("\n## Altri testi delle risposte\n\n");
    for (name, text) in answered {
        lint.rendered(&name, &text);
        let _ = writeln!(it, "- {name}: {text}");
    }

    it.push_str("\n## Parole e righe del servizio\n\n");
    for (name, text) in service_words() {
        lint.rendered(&name, &text);
        let _ = writeln!(it, "- {name}: {text}");
    }

    it.push_str("\n## Messaggi dei campi\n\n");
    for (name, message) in value_messages() {
        lint.sentence(&name, &message);
        let _ = writeln!(it, "- {name}: {message}");
    }

    // The words the API gives the panel for its codes: each status, step, trail line, outcome
    // and label a page shows.
    it.push_str("\n## Parole del pannello\n\nCiò che l'API dà al pannello (`vocabulary`) per i suoi codici.\n");
    let vocabulary =
        serde_json::to_value(titolare_domain::vocabulary::Vocabulary::of(Lingua::It)).unwrap();
    fn words(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
        match value {
            Value::String(text) => out.push((prefix.to_owned(), text.clone())),
            Value::Object(map) => {
                for (key, inner) in map {
                    let name = if prefix.is_empty() {
                        key.clone()
                    } else {
                        format!("{prefix}.{key}")
                    };
                    words(&name, inner, out);
                }
            }
            Value::Array(list) => {
                for (n, inner) in list.iter().enumerate() {
                    words(&format!("{prefix}[{n}]"), inner, out);
                }
            }
            _ => {}
        }
    }
    let mut panel = Vec::new();
    words("", &vocabulary, &mut panel);
    let mut group = String::new();
    // `lingua` and each tipo's own code are codes, not words.
    for (name, text) in panel
        .iter()
        .filter(|(name, _)| name != "lingua" && !name.ends_with(".tipo"))
    {
        let head = name.split(['.', '[']).next().unwrap_or_default().to_owned();
        if head != group {
            let _ = write!(it, "\n### {head}\n\n");
            group = head;
        }
        lint.rendered(&format!("vocabulary {name}"), text);
        lint.language(&format!("vocabulary {name}"), text, Lingua::It);
        let _ = writeln!(it, "- `{name}`: {text}");
    }

    // What a new holder ticks, as the example configuration words it.
    it.push_str("\n## Condizioni contrattuali (esempio)\n\n");
    for c in titolare_domain::steps::Rules::default().conditions {
        let consent = c.consent_sentence();
        lint.rendered(&format!("condition {}", c.id), &consent);
        let _ = writeln!(it, "- {}: {consent}", c.title);
    }

    it.push_str("\n## Email e SMS\n");
    en.push_str("\n## Emails and SMS\n");
    let tags = Regex::new(r"<[^>]+>").unwrap();
    for (name, lingua, r) in every_message() {
        let place = format!("{name} ({lingua:?})");
        let out = if lingua == Lingua::It {
            &mut it
        } else {
            &mut en
        };
        let _ = write!(out, "\n### {name}\n\n");
        if !r.subject.is_empty() {
            lint.rendered(&format!("{place}: subject"), &r.subject);
            lint.language(&format!("{place}: subject"), &r.subject, lingua);
            let _ = write!(out, "**{}**\n\n", r.subject);
        }
        for paragraph in r.text.split("\n\n") {
            for line in paragraph.lines() {
                lint.rendered(&format!("{place}: text"), line);
                lint.language(&format!("{place}: text"), line, lingua);
            }
        }
        let html_text = tags.replace_all(&r.html, "\n");
        for line in html_text.lines().filter(|l| !l.trim().is_empty()) {
            lint.source(&format!("{place}: html"), line);
        }
        let quoted: Vec<String> = r
            .text
            .lines()
            .map(|l| format!("> {l}").trim_end().to_owned())
            .collect();
        let _ = writeln!(out, "{}", quoted.join("\n"));
    }

    let root = root();
    let mut sources = Vec::new();
    for dir in ["shared", "functions", "infra/local/src"] {
        files(&root.join(dir), &[".rs"], &mut sources);
    }
    files(&root.join("web"), &[".js", ".html"], &mut sources);
    sources.sort();
    let mut read = 0;
    for path in &sources {
        let shown = path.strip_prefix(&root).unwrap().display().to_string();
        if shown.contains("/conformance")
            || shown.ends_with("testing.rs")
            || shown.ends_with("probes.rs")
        {
            continue;
        }
        for (line, text) in literals(path) {
            read += 1;
            lint.source(&format!("{shown}:{line}"), &text);
        }
    }
    assert!(read > 1000, "the literals were read ({read})");

    assert!(
        lint.found.is_empty(),
        "{} texts to correct:\n{}",
        lint.found.len(),
        lint.found.join("\n")
    );

    let missing = outside_the_catalogue(&root, &format!("{it}\n{en}"));
    assert!(
        missing.is_empty(),
        "{} texts a person can read are not in the catalogue (give each a sample above):\n{}",
        missing.len(),
        missing.join("\n")
    );

    let texts = root.join("shared/texts");
    for (file, catalogue) in [("it.md", &it), ("en.md", &en)] {
        let path = texts.join(file);
        if std::env::var_os("TITOLARE_UPDATE_TEXTS").is_some() {
            std::fs::create_dir_all(&texts).unwrap();
            std::fs::write(&path, catalogue).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == *catalogue,
            "shared/texts/{file} is not what the code says: run TITOLARE_UPDATE_TEXTS=1 cargo test -p titolare-e2e --test texts, and read the diff"
        );
    }
}

/// The lint finds what it is for: each rule catches a known mistake.
#[test]
fn the_lint_catches_the_known_mistakes() {
    let mut lint = Lint::new();
    for bad in [
        "Il attuale titolare",
        "Richiesta non trovato.",
        "Casella a@pec.it indicato più di una volta.",
        "Codice errato: restano 1 tentativi.",
        "unknown variant `fax`, expected `sms` or `email`",
        "Alcuni campi non sono validi: correggerli e riprovare.",
        "Tipo non valido: libero_professionista.",
        "Passaggio non previsto per questa parte.",
    ] {
        let before = lint.found.len();
        lint.rendered("probe", bad);
        assert!(lint.found.len() > before, "not caught: {bad}");
    }
    let before = lint.found.len();
    lint.sentence("probe", "campo obbligatorio");
    assert_eq!(lint.found.len(), before + 2, "case and full stop");
    let before = lint.found.len();
    lint.language("probe", "Your request", Lingua::It);
    lint.language("probe", "La tua richiesta", Lingua::En);
    assert_eq!(lint.found.len(), before + 2, "languages mixed");
}
