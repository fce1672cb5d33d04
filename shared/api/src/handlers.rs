//! One function per route; each asks the store only for the capability it needs.

use crate::context::{Caller, Services};
use crate::idempotency::{Idem, refused_unless_replayed, replayed};
use crate::input::{json_body_with_flag, no_body, query_params};
use crate::problem::ApiError;
use crate::reply::{Listing, json};
use crate::transfers;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use titolare_domain::draft::Unavailable;
use titolare_domain::ports::*;
use titolare_domain::records::ServiceStatus;
use titolare_domain::transfer::{ItemKind, ItemRef, Step};
use titolare_domain::values::EmailAddress;
use titolare_domain::vocabulary::Vocabulary;
use titolare_domain::*;

pub type Params = BTreeMap<&'static str, String>;
pub type Answer = Result<Response<Body>, ApiError>;

/// A route's handler: its own function, so a Lambda binary that names its routes links
/// their handlers only (see `routes`).
pub type Handler = for<'a> fn(&'a Services, &'a Params, &'a Caller, &'a Request) -> Handling<'a>;
pub type Handling<'a> = Pin<Box<dyn Future<Output = Answer> + Send + 'a>>;

macro_rules! handlers {
    ($($name:ident($s:ident, $p:ident, $c:ident, $r:ident) => $body:expr;)*) => {
        $(
            pub fn $name<'a>(
                $s: &'a Services,
                $p: &'a Params,
                $c: &'a Caller,
                $r: &'a Request,
            ) -> Handling<'a> {
                Box::pin(async move { $body })
            }
        )*
    };
}

// The routes of an account user are identified by the JWT authorizer's claims; the
// holders' by their link; the initiator's code routes through the account login.
handlers! {
    transfers_list(s, _p, c, r) => transfers::list(s, c, r).await;
    transfers_get(s, p, c, r) => transfers::get(s, c, &p["id"], r).await;
    transfers_create(s, _p, c, r) => transfers::create(s, c, r).await;
    management_check(s, _p, c, r) => transfers::check_management(s, c, r).await;
    support_search(s, _p, c, r) => transfers::support::search(s, c, r).await;
    support_get(s, p, c, r) => transfers::support::get(s, c, &p["id"], r).await;
    support_invitations(s, p, c, r) => transfers::support::invitations(s, c, &p["id"], r).await;
    support_codes(s, p, c, r) => transfers::support::codes(s, c, &p["id"], r).await;
    support_cancel(s, p, c, r) => transfers::support::cancel(s, c, &p["id"], r).await;
    support_unblock(s, p, c, r) => transfers::support::unblock(s, c, &p["id"], r).await;
    transfers_cancel(s, p, c, r) => transfers::cancel(s, c, &p["id"], r).await;
    transfer_invitations(s, p, c, r) => transfers::reinvite(s, c, &p["id"], r).await;
    transfer_contacts(s, p, c, r) => transfers::correct_contact(s, c, &p["id"], r).await;
    party_get(s, _p, _c, r) => transfers::party(s, r).await;
    party_decisions(s, _p, c, r) => transfers::holder_step(s, c, r, Step::Decisions).await;
    party_holder_data(s, _p, c, r) => transfers::holder_step(s, c, r, Step::HolderData).await;
    party_contract(s, _p, c, r) => transfers::holder_step(s, c, r, Step::Contract).await;
    party_stop(s, _p, c, r) => transfers::stop(s, c, r).await;
    party_login(s, _p, c, r) => {
        c.account()?;
        transfers::holder_step(s, c, r, Step::Login).await
    };
    password_reset(s, _p, c, r) => crate::password::reset(s, c, r).await;
    password_reset_link(s, _p, c, r) => crate::password::link_by_token(s, c, r).await;
    password_reset_check(s, _p, c, r) => crate::password::check(s, c, r).await;
    mailbox_reset_link(s, p, c, r) => crate::password::link_by_account(s, c, &p["address"], r).await;
    transfer_codes_send(s, p, c, r) => {
        let (transfer, party) = transfers::initiator_transfer(s, c, &p["id"]).await?;
        transfers::send(s, transfer, party, c, r).await
    };
    transfer_codes_verify(s, p, c, r) => {
        let (transfer, party) = transfers::initiator_transfer(s, c, &p["id"]).await?;
        transfers::verify(s, transfer, party, c, r).await
    };
    transfer_codes_status(s, p, c, r) => {
        let (transfer, party) = transfers::initiator_transfer(s, c, &p["id"]).await?;
        transfers::status(s, transfer, party, r).await
    };
    party_codes_send(s, _p, c, r) => {
        let (transfer, party) = transfers::holder_transfer(s, r).await?;
        transfers::send(s, transfer, party, c, r).await
    };
    party_codes_verify(s, _p, c, r) => {
        let (transfer, party) = transfers::holder_transfer(s, r).await?;
        transfers::verify(s, transfer, party, c, r).await
    };
    party_codes_status(s, _p, _c, r) => {
        let (transfer, party) = transfers::holder_transfer(s, r).await?;
        transfers::status(s, transfer, party, r).await
    };
    holders_search(s, _p, c, r) => search_holders(&*s.store, c.account()?, r).await;
    holders_create(s, _p, c, r) => create_holder(&*s.store, s.clock.now(), c.account()?, c, r).await;
    holders_get(s, p, c, r) => get_holder(&*s.store, c.account()?, &p["id"], r).await;
    holders_update(s, p, c, r) => {
        update_holder(&*s.store, s.clock.now(), c.account()?, &p["id"], c, r).await
    };
    mailboxes_list(s, _p, c, r) => list_mailboxes(&*s.store, s.clock.now(), c.account()?, r).await;
    mailboxes_get(s, p, c, r) => get_mailbox(&*s.store, c.account()?, &p["address"], r).await;
    domains_list(s, _p, c, r) => list_domains(&*s.store, s.clock.now(), c.account()?, r).await;
    domains_get(s, p, c, r) => get_domain(&*s.store, c.account()?, &p["name"], r).await;
    operations_list(s, _p, c, r) => list_operations(&*s.store, c.account()?, r).await;
    account_get(s, _p, c, r) => get_account(&*s.store, c.account()?, r).await;
}

