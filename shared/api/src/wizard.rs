//! The change-of-holder wizard over HTTP (SPEC §4, §6): the initiator's routes (account
//! login) and the holders' (link token). Every step is one read of the request and one
//! conditional transaction; a conflict means someone else moved first, so the step is read
//! and decided again, and a repeat is answered without being applied twice.

use crate::idempotency::{Idem, refused_unless_replayed, replayed};
use crate::input::{json_body, no_body, query_params};
use crate::lifecycle::{Change, Extra, commit};
use crate::problem::ApiError;
use crate::{Caller, Services, json};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use titolare_domain::otp::Party;
use titolare_domain::outbox::mask;
use titolare_domain::ports::*;
use titolare_domain::transfer::*;
use titolare_domain::wizard::{Action, Decision, StepError};
use titolare_domain::{
    AccountId, FieldErrors, Holder, HolderFields, HolderId, Operation, OperationKind, Outcome,
    PageRequest, ServiceStatus,
};

type Answer = Result<Response<Body>, ApiError>;

/// Tries of a step that keeps meeting concurrent changes before it gives up with a 409.
const TRIES: usize = 4;

pub(crate) fn actor(caller: &Caller) -> Actor {
    Actor::new(&caller.request_id, &caller.source_ip, &caller.user_agent)
}

/// A request as its initiator sees it: everything, contacts masked, with its audit trail.
pub(crate) fn initiator_view(t: &Transfer) -> Value {
    let steps = |p: Party| json!({ "done": t.steps_done(p), "left": t.steps_left(p) });
    json!({
        "id": t.id,
        "status": t.status,
        "created_at": t.created_at,
        "deadline": t.deadline,
        "hold_until": t.hold_until,
        "ended_at": t.ended_at,
        "management": management_view(&t.management),
        "current_holder": t.current_holder_card,
        "new_holder": t.new_holder_card,
        "items": t.items,
        "initiator_mobile": mask(t.initiator.mobile.as_str()),
        "contacts": {
            "current_holder": contact_view(t, Party::CurrentHolder),
            "new_holder": contact_view(t, Party::NewHolder),
        },
        "progress": {
            "initiator": steps(Party::Initiator),
            "current_holder": steps(Party::CurrentHolder),
            "new_holder": steps(Party::NewHolder),
        },
        "accepted_conditions": t.progress.accepted_conditions,
        "audit": initiator_audit(t),
        "audit_omitted": t.audit_omitted,
    })
}

/// The trail as the initiator sees it: a holder's address and browser are that holder's
/// (and the operators'), not the reseller's, so only the initiator's own lines carry them (an
/// ending line carries the call that ended it, often a holder's).
fn initiator_audit(t: &Transfer) -> Vec<Value> {
    t.audit
        .iter()
        .map(|entry| {
            let mut line = json!(entry);
            let others = entry.party != Some(Party::Initiator);
            if let (true, Some(fields)) = (others, line.as_object_mut()) {
                fields.remove("source_ip");
                fields.remove("user_agent");
            }
            line
        })
        .collect()
}

/// A holder's contact as the initiator sees it: masked, with the invitations sent.
fn contact_view(t: &Transfer, party: Party) -> Value {
    let c = t.contact(party);
    json!({
        "mobile": mask(c.mobile.as_str()),
        "email": mask(c.email.as_str()),
        "invitations": c.invitations,
        "invited_at": c.invited_at,
    })
}

fn management_view(m: &Management) -> Value {
    match m {
        Management::Keep => json!({ "mode": "keep" }),
        Management::HandOver { username, .. } => {
            json!({ "mode": "hand_over", "username": username })
        }
    }
}

