//! Errors as `application/problem+json` (RFC 9457), mapped in one place.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;
use titolare_domain::FieldErrors;
use titolare_domain::otp::CodeError;
use titolare_domain::ports::StoreError;
use titolare_domain::steps::StepError;
use titolare_domain::transfer::Closed;

/// A draft refused by the domain's rules, on the field it is about.
/// Refusals that no ordinary input reaches: a race with another writer, or data the
/// provider changed meanwhile. Named here, where tests/texts.rs reads them into the catalogue
/// of texts, since no sample call can make them happen.
pub mod seldom {
    /// Another call changed the request between this call's read and its write.
    pub const BUSY: &str =
        "La richiesta è stata modificata da un'altra operazione nello stesso momento: riprova.";
    /// A `hand_over` completion whose new holder's profile was deleted meanwhile.
    pub const PROFILE_GONE: &str = "Il profilo del nuovo titolare non esiste più: la richiesta non può concludersi. Il richiedente può annullarla e, se serve, avviarne una nuova.";
    /// A password link whose transfer record is gone (kept 1 year after its end).
    pub const TRANSFER_GONE: &str = "La richiesta che ha trasferito la casella non è più disponibile: contatta l'assistenza per impostare la password.";
    /// The TTL backstop met a request that is not overdue (its deadline moved).
    pub const NOT_OVERDUE: &str = "La richiesta non è scaduta.";
    /// The items' holder is no longer among the account's holders (inventory changed).
    pub const HOLDER_NOT_IN_ACCOUNT: &str =
        "Il titolare attuale non è tra i titolari del tuo account.";
    /// An account the provider sent with no profile of its own.
    pub const NO_OWN_PROFILE: &str =
        "Il tuo account non ha un profilo proprio: indica il tuo cellulare e la tua email.";
}

impl From<titolare_domain::draft::DraftError> for ApiError {
    fn from(e: titolare_domain::draft::DraftError) -> Self {
        match e {
            titolare_domain::draft::DraftError::Items(errors) => Self::Validation(errors),
            e => Self::Validation(FieldErrors::one(e.field(), e.to_string())),
        }
    }
}