fn page_request(params: &BTreeMap<String, String>) -> Result<PageRequest, ApiError> {
    PageRequest::parse(
        params.get("page_size").map(String::as_str),
        params.get("cursor").map(String::as_str),
    )
    .map_err(|errors| ApiError::BadRequest {
        detail: "Parametri di paginazione non validi.".into(),
        errors: Some(errors),
    })
}

async fn search_holders(store: &dyn HolderSearch, account: &AccountId, req: &Request) -> Answer {
    no_body(req)?;
    let allowed: Vec<&str> = HolderQuery::CRITERIA
        .iter()
        .copied()
        .chain(["page_size", "cursor"])
        .collect();
    let params = query_params(req, &allowed)?;
    let page = page_request(&params)?;
    let query = HolderQuery::parse(&params).map_err(|e| match e {
        QueryError::NoCriterion => ApiError::BadRequest {
            detail: e.to_string(),
            errors: None,
        },
        QueryError::Invalid(ref errors) => ApiError::BadRequest {
            detail: e.to_string(),
            errors: Some(errors.clone()),
        },
    })?;
    Ok(json(
        StatusCode::OK,
        &store.search_holders(account, &query, &page).await?,
    ))
}

/// `Holder` of the OpenAPI file: its fields and which of them a page may edit.
#[derive(Serialize)]
struct HolderView<'a> {
    #[serde(flatten)]
    holder: &'a Holder,
    editable_fields: Vec<&'static str>,
}

fn holder_view(holder: &Holder) -> HolderView<'_> {
    HolderView {
        holder,
        editable_fields: holder.tipo.editable().iter().map(|f| f.as_str()).collect(),
    }
}

fn parse_holder_id(id: &str) -> Result<HolderId, ApiError> {
    HolderId::parse(id).map_err(|_| ApiError::NotFound("Titolare non trovato."))
}

async fn get_holder(
    store: &dyn HolderReader,
    account: &AccountId,
    id: &str,
    req: &Request,
) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let holder = store
        .holder(account, &parse_holder_id(id)?)
        .await?
        .ok_or(ApiError::NotFound("Titolare non trovato."))?;
    Ok(json(StatusCode::OK, &holder_view(&holder.value)))
}

fn operation(
    caller: &Caller,
    now: jiff::Timestamp,
    kind: OperationKind,
    subject: &HolderId,
    detail: String,
) -> Operation {
    Operation {
        id: caller.request_id.clone(),
        at: now,
        kind,
        outcome: Outcome::Success,
        subject: subject.as_str().to_owned(),
        detail,
        request_id: caller.request_id.clone(),
    }
}

