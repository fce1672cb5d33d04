//! What each party sees of a request: one struct per body, named as the OpenAPI file's
//! schema it must match (`Transfer`, `Party`; docs/api.md says how the two are kept equal).

use crate::context::Services;
use jiff::Timestamp;
use serde::Serialize;
use titolare_domain::Lingua;
use titolare_domain::otp::Party;
use titolare_domain::outbox::mask;
use titolare_domain::platform::{ItemPlatform, item_platform};
use titolare_domain::steps::ContractCondition;
use titolare_domain::transfer::*;
use titolare_domain::vocabulary::Vocabulary;

/// `Transfer`: a transfer as its initiator sees it: everything, contacts masked, with its
/// audit trail.
#[derive(Serialize)]
pub(crate) struct InitiatorView<'a> {
    id: &'a TransferId,
    status: TransferStatus,
    created_at: Timestamp,
    deadline: Timestamp,
    hold_until: Option<Timestamp>,
    ended_at: Option<Timestamp>,
    management: ManagementView<'a>,
    current_holder: &'a HolderCard,
    new_holder: &'a HolderCard,
    items: Vec<ItemView<'a>>,
    initiator_mobile: String,
    contacts: PerHolder<ContactView<'a>>,
    progress: PerParty<StepsView<'a>>,
    /// On an expired request: the parties who had not taken all their steps.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    unfinished: Vec<Party>,
    accepted_conditions: &'a [AcceptedCondition],
    audit: Vec<AuditView<'a>>,
    audit_omitted: u32,
}

/// An item, and once moved where the mail platform stands with it.
#[derive(Serialize)]
struct ItemView<'a> {
    #[serde(flatten)]
    item: &'a TransferItem,
    #[serde(skip_serializing_if = "Option::is_none")]
    platform: Option<ItemPlatform>,
}

#[derive(Serialize)]
struct PerHolder<T> {
    current_holder: T,
    new_holder: T,
}

#[derive(Serialize)]
struct PerParty<T> {
    initiator: T,
    current_holder: T,
    new_holder: T,
}

#[derive(Serialize)]
struct StepsView<'a> {
    done: &'a [Step],
    left: Vec<Step>,
}

/// A holder's contact as the initiator sees it: masked, with the invitations sent.
#[derive(Serialize)]
struct ContactView<'a> {
    mobile: String,
    email: String,
    invitations: u32,
    invited_at: &'a Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invitation_delivery: Option<DeliveryView>,
}

/// What a provider reported of a message: delivered, delayed, or failed with the reason in
/// words (docs/rules.md, "Delivery").
#[derive(Serialize)]
pub(crate) struct DeliveryView {
    outcome: &'static str,
    at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    lost: bool,
}

impl DeliveryView {
    pub(crate) fn of(report: &titolare_domain::delivery::Report) -> Self {
        use titolare_domain::delivery::Outcome;
        let failure = match &report.outcome {
            Outcome::Failed { failure } => Some(failure),
            _ => None,
        };
        Self {
            outcome: report.outcome.as_str(),
            at: report.at,
            reason: failure.map(|f| f.words()),
            lost: failure.is_some_and(|f| f.permanent()),
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
enum ManagementView<'a> {
    Keep,
    HandOver { username: &'a str },
}

/// A line of the trail as the initiator sees it: a holder's address and browser are that
/// holder's (and the operators'), not the reseller's, so only the initiator's own lines carry
/// them (an ending line carries the call that ended it, often a holder's).
#[derive(Serialize)]
struct AuditView<'a> {
    at: Timestamp,
    party: Option<Party>,
    action: AuditAction,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    source_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_agent: Option<&'a str>,
    /// The provider's support did it: which operator, and why.
    #[serde(skip_serializing_if = "Option::is_none")]
    support: Option<&'a Support>,
}

pub(crate) fn initiator_view(t: &Transfer) -> InitiatorView<'_> {
    let steps = |p: Party| StepsView {
        done: t.steps_done(p),
        left: t.steps_left(p),
    };
    let contact = |p: Party| {
        let c = t.contact(p);
        ContactView {
            mobile: mask(c.mobile.as_str()),
            email: mask(c.email.as_str()),
            invitations: c.invitations,
            invited_at: &c.invited_at,
            invitation_delivery: c.invitation_report.as_ref().map(DeliveryView::of),
        }
    };
    InitiatorView {
        id: &t.id,
        status: t.status,
        created_at: t.created_at,
        deadline: t.deadline,
        hold_until: t.hold_until,
        ended_at: t.ended_at,
        management: management_view(&t.management),
        current_holder: &t.current_holder_card,
        new_holder: &t.new_holder_card,
        items: t
            .items
            .iter()
            .map(|item| ItemView {
                item,
                platform: item_platform(
                    t.platform
                        .iter()
                        .filter(|r| r.command.target_kind == item.item.kind)
                        .filter(|r| r.command.target == item.item.id),
                ),
            })
            .collect(),
        initiator_mobile: mask(t.initiator.mobile.as_str()),
        contacts: PerHolder {
            current_holder: contact(Party::CurrentHolder),
            new_holder: contact(Party::NewHolder),
        },
        progress: PerParty {
            initiator: steps(Party::Initiator),
            current_holder: steps(Party::CurrentHolder),
            new_holder: steps(Party::NewHolder),
        },
        unfinished: if t.status == TransferStatus::Expired {
            [Party::Initiator, Party::CurrentHolder, Party::NewHolder]
                .into_iter()
                .filter(|p| !t.finished(*p))
                .collect()
        } else {
            Vec::new()
        },
        accepted_conditions: &t.progress.accepted_conditions,
        audit: t
            .audit
            .iter()
            .map(|entry| {
                let own = entry.party == Some(Party::Initiator);
                AuditView {
                    at: entry.at,
                    party: entry.party,
                    action: entry.action,
                    detail: entry.detail.as_deref(),
                    request_id: &entry.request_id,
                    source_ip: own.then_some(entry.source_ip.as_str()),
                    user_agent: own.then_some(entry.user_agent.as_str()),
                    support: entry.support.as_ref(),
                }
            })
            .collect(),
        audit_omitted: t.audit_omitted,
    }
}

fn management_view(m: &Management) -> ManagementView<'_> {
    match m {
        Management::Keep => ManagementView::Keep,
        Management::HandOver { username, .. } => ManagementView::HandOver {
            username: username.as_str(),
        },
    }
}