/// A request as one holder sees it: the items with their own decisions, their steps, and
/// what the next steps need.
pub(crate) fn party_view(s: &Services, t: &Transfer, party: Party) -> Value {
    let items: Vec<Value> = t
        .items
        .iter()
        .map(|i| {
            json!({
                "kind": i.item.kind,
                "id": i.item.id,
                "accept": if party == Party::CurrentHolder { i.current_holder } else { i.new_holder },
                "outcome": i.outcome,
            })
        })
        .collect();
    let contact = t.contact(party);
    let mut view = json!({
        "role": party,
        "transfer": {
            "id": t.id,
            "status": t.status,
            "management": management_view(&t.management),
            "current_holder": t.current_holder_card.name,
            "new_holder": t.new_holder_card.name,
        },
        "items": items,
        "steps_done": t.steps_done(party),
        "steps_left": t.steps_left(party),
        "deadline": t.deadline,
        "hold_until": t.hold_until,
        "contact": { "mobile": mask(contact.mobile.as_str()), "email": mask(contact.email.as_str()) },
        "conditions": [],
    });
    if party == Party::NewHolder {
        view["conditions"] = json!(s.rules.conditions);
        if !t.new_holder_card.tipo.is_natural_person() {
            let c = &t.new_holder_card;
            view["holder_data"] = json!({
                "ragione_sociale": c.ragione_sociale,
                "codice_fiscale": c.codice_fiscale,
                "partita_iva": c.partita_iva,
                "editable": false,
                "wrong_ragione_sociale": {
                    "detail": "Se la ragione sociale non è corretta, segui la procedura di cambio ragione sociale.",
                    "url": s.rules.change_of_name_url,
                },
                "wrong_codes": {
                    "detail": "Se il codice fiscale o la partita IVA non sono corretti, contatta l'assistenza.",
                    "url": s.rules.support_url,
                },
            });
        }
    }
    view
}

/// A refused wizard step as the API answers it.
pub fn step_error(e: StepError) -> ApiError {
    match e {
        StepError::Closed(c) => ApiError::Closed(c),
        StepError::Phase(detail) => ApiError::Step {
            status: StatusCode::CONFLICT,
            detail,
            field: None,
        },
        StepError::AlreadyDone => ApiError::Conflict(
            "Hai già completato questo passaggio con dati diversi: non si può cambiare.",
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
        StepError::UnknownUsername => invalid("management.username", e.to_string()),
    }
}

/// A draft's `hand_over` account, looked up by its username now that the initiator verifies:
/// left unset when no other account has it (the domain then refuses to open the draft).
pub(crate) async fn with_hand_over_resolved<'t>(
    s: &Services,
    t: &'t Transfer,
) -> Result<std::borrow::Cow<'t, Transfer>, ApiError> {
    let (
        TransferStatus::Draft,
        Management::HandOver {
            username,
            account: None,
        },
    ) = (t.status, &t.management)
    else {
        return Ok(std::borrow::Cow::Borrowed(t));
    };
    let found = s
        .store
        .account_by_username(username)
        .await?
        .map(|a| a.id)
        .filter(|id| *id != t.account);
    let mut resolved = t.clone();
    resolved.management = Management::HandOver {
        username: username.clone(),
        account: found,
    };
    Ok(std::borrow::Cow::Owned(resolved))
}

/// Runs `attempt` on the request as just read. When a concurrent change wins the race (a
/// conflict), answers as the winner was answered if it carried the same Idempotency-Key, else
/// reads the request again and decides afresh, so a repeat is never applied twice.
pub(crate) async fn with_retries<F, Fut>(
    s: &Services,
    idem: Option<&Idem>,
    mut read: Versioned<Transfer>,
    mut attempt: F,
) -> Answer
where
    F: FnMut(Versioned<Transfer>) -> Fut,
    Fut: std::future::Future<Output = Answer>,
{
    let id = read.value.id.clone();
    for _ in 0..TRIES {
        match attempt(read).await {
            Err(ApiError::Store(StoreError::Conflict)) => {
                if let Some(answer) = replayed(idem, &*s.store).await? {
                    return Ok(answer);
                }
                read = s.store.transfer(&id).await?.ok_or(ApiError::InvalidLink)?;
            }
            // Refused on a state a twin call with the same key has just made (a resend "too
            // soon" after its send): that call's answer is this one's.
            Err(refused) if idem.is_some() => {
                return refused_unless_replayed(idem, &*s.store, refused).await;
            }
            other => return other,
        }
    }
    Err(busy())
}