async fn create_holder<S: HolderWriter + HolderSearch + IdempotencyReader + ?Sized>(
    store: &S,
    now: jiff::Timestamp,
    account: &AccountId,
    caller: &Caller,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    // A holder's data holds no secret: a plain fingerprint is enough.
    let idem = Idem::of(req, IdempotencyScope::Account(account.clone()), None)?;
    let (fields, allow_duplicate): (HolderFields, bool) =
        json_body_with_flag(req, "allow_duplicate")?;
    if let Some(answer) = replayed(idem.as_ref(), store).await? {
        return Ok(answer);
    }
    // Validate before taking an id, so bad input costs no sequence number.
    let mut holder =
        Holder::create(HolderId::from_number(1), &fields).map_err(ApiError::Validation)?;
    if let Err(refused) =
        crate::holders::refuse_duplicate(store, account, &holder, allow_duplicate, None).await
    {
        // The "duplicate" may be this very call's twin, sent with the same key a moment ago.
        return refused_unless_replayed(idem.as_ref(), store, refused).await;
    }
    holder.id = store.next_holder_id().await?;
    let body = holder_view(&holder);
    let stored = idem
        .as_ref()
        .map(|i| i.record(StatusCode::CREATED, &body, now).1);
    let op = operation(
        caller,
        now,
        OperationKind::HolderCreated,
        &holder.id,
        format!(
            "Inserimento titolare {} ({})",
            holder.id.as_str(),
            holder.tipo.as_str()
        ),
    );
    match store
        .insert_holder(account, &holder, &op, stored.as_ref())
        .await
    {
        Ok(()) => {}
        // Another request with the same key won the race: answer as it was answered.
        Err(StoreError::Conflict) if idem.is_some() => {
            return replayed(idem.as_ref(), store)
                .await?
                .ok_or(StoreError::Conflict.into());
        }
        Err(e) => return Err(e.into()),
    }
    let mut response = json(StatusCode::CREATED, &body);
    if let Ok(location) =
        http::HeaderValue::from_str(&format!("/v1/holders/{}", holder.id.as_str()))
    {
        response
            .headers_mut()
            .insert(http::header::LOCATION, location);
    }
    Ok(response)
}

async fn update_holder<S: HolderReader + HolderWriter + ?Sized>(
    store: &S,
    now: jiff::Timestamp,
    account: &AccountId,
    id: &str,
    caller: &Caller,
    req: &Request,
) -> Answer {
    query_params(req, &[])?;
    // `allow_duplicate` is about creating a profile; an update sending it back is harmless.
    let (patch, _): (HolderFields, bool) = json_body_with_flag(req, "allow_duplicate")?;
    let before = store
        .holder(account, &parse_holder_id(id)?)
        .await?
        .ok_or(ApiError::NotFound("Titolare non trovato."))?;
    let (after, changed) = before.value.update(&patch).map_err(|e| match e {
        UpdateError::Fixed(errors) => ApiError::FixedFields(errors),
        UpdateError::Invalid(errors) => ApiError::Validation(errors),
    })?;
    if changed.is_empty() {
        return Ok(json(StatusCode::OK, &holder_view(&after)));
    }
    let names: Vec<&str> = changed.iter().map(|f| f.as_str()).collect();
    let op = operation(
        caller,
        now,
        OperationKind::HolderUpdated,
        &after.id,
        format!(
            "Aggiornamento titolare {}: {}",
            after.id.as_str(),
            names.join(", ")
        ),
    );
    store.update_holder(account, &before, &after, &op).await?;
    Ok(json(StatusCode::OK, &holder_view(&after)))
}

