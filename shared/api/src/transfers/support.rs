//! The provider's support on a request (docs/rules.md, "Support"): find it, read it whole
//! (each read on the request's trail), and act with a reason — the invitation or a code again
//! to the contact on file within the same limits, a cancellation, a new budget of code sends
//! once per request. Only the operators' group gets past [`Caller::operator`].

use super::access::actor;
use super::codes::send_code;
use super::commit::{commit_over, run_step, with_retries};
use super::initiator::invite;
use super::views::{DeliveryView, initiator_view};
use crate::context::{Caller, Services};
use crate::idempotency::{Idem, replayed};
use crate::input::{json_body, no_body, query_params};
use crate::lifecycle::Extra;
use crate::problem::ApiError;
use crate::reply::{json, value_of};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::{Deserialize, Serialize};
use titolare_domain::otp::{Channel, Party};
use titolare_domain::outbox::{DeliveryStatus, OutboxMessage};
use titolare_domain::ports::*;
use titolare_domain::steps::Action;
use titolare_domain::support::{acting, fiscal_key, item_key};
use titolare_domain::transfer::*;
use titolare_domain::vocabulary::Vocabulary;
use titolare_domain::{AccountId, Lingua, PageRequest};

type Answer = Result<Response<Body>, ApiError>;

/// At most this many requests a search answers.
const FOUND: usize = 50;

/// The criteria a search takes, one at a time.
const CRITERIA: [&str; 6] = [
    "numero",
    "casella",
    "dominio",
    "codice_fiscale",
    "partita_iva",
    "account",
];

/// `GET /v1/support/transfers`: the requests a criterion names, newest first.
pub(crate) async fn search(s: &Services, caller: &Caller, req: &Request) -> Answer {
    caller.operator()?;
    no_body(req)?;
    let params = query_params(req, &CRITERIA)?;
    let given: Vec<(&String, &String)> = params
        .iter()
        .filter(|(_, v)| !v.trim().is_empty())
        .collect();
    let [(name, value)] = given.as_slice() else {
        return Err(ApiError::bad_request(
            "Indica un solo criterio: numero, casella, dominio, codice_fiscale, partita_iva o account.",
        ));
    };
    let value = value.trim();
    let invalid = |message: &str| ApiError::bad_field(name, message.to_owned());
    let ids: Vec<TransferId> = match name.as_str() {
        "numero" => vec![TransferId::parse(value).map_err(invalid)?],
        "casella" | "dominio" => {
            let kind = if *name == "casella" {
                ItemKind::Mailbox
            } else {
                ItemKind::Domain
            };
            let item = ItemRef::parse(kind, value).map_err(invalid)?;
            s.store.support_lookup(&item_key(&item), FOUND).await?
        }
        "account" => {
            let account = AccountId::parse(value).map_err(|_| invalid("Account non valido."))?;
            s.store
                .transfers(&account, &[], &PageRequest::default())
                .await?
                .items
                .into_iter()
                .map(|t| t.id)
                .collect()
        }
        _ => {
            if value.chars().count() > 32 {
                return Err(invalid("Codice troppo lungo: al massimo 32 caratteri."));
            }
            s.store.support_lookup(&fiscal_key(value), FOUND).await?
        }
    };
    let ids: Vec<TransferId> = ids.into_iter().take(FOUND).collect();
    let found: Vec<Found> = s
        .store
        .transfers_by_id(&ids)
        .await?
        .iter()
        .map(Found::of)
        .collect();
    Ok(json(
        StatusCode::OK,
        &FoundList {
            items: found,
            vocabulary: Vocabulary::of(Lingua::It),
        },
    ))
}

/// `SupportFound` of the OpenAPI file: a request as a search lists it.
#[derive(Serialize)]
struct Found {
    #[serde(flatten)]
    summary: TransferSummary,
    account: AccountId,
}

impl Found {
    fn of(t: &Transfer) -> Self {
        Self {
            summary: TransferSummary::from(t),
            account: t.account.clone(),
        }
    }
}

