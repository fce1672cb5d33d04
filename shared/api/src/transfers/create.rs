//! A new transfer: the initiator's draft, checked and written in one transaction.

use super::access::*;
use super::commit::*;
use super::views::*;
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, refused_unless_replayed, replayed};
use crate::input::{json_body, query_params};
use crate::problem::ApiError;
use crate::reply::json;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use titolare_domain::draft::{Draft, Unavailable};
use titolare_domain::ports::*;
use titolare_domain::transfer::*;
use titolare_domain::{
    AccountId, FieldErrors, Holder, HolderFields, HolderId, Operation, OperationKind, Outcome,
};

type Answer = Result<Response<Body>, ApiError>;

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

/// The management a draft asks for: a `hand_over` username well formed and not the
/// account's own. Whether such an account exists is not said (no username oracle): the new
/// holder's login proves it.
async fn management(
    s: &Services,
    account: &AccountId,
    input: ManagementInput,
    field: &str,
) -> Result<Management, ApiError> {
    Ok(match input {
        ManagementInput::Keep => Management::Keep,
        ManagementInput::HandOver { username } => {
            let username = titolare_domain::records::parse_username(&username)
                .map_err(|e| invalid(field, e))?;
            let own = s.store.account(account).await?;
            titolare_domain::draft::hand_over(own.as_ref().map(|a| a.username.as_str()), username)
                .map_err(|e| invalid(field, e.to_string()))?
        }
    })
}

/// `POST /v1/management/check`: the wizard's third step checks its management choice as the
/// draft will, before anything else is asked (docs/rules.md, "Eligible items"). Reads only.
pub(crate) async fn check_management(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let account = caller.account()?.clone();
    let input: ManagementInput = json_body(req)?;
    let management = management(s, &account, input, "username").await?;
    Ok(json(StatusCode::OK, &management))
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
    let current_id = &titolare_domain::draft::current_holder(&refs, &states, now)?;
    let current = s
        .store
        .holder(&account, current_id)
        .await?
        .ok_or(invalid(
            "items",
            crate::problem::seldom::HOLDER_NOT_IN_ACCOUNT,
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
            if let Err(refused) = crate::holders::refuse_duplicate(
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
    titolare_domain::draft::check_new_holder(&current, &new_holder, &s.rules)?;
    let management = management(s, &account, body.management, "management.username").await?;
    let initiator = initiator_contact(s, &account, body.initiator).await?;
    let id = s.store.next_transfer_id().await?;
    let draft = Draft {
        id: id.clone(),
        account: account.clone(),
        items: &refs,
        initiator,
        current: &current,
        new: &new_holder,
        management,
    }
    .transfer(now, &s.rules, &actor(caller));
    let body = initiator_view(&draft);
    let mut commit = titolare_domain::consequences::commit(
        TransferCondition::New,
        None,
        &draft,
        now,
        &s.rules,
        titolare_domain::consequences::Reads::default(),
    )?;
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
    commit.holders = holders;
    commit.operations = operations;
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
    let now = s.clock.now();
    if let Ok(locks) = s.store.item_locks(refs).await {
        for (n, (item, lock)) in refs.iter().zip(&locks).enumerate() {
            // Status and end of service were checked before the write.
            if let Some(unavailable) = lock.as_ref().and_then(|l| Unavailable::of_lock(l, now)) {
                errors.insert(&format!("items[{n}]"), unavailable.sentence(item));
            }
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
    own.map(|h| Contact::of(&h.value))
        .ok_or(invalid("initiator", crate::problem::seldom::NO_OWN_PROFILE))
}