/// `Party`: a transfer as one holder sees it: the items with their own decisions, their
/// steps, and what the next steps need.
#[derive(Serialize)]
pub(crate) struct PartyView<'a> {
    role: Party,
    transfer: Summary<'a>,
    items: Vec<PartyItem<'a>>,
    steps_done: &'a [Step],
    steps_left: Vec<Step>,
    deadline: Timestamp,
    hold_until: Option<Timestamp>,
    contact: MaskedContact,
    conditions: Vec<ConditionView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    holder_data: Option<HolderData<'a>>,
    /// The panel's words for the API's codes (it is Italian): in the answer a page starts
    /// from (`GET /v1/party`), not in each step's, which is also kept for its
    /// Idempotency-Key.
    #[serde(skip_serializing_if = "Option::is_none")]
    vocabulary: Option<&'static Vocabulary>,
}

impl PartyView<'_> {
    /// The view with the panel's words, for the answer a page starts from.
    pub(crate) fn with_vocabulary(mut self) -> Self {
        self.vocabulary = Some(Vocabulary::of(Lingua::It));
        self
    }
}

/// The transfer in a holder's view: who is who, by name.
#[derive(Serialize)]
struct Summary<'a> {
    id: &'a TransferId,
    status: TransferStatus,
    management: ManagementView<'a>,
    current_holder: &'a str,
    new_holder: &'a str,
}

#[derive(Serialize)]
struct PartyItem<'a> {
    kind: ItemKind,
    id: &'a str,
    accept: Option<bool>,
    outcome: Option<ItemOutcome>,
}

/// A contract condition as the new holder sees it: with the sentence its tick says.
#[derive(Serialize)]
struct ConditionView<'a> {
    id: &'a str,
    version: &'a str,
    title: &'a str,
    url: &'a str,
    required: bool,
    consent: String,
}

impl<'a> ConditionView<'a> {
    fn of(c: &'a ContractCondition) -> Self {
        Self {
            id: &c.id,
            version: &c.version,
            title: &c.title,
            url: &c.url,
            required: c.required,
            consent: c.consent_sentence(),
        }
    }
}

#[derive(Serialize)]
struct MaskedContact {
    mobile: String,
    email: String,
}

/// A new holder that is not a person: its data, read-only here, and where to correct it.
#[derive(Serialize)]
struct HolderData<'a> {
    ragione_sociale: &'a Option<String>,
    codice_fiscale: &'a Option<String>,
    partita_iva: &'a Option<String>,
    editable: bool,
    wrong_ragione_sociale: Pointer<'a>,
    wrong_codes: Pointer<'a>,
}

#[derive(Serialize)]
struct Pointer<'a> {
    detail: &'static str,
    url: &'a str,
}

pub(crate) fn party_view<'a>(s: &'a Services, t: &'a Transfer, party: Party) -> PartyView<'a> {
    let contact = t.contact(party);
    let new_holder = party == Party::NewHolder;
    let c = &t.new_holder_card;
    PartyView {
        role: party,
        transfer: Summary {
            id: &t.id,
            status: t.status,
            management: management_view(&t.management),
            current_holder: &t.current_holder_card.name,
            new_holder: &c.name,
        },
        items: t
            .items
            .iter()
            .map(|i| PartyItem {
                kind: i.item.kind,
                id: i.item.id.as_str(),
                accept: if party == Party::CurrentHolder {
                    i.current_holder
                } else {
                    i.new_holder
                },
                outcome: i.outcome,
            })
            .collect(),
        steps_done: t.steps_done(party),
        steps_left: t.steps_left(party),
        deadline: t.deadline,
        hold_until: t.hold_until,
        contact: MaskedContact {
            mobile: mask(contact.mobile.as_str()),
            email: mask(contact.email.as_str()),
        },
        conditions: if new_holder {
            s.rules.conditions.iter().map(ConditionView::of).collect()
        } else {
            Vec::new()
        },
        holder_data: (new_holder && !c.tipo.is_natural_person()).then_some(HolderData {
            ragione_sociale: &c.ragione_sociale,
            codice_fiscale: &c.codice_fiscale,
            partita_iva: &c.partita_iva,
            editable: false,
            wrong_ragione_sociale: Pointer {
                detail: "Se la ragione sociale non è corretta, segui la procedura di cambio ragione sociale.",
                url: &s.rules.change_of_name_url,
            },
            wrong_codes: Pointer {
                detail: "Se il codice fiscale o la partita IVA non sono corretti, contatta l'assistenza.",
                url: &s.rules.support_url,
            },
        }),
        vocabulary: None,
    }
}

/// What holders' unauthenticated step answers carry (`POST /v1/party/stop`): the transfer,
/// the party, where it stands.
#[derive(Serialize)]
pub(crate) struct Stopped<'a> {
    pub id: &'a TransferId,
    pub role: Party,
    pub status: TransferStatus,
    pub items: Vec<&'a str>,
}