/// A mailbox as the API shows it: never its password hash, and the address its reset
/// links go to only masked.
/// `Mailbox` of the OpenAPI file: the record as the account sees it, named field by field so
/// that nothing the record gains (a password hash, the reset's verified address) is shown
/// by default.
#[derive(Serialize)]
struct MailboxView<'a> {
    address: &'a EmailAddress,
    holder_id: &'a HolderId,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_name: Option<String>,
    status: &'a titolare_domain::records::ServiceStatus,
    kind: &'a str,
    inbox_gb: u32,
    inbox_extra_gb: u32,
    archive_gb: Option<u32>,
    end_of_service: jiff::civil::Date,
    requested_on: jiff::civil::Date,
    certified_on: Option<jiff::civil::Date>,
    cancelled_on: Option<jiff::civil::Date>,
    renewal: &'a str,
    duration: &'a str,
    cliente_finale: bool,
    password_reset_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    password_reset_issued_at: Option<jiff::Timestamp>,
    #[serde(skip_serializing_if = "is_zero")]
    password_reset_links: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    moved_by: Option<&'a titolare_domain::ids::TransferId>,
    /// Masked: every reset link goes there.
    #[serde(skip_serializing_if = "Option::is_none")]
    password_reset_sent_to: Option<String>,
    access_history: &'a [titolare_domain::records::Access],
    rules: &'a [String],
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn mailbox_view(m: &Mailbox, holder_name: Option<String>) -> MailboxView<'_> {
    MailboxView {
        address: &m.address,
        holder_id: &m.holder_id,
        holder_name,
        status: &m.status,
        kind: &m.kind,
        inbox_gb: m.inbox_gb,
        inbox_extra_gb: m.inbox_extra_gb,
        archive_gb: m.archive_gb,
        end_of_service: m.end_of_service,
        requested_on: m.requested_on,
        certified_on: m.certified_on,
        cancelled_on: m.cancelled_on,
        renewal: &m.renewal,
        duration: &m.duration,
        cliente_finale: m.cliente_finale,
        password_reset_required: m.password_reset_required,
        password_reset_issued_at: m.password_reset_issued_at,
        password_reset_links: m.password_reset_links,
        moved_by: m.moved_by.as_ref(),
        password_reset_sent_to: m
            .password_reset_to
            .as_ref()
            .map(|to| titolare_domain::outbox::mask(to.email.as_str())),
        access_history: &m.access_history,
        rules: &m.rules,
    }
}

/// `Domain` of the OpenAPI file: the record (not the provider's version of it), with its
/// holder's name in listings.
#[derive(Serialize)]
struct DomainView<'a> {
    name: &'a str,
    holder_id: &'a HolderId,
    status: ServiceStatus,
    registered_on: jiff::civil::Date,
    end_of_service: jiff::civil::Date,
    holder_name: Option<String>,
}

impl<'a> DomainView<'a> {
    fn of(domain: &'a CertifiedDomain, holder_name: Option<String>) -> Self {
        Self {
            name: &domain.name,
            holder_id: &domain.holder_id,
            status: domain.status,
            registered_on: domain.registered_on,
            end_of_service: domain.end_of_service,
            holder_name,
        }
    }
}

/// The filter of a mailbox or domain listing: `held_by_others`, `holder_id` and a prefix
/// of the address or name (`prefix_param`).
async fn item_filter<S: AccountReader + ?Sized>(
    store: &S,
    account: &AccountId,
    params: &BTreeMap<String, String>,
    prefix_param: &str,
) -> Result<ItemFilter, ApiError> {
    let mut filter = ItemFilter::default();
    match params.get("held_by_others").map(|v| v.trim()) {
        None | Some("false") => {}
        Some("true") => {
            filter.held_by_others_than =
                store.account(account).await?.and_then(|a| a.own_holder_id);
        }
        Some(_) => {
            return Err(ApiError::bad_field(
                "held_by_others",
                "Valore non valido: indica true o false.",
            ));
        }
    }
    if let Some(id) = params.get("holder_id").filter(|v| !v.trim().is_empty()) {
        filter.holder_id =
            Some(HolderId::parse(id).map_err(|e| ApiError::bad_field("holder_id", e))?);
    }
    if let Some(prefix) = params.get(prefix_param).map(|v| v.trim().to_lowercase()) {
        // Part of a store key: bounded, and without the characters keys are built with.
        if prefix.chars().count() > 253
            || prefix.contains(['#', '/'])
            || prefix.chars().any(char::is_control)
        {
            return Err(ApiError::bad_field(
                prefix_param,
                "Testo di ricerca non valido: al massimo 253 caratteri, senza # e /.",
            ));
        }
        filter.prefix = Some(prefix).filter(|p| !p.is_empty());
    }
    Ok(filter)
}

