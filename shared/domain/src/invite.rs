//! What the initiator may do for a holder while the transfer is open: send the invitation
//! again (limited like code sends), and correct an email or a mobile the holder has not
//! verified yet. A correction gives the holder a new link (the old one stops working) and
//! a new invitation at the corrected address; the audit trail keeps both, masked.

use crate::otp::{Channel, CodePolicy, Party};
use crate::outbox::mask;
use crate::transfer::{Actor, AuditAction, AuditEntry, Closed, Step, Transfer, TransferStatus};
use crate::values::{EmailAddress, MobileNumber};
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InviteError {
    #[error(transparent)]
    Closed(#[from] Closed),
    #[error(
        "La richiesta non è ancora aperta: gli inviti partono quando verifichi il tuo cellulare."
    )]
    NotOpen,
    #[error(
        "Gli inviti e le correzioni riguardano solo i titolari: indica current_holder o new_holder."
    )]
    NotAHolder,
    #[error(
        "{} ha già ricevuto {} inviti, il massimo per questa richiesta: può usare il link dell'ultimo; se non lo trova, contatta l'assistenza.",
        who(*.0),
        .1
    )]
    TooMany(Party, u32),
    #[error("Attendi {} prima di inviare di nuovo l'invito.", crate::text::wait_in_words(*.0))]
    TooSoon(i64),
    #[error("{} ha già verificato {}: non si può più correggere.", who(*.0), what(*.1))]
    Verified(Party, Channel),
    #[error("{} ha già completato i suoi passaggi: non si può più correggere.", who(*.0))]
    Finished(Party),
    #[error("Indica l'email o il cellulare da correggere.")]
    Nothing,
}

fn who(party: Party) -> &'static str {
    match party {
        Party::CurrentHolder => "L'attuale titolare",
        Party::NewHolder => "Il nuovo titolare",
        Party::Initiator => "Il richiedente",
    }
}

/// The holder an audit line is about, as a person reads it.
fn whom(party: Party) -> &'static str {
    match party {
        Party::CurrentHolder => "attuale titolare",
        Party::NewHolder => "nuovo titolare",
        Party::Initiator => "richiedente",
    }
}

fn what(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "il cellulare",
        Channel::Email => "l'email",
    }
}

/// A correction of a holder's contact; absent fields stay as they are.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Correction {
    pub mobile: Option<MobileNumber>,
    pub email: Option<EmailAddress>,
}

impl Transfer {
    fn open_to(&self, party: Party, now: Timestamp) -> Result<(), InviteError> {
        self.accepts_steps(now).map_err(InviteError::Closed)?;
        if party == Party::Initiator {
            return Err(InviteError::NotAHolder);
        }
        if self.status != TransferStatus::Open {
            return Err(InviteError::NotOpen);
        }
        Ok(())
    }

    /// Whether `party` may get an invitation now: an open transfer, a holder, and within the
    /// limits (a correction sends one too).
    fn accepts_invitations(
        &self,
        party: Party,
        now: Timestamp,
        policy: &CodePolicy,
    ) -> Result<(), InviteError> {
        self.open_to(party, now)?;
        let contact = self.contact(party);
        if contact.invitations >= policy.max_sends {
            return Err(InviteError::TooMany(party, contact.invitations));
        }
        if let Some(ready_at) = contact.invited_at.map(|at| at + policy.resend_after)
            && now < ready_at
        {
            return Err(InviteError::TooSoon(
                (ready_at.as_second() - now.as_second()).max(1),
            ));
        }
        Ok(())
    }

    /// The transfer with one more invitation to `party` counted: at most `max_sends`, one
    /// every `resend_after`.
    pub fn reinvited(
        &self,
        party: Party,
        now: Timestamp,
        policy: &CodePolicy,
        actor: &Actor,
    ) -> Result<Transfer, InviteError> {
        self.accepts_invitations(party, now, policy)?;
        let mut t = self.clone();
        let contact = t.contact_mut(party);
        contact.invitations += 1;
        contact.invited_at = Some(now);
        contact.invitation_report = None;
        let detail = format!(
            "invito n. {} a {}",
            contact.invitations,
            mask(contact.email.as_str())
        );
        t.audit_line(party, AuditAction::InvitationSent, detail, now, actor);
        Ok(t)
    }

    /// The reminder due at `now`, if one is (docs/rules.md, "Reminders"): each holder who
    /// has steps left gets the invitation again, counted with those sent by hand and never
    /// past `max_sends`; every reminder moment already passed is dropped, so one run sends
    /// one reminder however late it comes. `None` when none is due or the request is not
    /// open. The parties returned are those to send it to (perhaps none).
    pub fn reminded(
        &self,
        now: Timestamp,
        policy: &CodePolicy,
        actor: &Actor,
    ) -> Option<(Transfer, Vec<Party>)> {
        let due = self.reminders.first().is_some_and(|at| *at <= now);
        if !due || self.status != TransferStatus::Open || now >= self.deadline {
            return None;
        }
        let mut t = self.clone();
        t.reminders.retain(|at| *at > now);
        let mut to = Vec::new();
        for party in [Party::CurrentHolder, Party::NewHolder] {
            // An address the provider said is lost gets no reminder: the initiator was
            // told to correct it, and a correction sends a new invitation.
            if self.finished(party)
                || self.contact(party).invitations >= policy.max_sends
                || self.contact(party).unreachable()
            {
                continue;
            }
            let contact = t.contact_mut(party);
            contact.invitations += 1;
            contact.invited_at = Some(now);
            contact.invitation_report = None;
            let detail = format!(
                "invito n. {} a {}",
                contact.invitations,
                mask(contact.email.as_str())
            );
            t.audit.push(AuditEntry {
                at: now,
                party: None,
                action: AuditAction::ReminderSent,
                detail: Some(format!("{}: {detail}", whom(party))),
                request_id: actor.request_id.clone(),
                source_ip: actor.source_ip.clone(),
                user_agent: actor.user_agent.clone(),
                support: actor.support.clone(),
            });
            to.push(party);
        }
        Some((t, to))
    }

