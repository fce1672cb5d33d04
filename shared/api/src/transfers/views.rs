//! What each party sees of a request.

use crate::context::Services;
use serde_json::{Value, json};
use titolare_domain::otp::Party;
use titolare_domain::outbox::mask;
use titolare_domain::transfer::*;

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