/// Each listed holder's display name, read once per holder of the page.
async fn holder_names<'a, S: HolderReader + ?Sized>(
    store: &S,
    account: &AccountId,
    ids: impl Iterator<Item = &'a HolderId>,
) -> Result<BTreeMap<HolderId, String>, ApiError> {
    let mut names = BTreeMap::new();
    for id in ids {
        if names.contains_key(id) {
            continue;
        }
        let name = store
            .holder(account, id)
            .await?
            .map(|h| h.value.display_name())
            .unwrap_or_default();
        names.insert(id.clone(), name);
    }
    Ok(names)
}

const LIST_PARAMS: [&str; 5] = [
    "held_by_others",
    "holder_id",
    "page_size",
    "cursor",
    "for_transfer",
];

/// A listed item that cannot go in a new transfer now, and why in words (`for_transfer=true`).
#[derive(Serialize)]
struct UnavailableView {
    #[serde(flatten)]
    reason: Unavailable,
    text: String,
}

/// With `for_transfer=true`, why each listed item cannot go in a new transfer (`None`:
/// it can), from its status and its lock, so the wizard says so where the choice is made.
async fn availability<S: TransferReader + ?Sized>(
    store: &S,
    params: &BTreeMap<String, String>,
    now: jiff::Timestamp,
    items: &[Option<(ItemRef, ServiceStatus, jiff::civil::Date)>],
) -> Result<Vec<Option<UnavailableView>>, ApiError> {
    match params.get("for_transfer").map(|v| v.trim()) {
        None | Some("false") => return Ok(items.iter().map(|_| None).collect()),
        Some("true") => {}
        Some(_) => {
            return Err(ApiError::bad_field(
                "for_transfer",
                "Valore non valido: indica true o false.",
            ));
        }
    }
    let refs: Vec<ItemRef> = items.iter().flatten().map(|(r, _, _)| r.clone()).collect();
    let mut locks = store.item_locks(&refs).await?.into_iter();
    Ok(items
        .iter()
        .map(|state| {
            let (item, status, end) = state.as_ref()?;
            let lock = locks.next().flatten();
            Unavailable::of(*status, *end, lock.as_ref(), now).map(|reason| UnavailableView {
                text: reason.phrase(item),
                reason,
            })
        })
        .collect())
}

/// A row of a listing: the item and, when asked, why it cannot go in a new transfer.
#[derive(Serialize)]
struct Row<V> {
    #[serde(flatten)]
    item: V,
    #[serde(skip_serializing_if = "Option::is_none")]
    unavailable: Option<UnavailableView>,
}

async fn list_mailboxes<
    S: AccountReader + MailboxReader + HolderReader + TransferReader + ?Sized,
>(
    store: &S,
    now: jiff::Timestamp,
    account: &AccountId,
    req: &Request,
) -> Answer {
    no_body(req)?;
    let allowed: Vec<&str> = LIST_PARAMS.iter().copied().chain(["address"]).collect();
    let params = query_params(req, &allowed)?;
    let page = page_request(&params)?;
    let filter = item_filter(store, account, &params, "address").await?;
    let listed = store.mailboxes(account, &filter, &page).await?;
    let names = holder_names(store, account, listed.items.iter().map(|m| &m.holder_id)).await?;
    let states: Vec<_> = listed
        .items
        .iter()
        .map(|m| {
            ItemRef::parse(ItemKind::Mailbox, m.address.as_str())
                .ok()
                .map(|r| (r, m.status, m.end_of_service))
        })
        .collect();
    let mut unavailable = availability(store, &params, now, &states)
        .await?
        .into_iter();
    let items = listed
        .items
        .iter()
        .map(|m| Row {
            item: mailbox_view(m, names.get(&m.holder_id).cloned()),
            unavailable: unavailable.next().flatten(),
        })
        .collect();
    let next_cursor = listed.next_cursor.clone();
    Ok(json(StatusCode::OK, &Listing { items, next_cursor }))
}

async fn get_mailbox<S: MailboxReader + HolderReader + ?Sized>(
    store: &S,
    account: &AccountId,
    address: &str,
    req: &Request,
) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let address =
        EmailAddress::parse(address).map_err(|_| ApiError::NotFound("Casella non trovata."))?;
    let mailbox = store
        .mailbox(account, &address)
        .await?
        .ok_or(ApiError::NotFound("Casella non trovata."))?;
    let names = holder_names(store, account, std::iter::once(&mailbox.holder_id)).await?;
    let name = names.get(&mailbox.holder_id).cloned();
    Ok(json(StatusCode::OK, &mailbox_view(&mailbox, name)))
}