/// A completion whose moved item left the account meanwhile: someone changed it first.
impl From<titolare_domain::consequences::ItemGone> for ApiError {
    fn from(_: titolare_domain::consequences::ItemGone) -> Self {
        Self::Conflict(titolare_domain::consequences::ItemGone::DETAIL)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A support route called by someone not in the operators' group.
    #[error("not an operator")]
    NotOperator,
    #[error(transparent)]
    Support(#[from] titolare_domain::support::SupportError),
    #[error("unauthenticated")]
    Unauthorized,
    /// A call that did not come through the provider's CloudFront distribution.
    #[error("not through the edge")]
    NotThroughEdge,
    #[error("not found")]
    NotFound(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed(Vec<&'static str>),
    #[error("bad request")]
    BadRequest {
        detail: String,
        errors: Option<FieldErrors>,
    },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("validation failed")]
    Validation(FieldErrors),
    #[error("fixed fields")]
    FixedFields(FieldErrors),
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A link token that is malformed, forged or names no request: one answer for all.
    #[error("invalid link")]
    InvalidLink,
    /// A genuine link that a correction of the holder's contact replaced.
    #[error("replaced link")]
    ReplacedLink,
    /// A new invitation or a contact correction refused.
    #[error("invitation: {0}")]
    Invite(#[from] titolare_domain::invite::InviteError),
    #[error("request closed: {0}")]
    Closed(#[from] Closed),
    #[error("one-time code: {0}")]
    Code(#[from] CodeError),
    #[error("conflict: {0}")]
    Conflict(&'static str),
    /// The account's invitations and code emails of the last 24 hours reach its limit.
    #[error("email limit")]
    EmailLimit(titolare_domain::quota::OverLimit),
    /// A step of a transfer refused with its own status and detail.
    #[error("step refused: {detail}")]
    Step {
        status: StatusCode,
        detail: String,
        field: Option<&'static str>,
    },
    /// Items already in another transfer, or recently moved: each one's reason.
    #[error("items busy")]
    Busy(FieldErrors),
    /// A password-reset link that is malformed or forged.
    #[error("invalid reset link")]
    InvalidResetLink,
    #[error("expired reset link")]
    ExpiredResetLink,
    /// A new password-reset link refused.
    #[error("reset link: {0}")]
    ResetLink(#[from] titolare_domain::reset::LinkError),
    /// A new holder with the codice fiscale (or an azienda's partita IVA) of one the account has.
    #[error("duplicate holder {existing:?}")]
    DuplicateHolder {
        existing: titolare_domain::HolderId,
        natural_person: bool,
        /// The object the holder's fields are in, when not the body itself.
        within: Option<&'static str>,
    },
}

impl ApiError {
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: detail.into(),
            errors: None,
        }
    }

    pub fn bad_field(field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest {
            detail: "Un campo della richiesta non è valido: correggilo e riprova.".into(),
            errors: Some(FieldErrors::one(field, message)),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
    pub request_id: String,
    /// With `duplicate-holder`: the holder the new one would duplicate.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub existing_holder_id: Option<String>,
}

impl ApiError {
    fn parts(
        self,
    ) -> (
        StatusCode,
        &'static str,
        &'static str,
        String,
        Option<FieldErrors>,
    ) {
        use StatusCode as S;
        match self {
            Self::Unauthorized => (S::UNAUTHORIZED, "unauthorized", "Non autenticato", "Accesso richiesto: accedi di nuovo al pannello.".into(), None),
            Self::NotOperator => (S::FORBIDDEN, "forbidden", "Operazione non consentita", "Questa sezione è riservata all'assistenza del gestore: chiedi a un amministratore di inserirti nel gruppo degli operatori.".into(), None),
            Self::Support(e) => {
                let field = matches!(e, titolare_domain::support::SupportError::NoReason)
                    .then(|| FieldErrors::one("reason", e.to_string()));
                (S::UNPROCESSABLE_ENTITY, "validation", "Dati non validi", e.to_string(), field)
            }
            Self::NotThroughEdge => (S::FORBIDDEN, "forbidden", "Accesso non consentito", "Questo indirizzo non accetta chiamate dirette: usa il sito del gestore.".into(), None),
            Self::NotFound(what) => (S::NOT_FOUND, "not-found", "Non trovato", what.into(), None),
            Self::MethodNotAllowed(allowed) => (S::METHOD_NOT_ALLOWED, "method-not-allowed", "Metodo non consentito", format!("Metodi consentiti: {}.", allowed.join(", ")), None),
            Self::BadRequest { detail, errors } => (S::BAD_REQUEST, "bad-request", "Richiesta non valida", detail, errors),
            Self::UnsupportedMediaType => (S::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "Formato non supportato", "Il corpo della richiesta deve essere JSON (Content-Type: application/json).".into(), None),
            Self::PayloadTooLarge => (S::PAYLOAD_TOO_LARGE, "payload-too-large", "Richiesta troppo grande", "Il corpo della richiesta supera i 64 KiB.".into(), None),
            Self::Validation(errors) => (S::UNPROCESSABLE_ENTITY, "validation", "Dati non validi", "Alcuni campi non sono validi: correggili e riprova.".into(), Some(errors)),
            Self::FixedFields(errors) => (S::UNPROCESSABLE_ENTITY, "fixed-fields", "Campi non modificabili", "La modifica riguarda campi che non si possono cambiare dopo la creazione del titolare; nessun dato è stato modificato.".into(), Some(errors)),
            Self::IdempotencyKeyReused => (S::UNPROCESSABLE_ENTITY, "idempotency-key-reused", "Chiave di idempotenza già usata", "La Idempotency-Key è già stata usata per una richiesta diversa: usane una nuova.".into(), None),
            Self::InvalidLink => (S::UNAUTHORIZED, "invalid-link", "Link non valido", "Il link non è valido: usa quello che hai ricevuto via email, copiandolo per intero.".into(), None),
            Self::Closed(closed @ (Closed::DeadlinePassed | Closed::DraftLapsed)) => (S::GONE, "deadline-passed", "Richiesta scaduta", closed.to_string(), None),
            Self::Closed(closed) => (S::CONFLICT, "request-ended", "Richiesta conclusa", closed_detail(closed), None),
            Self::Conflict(detail) => (S::CONFLICT, "conflict", "Conflitto", detail.into(), None),
            Self::EmailLimit(over) => (S::TOO_MANY_REQUESTS, "email-limit", "Troppe email", send_limit_detail(over), None),
            Self::Step { status, detail, field } => {
                let errors = field.map(|f| FieldErrors::one(f, detail.clone()));
                let (slug, title) = match status.as_u16() {
                    403 => ("forbidden", "Operazione non consentita"),
                    409 => ("step-not-allowed", "Passaggio non consentito"),
                    _ => ("validation", "Dati non validi"),
                };
                (status, slug, title, detail, errors)
            }
            Self::Busy(errors) => (S::CONFLICT, "items-busy", "Elementi non disponibili", "Alcuni elementi non possono entrare in una nuova richiesta: toglili o attendi che si liberino.".into(), Some(errors)),
            Self::InvalidResetLink => (S::UNAUTHORIZED, "invalid-link", "Link non valido", "Il link per impostare la password non è valido: usa quello che hai ricevuto via email, copiandolo per intero.".into(), None),
            Self::ExpiredResetLink => (S::GONE, "link-expired", "Link scaduto", "Il link per impostare la password è scaduto: era valido 24 ore. Chiedine uno nuovo da questa pagina: arriverà alla tua email.".into(), None),
            Self::DuplicateHolder { existing, natural_person, within } => {
                let (field, code) = if natural_person { ("codice_fiscale", "questo codice fiscale") } else { ("partita_iva", "questa partita IVA") };
                let field = within.map_or(field.to_owned(), |w| format!("{w}.{field}"));
                (S::CONFLICT, "duplicate-holder", "Titolare già presente", format!("Hai già un titolare con {code}: il n. {}. Usa quello, oppure invia di nuovo con \"allow_duplicate\": true se vuoi davvero un secondo profilo.", existing.as_str()), Some(FieldErrors::one(&field, format!("Appartiene già al titolare n. {}.", existing.as_str()))))
            }
            Self::ResetLink(e) => {
                use titolare_domain::reset::LinkError as L;
                let (status, slug, title) = match e {
                    L::NotPending => (S::CONFLICT, "conflict", "Password già impostata"),
                    L::NoVerifiedAddress => (S::CONFLICT, "conflict", "Link non disponibile"),
                    L::EarlierChange => (S::CONFLICT, "conflict", "Link non più valido"),
                    L::Used => (S::CONFLICT, "conflict", "Link già usato"),
                    L::Replaced => (S::CONFLICT, "conflict", "Link sostituito"),
                    L::TooMany(_) | L::TooSoon(_) => (S::TOO_MANY_REQUESTS, "too-many-requests", "Troppi link"),
                };
                (status, slug, title, e.to_string(), None)
            }
            Self::ReplacedLink => (S::UNAUTHORIZED, "invalid-link", "Link sostituito", "Questo link non vale più: il richiedente ha corretto i tuoi contatti e ti ha inviato un nuovo link via email. Usa quello.".into(), None),
            Self::Invite(e) => invite_parts(e),
            Self::Code(e) => code_parts(e),
            Self::Store(StoreError::Conflict) => (S::CONFLICT, "conflict", "Conflitto", "Il dato è stato modificato nel frattempo: ricarica la pagina e riprova.".into(), None),
            Self::Store(StoreError::InvalidCursor) => (S::BAD_REQUEST, "bad-request", "Richiesta non valida", "Richiesta non valida.".into(), Some(FieldErrors::one("cursor", "Cursore non valido per questa ricerca: riparti dalla prima pagina."))),
            Self::Store(StoreError::Unavailable(_)) => (S::SERVICE_UNAVAILABLE, "unavailable", "Servizio non disponibile", "Servizio momentaneamente non disponibile: riprova tra poco.".into(), None),
            Self::Store(StoreError::Corrupt(_)) => (S::INTERNAL_SERVER_ERROR, "internal", "Errore interno", "Errore interno: il problema è stato registrato. Riprova più tardi.".into(), None),
        }
    }

    /// Seconds a client should wait before trying again, for a 429.
    fn retry_after(&self) -> Option<i64> {
        match self {
            Self::Code(CodeError::TooSoon(seconds)) => Some(*seconds),
            Self::Code(CodeError::SmsLimit(over)) | Self::EmailLimit(over) => {
                Some(over.retry_after_seconds)
            }
            Self::ResetLink(titolare_domain::reset::LinkError::TooSoon(seconds)) => Some(*seconds),
            Self::Invite(titolare_domain::invite::InviteError::TooSoon(seconds)) => Some(*seconds),
            _ => None,
        }
    }

    /// The words the problem's `detail` says.
    pub fn detail(self) -> String {
        self.parts().3
    }

    pub fn into_response(self, request_id: &str) -> Response<Body> {
        if let Self::Store(e @ (StoreError::Unavailable(_) | StoreError::Corrupt(_))) = &self {
            tracing::error!(request_id, error = %e, "store failure");
        }
        let retry_after = self.retry_after();
        // RFC 9110 §15.5.6: a 405 names the methods the resource has; §11.6.1: a 401 names
        // how to authenticate (a bearer token: the account's JWT or a holder's link token).
        let allow = match &self {
            Self::MethodNotAllowed(allowed) => {
                http::HeaderValue::from_str(&allowed.join(", ")).ok()
            }
            _ => None,
        };
        let challenge = match &self {
            Self::Unauthorized => Some(r#"Bearer realm="titolare""#),
            Self::InvalidLink | Self::InvalidResetLink | Self::ReplacedLink => {
                Some(r#"Bearer realm="titolare", error="invalid_token""#)
            }
            _ => None,
        };
        let existing_holder_id = match &self {
            Self::DuplicateHolder { existing, .. } => Some(existing.as_str().to_owned()),
            _ => None,
        };
        let (status, slug, title, detail, errors) = self.parts();
        let problem = Problem {
            kind: format!("urn:titolare:problem:{slug}"),
            title,
            status: status.as_u16(),
            detail,
            errors,
            request_id: request_id.to_owned(),
            existing_holder_id,
        };
        let mut response = crate::reply::respond(status, "application/problem+json", &problem);
        if let Some(allow) = allow {
            response.headers_mut().insert(http::header::ALLOW, allow);
        }
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                http::header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static(challenge),
            );
        }
        if let Some(seconds) = retry_after
            && let Ok(value) = http::HeaderValue::from_str(&seconds.to_string())
        {
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, value);
        }
        response
    }
}

fn closed_detail(closed: Closed) -> String {
    use titolare_domain::transfer::TransferStatus as T;
    let how = match closed {
        Closed::Ended(T::Completed) => "completata",
        Closed::Ended(T::Rejected) => "rifiutata",
        Closed::Ended(T::Cancelled) => "annullata dal richiedente",
        Closed::Ended(T::Expired) | Closed::DeadlinePassed | Closed::DraftLapsed => "scaduta",
        Closed::Ended(T::Draft | T::Open) => "chiusa",
    };
    let next = match closed {
        Closed::Ended(T::Completed) => "",
        _ => " Se il cambio serve ancora, chi gestisce i servizi può avviare una nuova richiesta.",
    };
    format!("La richiesta è già stata {how}: nessuna modifica è possibile.{next}")
}

type Parts = (
    StatusCode,
    &'static str,
    &'static str,
    String,
    Option<FieldErrors>,
);

fn invite_parts(e: titolare_domain::invite::InviteError) -> Parts {
    use StatusCode as S;
    use titolare_domain::invite::InviteError as I;
    match e {
        I::Closed(closed) => ApiError::Closed(closed).parts(),
        I::NotOpen | I::Verified(..) | I::Finished(_) => (
            S::CONFLICT,
            "step-not-allowed",
            "Passaggio non consentito",
            e.to_string(),
            None,
        ),
        I::TooMany(..) | I::TooSoon(_) => (
            S::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Troppi inviti",
            e.to_string(),
            None,
        ),
        I::NotAHolder => {
            let detail = e.to_string();
            (
                S::UNPROCESSABLE_ENTITY,
                "validation",
                "Dati non validi",
                detail.clone(),
                Some(FieldErrors::one("party", detail)),
            )
        }
        I::Nothing => (
            S::UNPROCESSABLE_ENTITY,
            "validation",
            "Dati non validi",
            e.to_string(),
            None,
        ),
    }
}

fn code_parts(e: CodeError) -> Parts {
    use StatusCode as S;
    let detail = e.to_string();
    let field = |f: &str| Some(FieldErrors::one(f, detail.clone()));
    match e {
        CodeError::TooManySends(_) | CodeError::TooSoon(_) | CodeError::TooManyAttempts => (
            S::TOO_MANY_REQUESTS,
            "too-many-requests",
            "Troppi tentativi",
            detail.clone(),
            None,
        ),
        CodeError::AlreadyApproved => (
            S::CONFLICT,
            "code-already-used",
            "Codice già usato",
            detail.clone(),
            None,
        ),
        CodeError::NoCode => (
            S::CONFLICT,
            "no-code",
            "Nessun codice",
            detail.clone(),
            None,
        ),
        CodeError::Expired => (
            S::UNPROCESSABLE_ENTITY,
            "code-expired",
            "Codice scaduto",
            detail.clone(),
            field("code"),
        ),
        CodeError::Wrong(_) => (
            S::UNPROCESSABLE_ENTITY,
            "code-wrong",
            "Codice errato",
            detail.clone(),
            field("code"),
        ),
        CodeError::Format => (
            S::BAD_REQUEST,
            "bad-request",
            "Codice non valido",
            "Codice non valido: deve avere 6 cifre.".into(),
            field("code"),
        ),
        CodeError::Channel(_) => (
            S::UNPROCESSABLE_ENTITY,
            "validation",
            "Dati non validi",
            detail.clone(),
            field("channel"),
        ),
        CodeError::SmsLimit(over) => (
            S::TOO_MANY_REQUESTS,
            "sms-limit",
            "Troppi SMS",
            send_limit_detail(over),
            None,
        ),
        CodeError::Country => (
            S::UNPROCESSABLE_ENTITY,
            "validation",
            "Dati non validi",
            detail.clone(),
            field("phone"),
        ),
    }
}

/// Why a send is refused by a limit across transfers, and when to try again.
fn send_limit_detail(over: titolare_domain::quota::OverLimit) -> String {
    use titolare_domain::quota::QuotaScope;
    let why = match over.scope {
        QuotaScope::Destination => "Troppi SMS inviati a questo numero nell'ultima ora",
        QuotaScope::Account => {
            "Troppi SMS inviati per le richieste di questo account nelle ultime 24 ore"
        }
        QuotaScope::AccountEmail => {
            "Troppe email (inviti e codici) inviate per le richieste di questo account nelle ultime 24 ore"
        }
    };
    format!(
        "{why}: riprova tra {}.",
        titolare_domain::text::wait_in_words(over.retry_after_seconds)
    )
}

/// A refused step of a transfer as the API answers it.
pub fn step_error(e: StepError) -> ApiError {
    match e {
        StepError::Closed(c) => ApiError::Closed(c),
        StepError::Phase(detail) => ApiError::Step {
            status: StatusCode::CONFLICT,
            detail,
            field: None,
        },
        StepError::AlreadyDone => ApiError::Conflict(
            "Hai già completato questo passaggio con dati diversi: non si può cambiare. Se serve un cambio diverso, chiedi al richiedente di annullare questa richiesta e di avviarne una nuova.",
        ),
        StepError::OutOfOrder(_) => ApiError::Step {
            status: StatusCode::CONFLICT,
            detail: e.to_string(),
            field: None,
        },
        StepError::WrongAccount => ApiError::Step {
            status: StatusCode::FORBIDDEN,
            detail: "Per completare la richiesta accedi con lo username indicato dal richiedente."
                .into(),
            field: None,
        },
        StepError::Decisions(m) => ApiError::bad_field("decisions", m),
        StepError::MissingConditions(_) | StepError::UnknownCondition(_) => ApiError::Step {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: e.to_string(),
            field: Some("accepted"),
        },
        StepError::NotOverdue => ApiError::Conflict("La scadenza non è ancora passata."),
        StepError::NumberFixed | StepError::NumberTooLate(_) => ApiError::Step {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            detail: e.to_string(),
            field: Some("phone"),
        },
        StepError::HoldPending => {
            ApiError::Conflict("L'attesa dopo il cambio di numero non è ancora finita.")
        }
        StepError::NotAHolder => ApiError::Step {
            status: StatusCode::FORBIDDEN,
            detail: e.to_string(),
            field: None,
        },
        StepError::UnknownUsername => {
            ApiError::Validation(FieldErrors::one("management.username", e.to_string()))
        }
    }
}
