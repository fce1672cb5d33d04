//! What the provider's support may do on a request (docs/rules.md, "Support"): read it, and
//! act with a reason — an invitation or a code sent again, a cancellation, a new budget of
//! code sends once per request. Each writes its lines with the operator and the reason
//! ([`Support`]), which the account reads in the trail.

use crate::otp::{Challenge, Channel, CodePolicy, Party};
pub use crate::transfer::Support;
use crate::transfer::{
    AUDIT_LINES_FOR_STEPS, Actor, AuditAction, AuditEntry, MAX_AUDIT_ENTRIES, Transfer,
};
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupportError {
    #[error("Indica il motivo: resta nello storico della richiesta, che il cliente legge.")]
    NoReason,
    #[error("{} ha ancora {} invii di codici: non serve sbloccarlo.", who(*.0), .1)]
    NotBlocked(Party, u32),
    #[error(
        "I nuovi invii di codici sono già stati concessi una volta in questa richiesta: non si possono concedere di nuovo."
    )]
    AlreadyUnblocked,
    #[error("{} non ha ancora chiesto un codice per questo canale: non c'è nulla da sbloccare.", who(*.0))]
    NoCode(Party),
}

fn who(party: Party) -> &'static str {
    match party {
        Party::CurrentHolder => "L'attuale titolare",
        Party::NewHolder => "Il nuovo titolare",
        Party::Initiator => "Il richiedente",
    }
}

/// The support acting: `operator` with `reason`, which must say something.
pub fn acting(operator: &str, reason: &str) -> Result<Support, SupportError> {
    let support = Support::new(operator, reason);
    if support
        .reason
        .chars()
        .filter(|c| c.is_alphanumeric())
        .count()
        < 3
    {
        return Err(SupportError::NoReason);
    }
    Ok(support)
}

impl Transfer {
    /// What support finds the request by besides its number and account: each item, and the
    /// codice fiscale and partita IVA of both holders (written with the draft, kept with it).
    pub fn support_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.items.iter().map(|i| item_key(&i.item)).collect();
        for card in [&self.current_holder_card, &self.new_holder_card] {
            for code in [&card.codice_fiscale, &card.partita_iva]
                .into_iter()
                .flatten()
            {
                keys.push(fiscal_key(code));
            }
        }
        keys.sort();
        keys.dedup();
        keys
    }

    /// The transfer with a line saying support read it (`actor` carries who and why). Past
    /// the trail's room for such lines, counted as omitted instead.
    pub fn read_by_support(&self, now: Timestamp, actor: &Actor) -> Transfer {
        let mut t = self.clone();
        if t.audit.len() >= MAX_AUDIT_ENTRIES - AUDIT_LINES_FOR_STEPS {
            t.audit_omitted = t.audit_omitted.saturating_add(1);
            return t;
        }
        t.audit
            .push(line(now, AuditAction::SupportRead, None, actor));
        t
    }

    /// The transfer and `party`'s challenge on `channel` with a new budget of sends, once per
    /// request, for a party whose sends ran out.
    pub fn unblocked(
        &self,
        party: Party,
        challenge: Option<&Challenge>,
        policy: &CodePolicy,
        now: Timestamp,
        actor: &Actor,
    ) -> Result<(Transfer, Challenge), SupportError> {
        if self
            .audit
            .iter()
            .any(|a| a.action == AuditAction::SupportUnblocked)
        {
            return Err(SupportError::AlreadyUnblocked);
        }
        let challenge = challenge.ok_or(SupportError::NoCode(party))?;
        let left = challenge.sends_left(policy);
        if left > 0 {
            return Err(SupportError::NotBlocked(party, left));
        }
        let mut c = challenge.clone();
        c.generation_start = c.sends;
        let mut t = self.clone();
        let channel = match challenge.channel {
            Channel::Sms => "sms",
            Channel::Email => "email",
        };
        t.audit.push(line(
            now,
            AuditAction::SupportUnblocked,
            Some(format!("{}: {channel}", who(party).to_lowercase())),
            actor,
        ));
        Ok((t, c))
    }
}

/// The key of an item, as [`Transfer::support_keys`] writes it.
pub fn item_key(item: &crate::transfer::ItemRef) -> String {
    format!("item:{}:{}", item.kind.as_str(), item.id.to_lowercase())
}

/// The key of a codice fiscale or partita IVA, as [`Transfer::support_keys`] writes it.
pub fn fiscal_key(code: &str) -> String {
    format!("fiscale:{}", crate::text::compact_code(code))
}

fn line(now: Timestamp, action: AuditAction, detail: Option<String>, actor: &Actor) -> AuditEntry {
    AuditEntry {
        at: now,
        party: None,
        action,
        detail,
        request_id: actor.request_id.clone(),
        source_ip: actor.source_ip.clone(),
        user_agent: actor.user_agent.clone(),
        support: actor.support.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otp::{ChallengeStatus, Delivery};
    use crate::transfer::TransferId;

    fn exhausted(policy: &CodePolicy) -> Challenge {
        Challenge {
            transfer: TransferId::from_number(1),
            party: Party::CurrentHolder,
            channel: Channel::Sms,
            destination: "+393330000001".into(),
            sends: policy.max_sends,
            last_sent_at: Timestamp::UNIX_EPOCH,
            expires_at: Timestamp::UNIX_EPOCH,
            attempts: 0,
            status: ChallengeStatus::Pending,
            delivery: Delivery::Sent,
            failure: None,
            generation: 0,
            generation_start: 0,
        }
    }

    #[test]
    fn a_new_budget_only_when_the_sends_ran_out_and_once_per_request() {
        let policy = CodePolicy::default();
        let t = crate::steps::tests::draft(crate::Tipo::Privato, false);
        let actor = Actor::system("test").supporting(acting("op-1", "SMS mai arrivati").unwrap());
        let now = crate::steps::tests::at(100);
        let mut spare = exhausted(&policy);
        spare.sends -= 1;
        assert_eq!(
            t.unblocked(Party::CurrentHolder, Some(&spare), &policy, now, &actor)
                .unwrap_err(),
            SupportError::NotBlocked(Party::CurrentHolder, 1)
        );
        let (after, c) = t
            .unblocked(
                Party::CurrentHolder,
                Some(&exhausted(&policy)),
                &policy,
                now,
                &actor,
            )
            .unwrap();
        assert_eq!(c.sends_left(&policy), policy.max_sends);
        let last = after.audit.last().unwrap();
        assert_eq!(last.action, AuditAction::SupportUnblocked);
        assert_eq!(last.support.as_ref().unwrap().operator, "op-1");
        assert_eq!(
            after
                .unblocked(
                    Party::NewHolder,
                    Some(&exhausted(&policy)),
                    &policy,
                    now,
                    &actor
                )
                .unwrap_err(),
            SupportError::AlreadyUnblocked
        );
        let read = after.read_by_support(now, &actor);
        assert_eq!(read.audit.last().unwrap().action, AuditAction::SupportRead);
    }

    #[test]
    fn a_reason_is_required() {
        assert_eq!(acting("op-1", "  "), Err(SupportError::NoReason));
        assert_eq!(acting("op-1", "?!"), Err(SupportError::NoReason));
        assert!(acting("op-1", "Il cliente non riceve gli SMS").is_ok());
    }
}