async fn list_domains<S: AccountReader + DomainReader + HolderReader + TransferReader + ?Sized>(
    store: &S,
    now: jiff::Timestamp,
    account: &AccountId,
    req: &Request,
) -> Answer {
    no_body(req)?;
    let allowed: Vec<&str> = LIST_PARAMS.iter().copied().chain(["name"]).collect();
    let params = query_params(req, &allowed)?;
    let page = page_request(&params)?;
    let filter = item_filter(store, account, &params, "name").await?;
    let listed = store.domains(account, &filter, &page).await?;
    let names = holder_names(store, account, listed.items.iter().map(|d| &d.holder_id)).await?;
    let states: Vec<_> = listed
        .items
        .iter()
        .map(|d| {
            ItemRef::parse(ItemKind::Domain, &d.name)
                .ok()
                .map(|r| (r, d.status, d.end_of_service))
        })
        .collect();
    let mut unavailable = availability(store, &params, now, &states)
        .await?
        .into_iter();
    let items = listed
        .items
        .iter()
        .map(|domain| Row {
            item: DomainView::of(domain, names.get(&domain.holder_id).cloned()),
            unavailable: unavailable.next().flatten(),
        })
        .collect();
    let next_cursor = listed.next_cursor.clone();
    Ok(json(StatusCode::OK, &Listing { items, next_cursor }))
}

async fn get_domain<S: DomainReader + HolderReader + ?Sized>(
    store: &S,
    account: &AccountId,
    name: &str,
    req: &Request,
) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    // A name no domain can have names none here (and never reaches a store key).
    let name = titolare_domain::transfer::ItemRef::parse(
        titolare_domain::transfer::ItemKind::Domain,
        name,
    )
    .map_err(|_| ApiError::NotFound("Dominio non trovato."))?;
    let domain = store
        .domain(account, &name.id)
        .await?
        .ok_or(ApiError::NotFound("Dominio non trovato."))?;
    let names = holder_names(store, account, std::iter::once(&domain.holder_id)).await?;
    let name = names.get(&domain.holder_id).cloned();
    Ok(json(StatusCode::OK, &DomainView::of(&domain, name)))
}

async fn list_operations(
    store: &dyn OperationReader,
    account: &AccountId,
    req: &Request,
) -> Answer {
    no_body(req)?;
    let page = page_request(&query_params(req, &["page_size", "cursor"])?)?;
    Ok(json(
        StatusCode::OK,
        &store.operations(account, &page).await?,
    ))
}

/// Who is logged in, as the panel's header shows it: username, role ("Profilo: Rivenditore")
/// and the account's own holder profile, whose mobile the new-transfer form prefills.
async fn get_account<S: AccountReader + HolderReader + ?Sized>(
    store: &S,
    account: &AccountId,
    req: &Request,
) -> Answer {
    no_body(req)?;
    query_params(req, &[])?;
    let record = store.account(account).await?;
    let role = record.as_ref().map(|r| r.role).unwrap_or_default();
    let own = match record.as_ref().and_then(|r| r.own_holder_id.as_ref()) {
        Some(id) => store.holder(account, id).await?.map(|h| h.value),
        None => None,
    };
    let profile = own.as_ref().map(|h| OwnProfile {
        holder_id: &h.id,
        name: h.display_name(),
        cellulare: h.cellulare.as_str(),
        email: h.email.as_str(),
    });
    Ok(json(
        StatusCode::OK,
        &AccountView {
            account_id: account.as_str(),
            username: record
                .as_ref()
                .map_or(account.as_str(), |r| r.username.as_str()),
            role,
            role_label: role.label(),
            profile,
            vocabulary: Vocabulary::of(Lingua::It),
        },
    ))
}

/// `Account` of the OpenAPI file: who is logged in.
#[derive(Serialize)]
struct AccountView<'a> {
    account_id: &'a str,
    username: &'a str,
    role: AccountRole,
    role_label: &'static str,
    profile: Option<OwnProfile<'a>>,
    /// The panel's words for the API's codes (it is Italian).
    vocabulary: &'static Vocabulary,
}

/// The account's own holder profile, as the header and the new-transfer form's prefill need it.
#[derive(Serialize)]
struct OwnProfile<'a> {
    holder_id: &'a HolderId,
    name: String,
    cellulare: &'a str,
    email: &'a str,
}