/// Runs `action` of `party` on the request and answers with `view` of the result.
pub(crate) async fn run_step(
    s: &Services,
    read: Versioned<Transfer>,
    party: Party,
    action: &Action,
    caller: &Caller,
    idem: Option<&Idem>,
    view: impl Fn(&Transfer) -> Value,
) -> Answer {
    let now = s.clock.now();
    let view = &view;
    with_retries(s, idem, read, |read| async move {
        let applied = read
            .value
            .apply(party, action, now, &s.rules, &actor(caller))
            .map_err(step_error)?;
        let body = view(&applied.transfer);
        if !applied.changed {
            return Ok(json(StatusCode::OK, &body));
        }
        let extra = Extra {
            idempotent: idem.map(|i| i.record(StatusCode::OK, &body, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &applied.transfer, extra).await?;
        tracing::info!(request_id = %caller.request_id, transfer = read.value.id.as_str(), party = party.as_str(), status = ?applied.transfer.status, "step");
        Ok(json(StatusCode::OK, &body))
    })
    .await
}

/// Commits what a call of the request's parties did to the request as just read: the write
/// holds only if nobody changed the request since.
pub(crate) async fn commit_over(
    s: &Services,
    now: jiff::Timestamp,
    read: &Versioned<Transfer>,
    after: &Transfer,
    mut extra: Extra<'_>,
) -> Result<(), ApiError> {
    let condition = TransferCondition::Unchanged(read.version);
    extra.email_limit = Some(s.codes.emails_per_account);
    commit(
        &*s.store,
        &*s.metrics,
        &s.rules,
        now,
        Change {
            condition,
            before: &read.value,
            after,
        },
        extra,
    )
    .await
}

fn busy() -> ApiError {
    ApiError::Conflict(
        "La richiesta è stata modificata da un'altra operazione nello stesso momento: riprova.",
    )
}

// ---- initiator routes -----------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemInput {
    kind: ItemKind,
    id: String,
}

#[derive(Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case", deny_unknown_fields)]
enum ManagementInput {
    Keep,
    HandOver { username: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactInput {
    mobile: String,
    email: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateTransfer {
    items: Vec<ItemInput>,
    management: ManagementInput,
    #[serde(default)]
    new_holder_id: Option<String>,
    #[serde(default)]
    new_holder: Option<HolderFields>,
    /// The initiator's mobile and email, when not those of the account's own profile.
    #[serde(default)]
    initiator: Option<ContactInput>,
    /// `new_holder` is meant as a second profile of a person the account already has.
    #[serde(default)]
    allow_duplicate: bool,
}

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError::Validation(FieldErrors::one(field, message))
}

pub(crate) async fn create(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(
        req,
        IdempotencyScope::Account(account.clone()),
        s.key.as_ref(),
    )?;
    let body: CreateTransfer = json_body(req)?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let now = s.clock.now();
    let refs = parse_items(&body.items, s.rules.max_items)?;
    let states = s.store.items(&account, &refs).await?;
    let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut errors = FieldErrors::default();
    let mut holders = Vec::new();
    for (n, (item, state)) in refs.iter().zip(&states).enumerate() {
        let field = format!("items[{n}]");
        let (holder, status, end) = match state {
            None => {
                errors.insert(
                    &field,
                    format!(
                        "{} non {} in questo account.",
                        item.title(),
                        item.agrees("trovato", "trovata")
                    ),
                );
                continue;
            }
            Some(ItemState::Mailbox(m)) => {
                (&m.value.holder_id, m.value.status, m.value.end_of_service)
            }
            Some(ItemState::Domain(d)) => {
                (&d.value.holder_id, d.value.status, d.value.end_of_service)
            }
        };
        if !matches!(status, ServiceStatus::Certificato | ServiceStatus::Attivo) {
            errors.insert(
                &field,
                format!(
                    "{} non è {}.",
                    item.title(),
                    item.agrees("attivo", "attiva")
                ),
            );
        } else if end < today {
            errors.insert(
                &field,
                format!("{} è {}.", item.title(), item.agrees("scaduto", "scaduta")),
            );
        }
        holders.push(holder.clone());
    }
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    holders.dedup();
    let [current_id] = &holders[..] else {
        return Err(invalid(
            "items",
            "Gli elementi di una richiesta devono avere lo stesso titolare attuale: fai una richiesta per ciascun titolare.",
        ));
    };
    let current = s
        .store
        .holder(&account, current_id)
        .await?
        .ok_or(invalid(
            "items",
            "Il titolare attuale non è tra i titolari del tuo account.",
        ))?
        .value;
    let (new_holder, created) = match (&body.new_holder_id, &body.new_holder) {
        (Some(id), None) => {
            let id = HolderId::parse(id).map_err(|e| invalid("new_holder_id", e))?;
            let holder = s.store.holder(&account, &id).await?.ok_or(invalid(
                "new_holder_id",
                "Titolare non trovato nel tuo account.",
            ))?;
            (holder.value, false)
        }
        (None, Some(fields)) => {
            let mut holder = Holder::create(HolderId::from_number(1), fields)
                .map_err(|errors| ApiError::Validation(prefixed("new_holder", errors)))?;
            if let Err(refused) = crate::handlers::refuse_duplicate(
                &*s.store,
                &account,
                &holder,
                body.allow_duplicate,
                Some("new_holder"),
            )
            .await
            {
                // Perhaps this very call's twin, with the same key, created it a moment ago.
                return refused_unless_replayed(idem.as_ref(), &*s.store, refused).await;
            }
            holder.id = s.store.next_holder_id().await?;
            (holder, true)
        }
        _ => {
            return Err(invalid(
                "new_holder_id",
                "Indica il nuovo titolare con new_holder_id (uno già salvato) oppure con new_holder (uno nuovo), non con entrambi.",
            ));
        }
    };
    if new_holder.id == current.id {
        return Err(invalid(
            "new_holder_id",
            "Il nuovo titolare deve essere diverso da quello attuale.",
        ));
    }
    if s.rules.same_fiscal_identity_only && !current.same_fiscal_identity(&new_holder) {
        return Err(invalid(
            "new_holder_id",
            "Il nuovo titolare deve avere lo stesso codice fiscale o la stessa partita IVA di quello attuale.",
        ));
    }
    let management = match body.management {
        ManagementInput::Keep => Management::Keep,
        ManagementInput::HandOver { username } => {
            let username = titolare_domain::records::parse_username(&username)
                .map_err(|e| invalid("management.username", e))?;
            // Whether another account has this username is told only once the initiator
            // verifies (at most one lookup per SMS sent): a draft is no username oracle.
            let own = s.store.account(&account).await?;
            if own.is_some_and(|own| own.username.eq_ignore_ascii_case(&username)) {
                return Err(invalid(
                    "management.username",
                    "È il tuo stesso account: per lasciare a te la gestione scegli la modalità \"keep\".",
                ));
            }
            Management::HandOver {
                username,
                account: None,
            }
        }
    };
    let initiator = initiator_contact(s, &account, body.initiator).await?;
    let id = s.store.next_transfer_id().await?;
    let card = HolderCard::of;
    let mut draft = Transfer {
        id: id.clone(),
        account: account.clone(),
        status: TransferStatus::Draft,
        created_at: now,
        deadline: now + s.rules.draft_for,
        initiator,
        current_holder: contact_of(&current),
        new_holder: contact_of(&new_holder),
        current_holder_card: card(&current),
        new_holder_card: card(&new_holder),
        management,
        items: refs
            .iter()
            .map(|r| TransferItem {
                item: r.clone(),
                current_holder: None,
                new_holder: None,
                outcome: None,
            })
            .collect(),
        progress: Progress::default(),
        ended_at: None,
        retain_until: None,
        audit: vec![],
        audit_omitted: 0,
        hold_until: None,
    };
    draft = draft.noted(
        Party::Initiator,
        "created",
        Some(match refs.len() {
            1 => "1 elemento".to_owned(),
            n => format!("{n} elementi"),
        }),
        now,
        &actor(caller),
    );
    let body = initiator_view(&draft);
    let mut commit = TransferCommit::new(TransferCondition::New, None, &draft);
    let holders: Vec<(AccountId, Holder)> = if created {
        vec![(account.clone(), new_holder.clone())]
    } else {
        vec![]
    };
    let operations: Vec<(AccountId, Operation)> = holders
        .iter()
        .map(|(a, h)| {
            (
                a.clone(),
                Operation {
                    id: format!("holder-{}", h.id.as_str()),
                    at: now,
                    kind: OperationKind::HolderCreated,
                    outcome: Outcome::Success,
                    subject: h.id.as_str().to_owned(),
                    detail: format!(
                        "Inserimento titolare {} ({}) nella richiesta {}",
                        h.id.as_str(),
                        h.tipo.as_str(),
                        id.as_str()
                    ),
                    request_id: caller.request_id.clone(),
                },
            )
        })
        .collect();
    commit.holders = &holders;
    commit.operations = &operations;
    commit.idempotent = idem
        .as_ref()
        .map(|i| i.record(StatusCode::CREATED, &body, now));
    match s.store.commit(&commit).await {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
                return Ok(answer);
            }
            return Err(busy_items(s, &refs).await);
        }
        Err(e) => return Err(e.into()),
    }
    crate::lifecycle::record_commit(&*s.metrics, None, &draft, &[]);
    tracing::info!(request_id = %caller.request_id, transfer = id.as_str(), items = refs.len(), "draft created");
    let mut response = json(StatusCode::CREATED, &body);
    if let Ok(location) = http::HeaderValue::from_str(&format!("/v1/transfers/{}", id.as_str())) {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    Ok(response)
}

/// Why the items could not be locked: each one's reason.
async fn busy_items(s: &Services, refs: &[ItemRef]) -> ApiError {
    let mut errors = FieldErrors::default();
    for (n, item) in refs.iter().enumerate() {
        match s.store.item_lock(item).await {
            Ok(Some(ItemLock::InRequest { transfer })) => errors.insert(
                &format!("items[{n}]"),
                format!(
                    "{} è già in una richiesta non conclusa, la n. {}.",
                    item.title(),
                    transfer.as_str()
                ),
            ),
            Ok(Some(ItemLock::RecentChange { until, .. })) => errors.insert(
                &format!("items[{n}]"),
                format!(
                    "{} ha cambiato titolare di recente: un nuovo cambio è possibile dal {}.",
                    item.title(),
                    until.to_zoned(jiff::tz::TimeZone::UTC).date()
                ),
            ),
            _ => {}
        }
    }
    if errors.is_empty() {
        return busy();
    }
    ApiError::Busy(errors)
}

fn parse_items(input: &[ItemInput], max: usize) -> Result<Vec<ItemRef>, ApiError> {
    if input.is_empty() {
        return Err(invalid("items", "Indica almeno una casella o un dominio."));
    }
    if input.len() > max {
        return Err(invalid(
            "items",
            format!("Al massimo {max} elementi per richiesta: dividili in più richieste."),
        ));
    }
    let mut errors = FieldErrors::default();
    let mut refs: Vec<ItemRef> = Vec::new();
    for (n, i) in input.iter().enumerate() {
        match ItemRef::parse(i.kind, &i.id) {
            Ok(r) if refs.contains(&r) => errors.insert(
                &format!("items[{n}]"),
                format!(
                    "{} {} più di una volta.",
                    r.title(),
                    r.agrees("indicato", "indicata")
                ),
            ),
            Ok(r) => refs.push(r),
            Err(e) => errors.insert(&format!("items[{n}]"), e),
        }
    }
    if errors.is_empty() {
        Ok(refs)
    } else {
        Err(ApiError::Validation(errors))
    }
}

fn prefixed(prefix: &str, errors: FieldErrors) -> FieldErrors {
    let mut out = FieldErrors::default();
    for field in errors.fields() {
        out.insert(
            &format!("{prefix}.{field}"),
            errors.get(field).unwrap_or_default(),
        );
    }
    out
}

fn contact_of(h: &Holder) -> Contact {
    Contact::new(
        h.cellulare.clone(),
        h.email.clone(),
        h.lingua,
        Some(h.display_name()),
    )
}

async fn initiator_contact(
    s: &Services,
    account: &AccountId,
    given: Option<ContactInput>,
) -> Result<Contact, ApiError> {
    if let Some(c) = given {
        let mut errors = FieldErrors::default();
        let mobile = titolare_domain::values::MobileNumber::parse(&c.mobile)
            .map_err(|e| errors.insert("initiator.mobile", e.to_string()))
            .ok();
        let email = titolare_domain::values::EmailAddress::parse(&c.email)
            .map_err(|e| errors.insert("initiator.email", e.to_string()))
            .ok();
        return match (mobile, email) {
            (Some(mobile), Some(email)) => {
                Ok(Contact::new(mobile, email, Default::default(), None))
            }
            _ => Err(ApiError::Validation(errors)),
        };
    }
    let own = match s
        .store
        .account(account)
        .await?
        .and_then(|a| a.own_holder_id)
    {
        Some(id) => s.store.holder(account, &id).await?,
        None => None,
    };
    own.map(|h| contact_of(&h.value)).ok_or(invalid(
        "initiator",
        "Il tuo account non ha un profilo proprio: indica il tuo cellulare e la tua email.",
    ))
}

pub(crate) async fn get(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let (t, _) = crate::codes::initiator_transfer(s, caller, id).await?;
    Ok(json(
        StatusCode::OK,
        &initiator_view(&t.value.seen_at(s.clock.now())),
    ))
}

pub(crate) async fn list(s: &Services, caller: &Caller, req: &Request) -> Answer {
    // Who is asking comes first: without a token the answer is 401 whatever the query.
    caller.account()?;
    no_body(req)?;
    let params = query_params(req, &["status", "page_size", "cursor"])?;
    let page = PageRequest::parse(
        params.get("page_size").map(String::as_str),
        params.get("cursor").map(String::as_str),
    )
    .map_err(|errors| ApiError::BadRequest {
        detail: "Parametri di paginazione non validi.".into(),
        errors: Some(errors),
    })?;
    let mut statuses = Vec::new();
    if let Some(list) = params.get("status") {
        for name in list.split(',') {
            let status: TransferStatus =
                serde_json::from_value(json!(name.trim())).map_err(|_| {
                    ApiError::bad_field(
                        "status",
                        "Stato non valido: usa uno o più tra draft (bozza), open (aperta), completed (completata), rejected (rifiutata), cancelled (annullata) ed expired (scaduta), separati da virgola.",
                    )
                })?;
            statuses.push(status);
        }
    }
    let listed = s
        .store
        .transfers(caller.account()?, &statuses, &page)
        .await?;
    Ok(json(
        StatusCode::OK,
        &json!({ "items": listed.items, "next_cursor": listed.next_cursor }),
    ))
}

pub(crate) async fn cancel(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    empty_object(req)?;
    let (t, party) = crate::codes::initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    run_step(
        s,
        t,
        party,
        &Action::Cancel,
        caller,
        idem.as_ref(),
        initiator_view,
    )
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InviteInput {
    party: Party,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactsInput {
    party: Party,
    #[serde(default)]
    mobile: Option<String>,
    #[serde(default)]
    email: Option<String>,
}

/// `POST /v1/transfers/{id}/invitations`: the invitation again to one holder (a reminder;
/// the same link), within the limits of code sends.
pub(crate) async fn reinvite(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    let body: InviteInput = json_body(req)?;
    let (t, _) = crate::codes::initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let now = s.clock.now();
    let (party, idem) = (body.party, idem.as_ref());
    with_retries(s, idem, t, |read| async move {
        let after = read.value.reinvited(party, now, &s.codes, &actor(caller))?;
        let contact = after.contact(party);
        let answer = json!({
            "party": party,
            "sent_to": mask(contact.email.as_str()),
            "invitations_left": s.codes.max_sends.saturating_sub(contact.invitations),
            "resend_after": now + s.codes.resend_after,
        });
        let extra = Extra {
            messages: vec![titolare_domain::wizard::invitation(&after, party, now)],
            idempotent: idem.map(|i| i.record(StatusCode::ACCEPTED, &answer, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::ACCEPTED, &answer))
    })
    .await
}

/// `PATCH /v1/transfers/{id}/contacts`: a holder's email or mobile corrected before the
/// holder verified it. The holder gets a new link at the corrected address, the old link
/// and any code sent to the old destination stop working.
pub(crate) async fn correct_contact(
    s: &Services,
    caller: &Caller,
    id: &str,
    req: &Request,
) -> Answer {
    use titolare_domain::invite::Correction;
    use titolare_domain::otp::{ChallengeStatus, Channel};
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let idem = Idem::of(req, IdempotencyScope::Account(account), s.key.as_ref())?;
    let body: ContactsInput = json_body(req)?;
    let mut errors = FieldErrors::default();
    let mobile = body.mobile.as_deref().and_then(|m| {
        titolare_domain::values::MobileNumber::parse(m)
            .map_err(|e| errors.insert("mobile", e.to_string()))
            .ok()
    });
    let email = body.email.as_deref().and_then(|m| {
        titolare_domain::values::EmailAddress::parse(m)
            .map_err(|e| errors.insert("email", e.to_string()))
            .ok()
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let correction = Correction { mobile, email };
    let (t, _) = crate::codes::initiator_transfer(s, caller, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let now = s.clock.now();
    let (party, idem, correction) = (body.party, idem.as_ref(), &correction);
    with_retries(s, idem, t, |read| async move {
        let Some(after) = read
            .value
            .corrected(party, correction, now, &s.codes, &actor(caller))?
        else {
            return Ok(json(StatusCode::OK, &initiator_view(&read.value)));
        };
        // A code on its way to the old destination must not approve the new one.
        let (before, now_contact) = (read.value.contact(party), after.contact(party));
        let channel = if before.mobile != now_contact.mobile {
            Channel::Sms
        } else {
            Channel::Email
        };
        let pending = s
            .store
            .challenge(&read.value.id, party, channel)
            .await?
            .filter(|c| c.value.status == ChallengeStatus::Pending);
        let voided = pending.as_ref().map(|c| {
            let mut v = c.value.clone();
            v.status = ChallengeStatus::Canceled;
            (Some(c.version), v)
        });
        let body = initiator_view(&after);
        let extra = Extra {
            challenge: voided.as_ref().map(|(v, c)| (*v, c)),
            messages: vec![titolare_domain::wizard::invitation(&after, party, now)],
            idempotent: idem.map(|i| i.record(StatusCode::OK, &body, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::OK, &body))
    })
    .await
}

/// A body that may be absent or `{}`.
fn empty_object(req: &Request) -> Result<(), ApiError> {
    if no_body(req).is_ok() {
        return Ok(());
    }
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    json_body::<Nothing>(req).map(|_| ())
}

// ---- holder routes --------------------------------------------------------------------

pub(crate) async fn party(s: &Services, req: &Request) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let (t, party) = crate::codes::holder_transfer(s, req).await?;
    t.value.accepts_steps(s.clock.now())?;
    Ok(json(StatusCode::OK, &party_view(s, &t.value, party)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionInput {
    item: String,
    accept: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decisions {
    decisions: Vec<DecisionInput>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HolderDataInput {
    confirm: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContractInput {
    accepted: Vec<String>,
}

/// Which holder step a route takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HolderStep {
    Decisions,
    HolderData,
    Contract,
    Login,
}

pub(crate) async fn holder_step(
    s: &Services,
    caller: &Caller,
    req: &Request,
    step: HolderStep,
) -> Answer {
    query_params(req, &[])?;
    let (t, party) = if step == HolderStep::Login {
        login_transfer(s, req).await?
    } else {
        crate::codes::holder_transfer(s, req).await?
    };
    let idem = Idem::of(
        req,
        IdempotencyScope::Party(t.value.id.clone(), party),
        s.key.as_ref(),
    )?;
    // A key seen before answers first (as it was, or "used for another body"), before the
    // body is judged: a repeat is never refused for what its first call passed.
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    let action = match step {
        HolderStep::Decisions => {
            let body: Decisions = json_body(req)?;
            let decisions = body
                .decisions
                .into_iter()
                .map(|d| {
                    let item = t
                        .value
                        .items
                        .iter()
                        .find(|i| i.item.id.eq_ignore_ascii_case(d.item.trim()))
                        .map(|i| i.item.clone())
                        .ok_or_else(|| {
                            ApiError::bad_field(
                                "decisions",
                                format!("L'elemento {} non fa parte di questa richiesta.", d.item),
                            )
                        })?;
                    Ok(Decision {
                        item,
                        accept: d.accept,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Action::Decide(decisions)
        }
        HolderStep::HolderData => {
            let body: HolderDataInput = json_body(req)?;
            if !body.confirm {
                return Err(ApiError::Step {
                    status: StatusCode::UNPROCESSABLE_ENTITY,
                    detail: format!(
                        "I dati del titolare non si modificano qui: per la ragione sociale segui la procedura di cambio ragione sociale ({}), per codice fiscale o partita IVA contatta l'assistenza ({}).",
                        s.rules.change_of_name_url, s.rules.support_url
                    ),
                    field: Some("confirm"),
                });
            }
            Action::ConfirmHolderData
        }
        HolderStep::Contract => {
            let body: ContractInput = json_body(req)?;
            Action::AcceptContract(body.accepted)
        }
        HolderStep::Login => {
            empty_object(req)?;
            Action::Login(caller.account()?.clone())
        }
    };
    let view = |t: &Transfer| party_view(s, t, party);
    run_step(s, t, party, &action, caller, idem.as_ref(), view).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StopInput {
    token: String,
}

/// `POST /v1/party/stop`: a holder stops the request with the link sent to their number
/// and email on file when their mobile step was verified at another number: their rejection
/// of every item (docs/security.md). A repeat answers as the first.
pub(crate) async fn stop(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: StopInput = json_body(req)?;
    let token = StopToken::verify(s.key()?, &body.token).ok_or(ApiError::InvalidLink)?;
    let party = token.party;
    let t = s
        .store
        .transfer(&token.transfer)
        .await?
        .ok_or(ApiError::InvalidLink)?;
    let view = |t: &Transfer| {
        json!({
            "id": t.id,
            "role": party,
            "status": t.status,
            "items": t.items.iter().map(|i| i.item.id.clone()).collect::<Vec<_>>(),
        })
    };
    let scope = IdempotencyScope::Party(t.value.id.clone(), party);
    let idem = Idem::of(req, scope, s.key.as_ref())?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    // A repeat answers as the first, with the link alone (no Idempotency-Key needed).
    if t.value.stopped_by(party) {
        return Ok(json(StatusCode::OK, &view(&t.value)));
    }
    run_step(s, t, party, &Action::Stop, caller, idem.as_ref(), view).await
}

/// The login step: the account comes from the JWT (Authorization), the request and role
/// from the link token in `X-Link-Token`; only the new holder logs in.
async fn login_transfer(
    s: &Services,
    req: &Request,
) -> Result<(Versioned<Transfer>, Party), ApiError> {
    let token = req
        .headers()
        .get("x-link-token")
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::InvalidLink)?;
    let (t, party) = crate::codes::transfer_of_token(s, token).await?;
    if party != Party::NewHolder {
        return Err(ApiError::Conflict(
            "Questo passaggio è solo del nuovo titolare: a te non serve accedere con un account.",
        ));
    }
    Ok((t, party))
}