    /// The transfer with `party`'s contact corrected, a new link generation and the
    /// invitation counted; `None` when nothing would change (an identical repeat).
    pub fn corrected(
        &self,
        party: Party,
        correction: &Correction,
        now: Timestamp,
        policy: &CodePolicy,
        actor: &Actor,
    ) -> Result<Option<Transfer>, InviteError> {
        if correction.mobile.is_none() && correction.email.is_none() {
            return Err(InviteError::Nothing);
        }
        self.open_to(party, now)?;
        let done = self.steps_done(party);
        let current = self.contact(party);
        let new_mobile = correction.mobile.as_ref().filter(|m| **m != current.mobile);
        let new_email = correction.email.as_ref().filter(|e| **e != current.email);
        if new_mobile.is_none() && new_email.is_none() {
            return Ok(None);
        }
        if new_mobile.is_some() && done.contains(&Step::Sms) {
            return Err(InviteError::Verified(party, Channel::Sms));
        }
        if new_email.is_some() && done.contains(&Step::Email) {
            return Err(InviteError::Verified(party, Channel::Email));
        }
        if self.finished(party) {
            return Err(InviteError::Finished(party));
        }
        self.accepts_invitations(party, now, policy)?;
        let mut t = self.clone();
        let mut changes = Vec::new();
        let contact = t.contact_mut(party);
        if let Some(mobile) = new_mobile {
            changes.push(format!(
                "cellulare {} → {}",
                mask(contact.mobile.as_str()),
                mask(mobile.as_str())
            ));
            contact.mobile = mobile.clone();
        }
        if let Some(email) = new_email {
            changes.push(format!(
                "email {} → {}",
                mask(contact.email.as_str()),
                mask(email.as_str())
            ));
            contact.email = email.clone();
        }
        contact.link += 1;
        contact.invitations += 1;
        contact.invited_at = Some(now);
        contact.invitation_report = None;
        changes.push(format!("nuovo link n. {}", contact.link + 1));
        t.audit_line(
            party,
            AuditAction::ContactCorrected,
            changes.join("; "),
            now,
            actor,
        );
        Ok(Some(t))
    }

    /// One audit line of the initiator's, about `party`.
    /// The transfer with the email provider's `report` of `party`'s invitation sent under
    /// link generation `link` (docs/rules.md, "Delivery"): kept on the contact, so the
    /// initiator's page says whether it arrived; a loss for good (the address does not
    /// exist, suppressed, a complaint) also goes on the trail, stops the reminders to that
    /// address and is told to the initiator (`true`), who can correct the contact. `None`
    /// when it changes nothing: the request is over, the contact was corrected since (the
    /// report is of an older address), or the contact has this word already.
    pub fn invitation_reported(
        &self,
        party: Party,
        link: u32,
        report: &crate::delivery::Report,
        now: Timestamp,
        actor: &Actor,
    ) -> Option<(Transfer, bool)> {
        use crate::delivery::Outcome;
        if self.status != TransferStatus::Open || party == Party::Initiator {
            return None;
        }
        let contact = self.contact(party);
        let known = contact.invitation_report.as_ref().map(|r| &r.outcome);
        let stale = match (known, &report.outcome) {
            _ if contact.link != link => true,
            (Some(k), o) if k == o => true,
            // A final word is not taken back by a delay.
            (Some(Outcome::Delivered | Outcome::Failed { .. }), Outcome::Delayed) => true,
            _ => false,
        };
        if stale {
            return None;
        }
        let was_unreachable = contact.unreachable();
        let mut t = self.clone();
        t.contact_mut(party).invitation_report = Some(report.clone());
        let lost = t.contact(party).unreachable() && !was_unreachable;
        if let (true, Outcome::Failed { failure }) = (lost, &report.outcome) {
            t.audit.push(AuditEntry {
                at: now,
                party: None,
                action: AuditAction::InvitationUndelivered,
                detail: Some(format!("{}: {}", whom(party), failure.words())),
                request_id: actor.request_id.clone(),
                source_ip: actor.source_ip.clone(),
                user_agent: actor.user_agent.clone(),
                support: actor.support.clone(),
            });
        }
        Some((t, lost))
    }

    fn audit_line(
        &mut self,
        party: Party,
        action: AuditAction,
        detail: String,
        now: Timestamp,
        actor: &Actor,
    ) {
        self.audit.push(AuditEntry {
            at: now,
            party: Some(Party::Initiator),
            action,
            detail: Some(format!("{}: {detail}", whom(party))),
            request_id: actor.request_id.clone(),
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone(),
            support: actor.support.clone(),
        });
    }
}