#[derive(Serialize)]
struct FoundList {
    items: Vec<Found>,
    /// The words of the codes shown (statuses), as the account's answers carry them.
    vocabulary: &'static Vocabulary,
}

/// `SupportTransfer` of the OpenAPI file: the request whole, every message with what its
/// provider reported, and the account's other requests.
#[derive(Serialize)]
struct SupportTransfer<'a> {
    account: &'a AccountId,
    transfer: super::views::InitiatorView<'a>,
    messages: Vec<MessageView<'a>>,
    account_transfers: Vec<TransferSummary>,
    vocabulary: &'static Vocabulary,
}

/// A message as support sees it: to whom and how, where it is; never its text or address.
#[derive(Serialize)]
struct MessageView<'a> {
    id: &'a str,
    kind: &'static str,
    channel: Channel,
    #[serde(skip_serializing_if = "Option::is_none")]
    party: Option<Party>,
    status: DeliveryStatus,
    created_at: jiff::Timestamp,
    attempts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    delivery: Option<DeliveryView>,
}

impl<'a> MessageView<'a> {
    fn of(m: &'a OutboxMessage) -> Self {
        Self {
            id: &m.id,
            kind: m.message.kind(),
            channel: m.channel,
            party: m.recipient.as_ref().map(|r| r.party),
            status: m.status,
            created_at: m.created_at,
            attempts: m.attempts,
            delivery: m.report.as_ref().map(DeliveryView::of),
        }
    }
}

/// `GET /v1/support/transfers/{id}`: the request whole; the read goes on its trail first,
/// with the operator and why (`motivo`, optional), where the account reads it.
pub(crate) async fn get(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    let operator = caller.operator()?.clone();
    no_body(req)?;
    let params = query_params(req, &["motivo"])?;
    let why = params.get("motivo").map(String::as_str).unwrap_or_default();
    let read = transfer(s, id).await?;
    let support = titolare_domain::transfer::Support::new(operator.as_str(), why);
    let caller = caller.supporting(support);
    let now = s.clock.now();
    let caller = &caller;
    with_retries(s, None, read, |read| async move {
        let after = read.value.read_by_support(now, &actor(caller));
        commit_over(s, now, &read, &after, Extra::default()).await?;
        let messages = s.store.outbox_messages(&after.id).await?;
        let others = s
            .store
            .transfers(&after.account, &[], &PageRequest::default())
            .await?
            .items
            .into_iter()
            .filter(|t| t.id != after.id)
            .collect();
        let body = SupportTransfer {
            account: &after.account,
            transfer: initiator_view(&after),
            messages: messages.iter().map(MessageView::of).collect(),
            account_transfers: others,
            vocabulary: Vocabulary::of(Lingua::It),
        };
        Ok(json(StatusCode::OK, &body))
    })
    .await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reasoned {
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ToParty {
    party: Party,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeAgain {
    party: Party,
    channel: Channel,
    reason: String,
}

/// A support action's body: what it says, with the reason the operator gives.
trait WithReason: serde::de::DeserializeOwned {
    fn reason(&self) -> &str;
}

impl WithReason for Reasoned {
    fn reason(&self) -> &str {
        &self.reason
    }
}
impl WithReason for ToParty {
    fn reason(&self) -> &str {
        &self.reason
    }
}
impl WithReason for CodeAgain {
    fn reason(&self) -> &str {
        &self.reason
    }
}

/// What a support action starts from: its body, the request as read, the caller acting as
/// support with the body's reason, and its Idempotency-Key.
struct Acting<T> {
    body: T,
    read: Versioned<Transfer>,
    caller: Caller,
    idem: Option<Idem>,
}

/// The start of an action on request `id` by an operator; `Err(answer)` inside when the
/// Idempotency-Key was used already (the first answer, again).
async fn acting_on<T: WithReason>(
    s: &Services,
    caller: &Caller,
    id: &str,
    req: &Request,
) -> Result<Result<Acting<T>, Response<Body>>, ApiError> {
    let operator = caller.operator()?.clone();
    query_params(req, &[])?;
    let body: T = json_body(req)?;
    let support = acting(operator.as_str(), body.reason())?;
    let idem = Idem::of(req, IdempotencyScope::Account(operator), s.key.as_ref())?;
    let read = transfer(s, id).await?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(Err(answer));
    }
    Ok(Ok(Acting {
        body,
        read,
        caller: caller.supporting(support),
        idem,
    }))
}

async fn transfer(s: &Services, id: &str) -> Result<Versioned<Transfer>, ApiError> {
    let id = TransferId::parse(id).map_err(|_| ApiError::NotFound("Richiesta non trovata."))?;
    s.store
        .transfer(&id)
        .await?
        .ok_or(ApiError::NotFound("Richiesta non trovata."))
}

/// A holder of the request: support acts for the holders only.
fn holder(party: Party) -> Result<Party, ApiError> {
    match party {
        Party::Initiator => Err(titolare_domain::invite::InviteError::NotAHolder.into()),
        holder => Ok(holder),
    }
}

/// `POST /v1/support/transfers/{id}/invitations`: the invitation again to a holder.
pub(crate) async fn invitations(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    let a: Acting<ToParty> = match acting_on(s, caller, id, req).await? {
        Ok(a) => a,
        Err(replayed) => return Ok(replayed),
    };
    let party = holder(a.body.party)?;
    invite(s, &a.caller, a.read, party, a.idem.as_ref()).await
}

/// `POST /v1/support/transfers/{id}/codes`: a holder's code again, to the contact on file.
pub(crate) async fn codes(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    let a: Acting<CodeAgain> = match acting_on(s, caller, id, req).await? {
        Ok(a) => a,
        Err(replayed) => return Ok(replayed),
    };
    let party = holder(a.body.party)?;
    send_code(
        s,
        a.read,
        party,
        a.body.channel,
        None,
        &a.caller,
        a.idem.as_ref(),
    )
    .await
}

/// `POST /v1/support/transfers/{id}/cancel`: the request cancelled, its parties told.
pub(crate) async fn cancel(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    let a: Acting<Reasoned> = match acting_on(s, caller, id, req).await? {
        Ok(a) => a,
        Err(replayed) => return Ok(replayed),
    };
    let view = |t: &Transfer| value_of(initiator_view(t));
    run_step(
        s,
        a.read,
        Party::Initiator,
        &Action::Cancel,
        &a.caller,
        a.idem.as_ref(),
        view,
    )
    .await
}

/// `POST /v1/support/transfers/{id}/unblock`: a holder whose code sends ran out gets a new
/// budget on that channel, once per request.
pub(crate) async fn unblock(s: &Services, caller: &Caller, id: &str, req: &Request) -> Answer {
    let a: Acting<CodeAgain> = match acting_on(s, caller, id, req).await? {
        Ok(a) => a,
        Err(replayed) => return Ok(replayed),
    };
    let (party, channel) = (holder(a.body.party)?, a.body.channel);
    let now = s.clock.now();
    let (caller, idem) = (&a.caller, a.idem.as_ref());
    let read = a.read;
    with_retries(s, idem, read, |read| async move {
        read.value.accepts_steps(now)?;
        let current = s.store.challenge(&read.value.id, party, channel).await?;
        let (after, challenge) = read.value.unblocked(
            party,
            current.as_ref().map(|c| &c.value),
            &s.codes,
            now,
            &actor(caller),
        )?;
        let body = value_of(initiator_view(&after));
        let extra = Extra {
            challenge: Some((current.as_ref().map(|c| c.version), &challenge)),
            idempotent: idem.map(|i| i.record(StatusCode::OK, &body, now)),
            ..Extra::default()
        };
        commit_over(s, now, &read, &after, extra).await?;
        Ok(json(StatusCode::OK, &body))
    })
    .await
}
