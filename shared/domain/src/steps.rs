//! The transfer as a state machine (docs/rules.md): `draft` → `open` →
//! `completed` | `rejected` | `cancelled` | `expired`. Pure: the time comes in, a new
//! request comes out, and what an ending or an opening causes is computed here too, so
//! every adapter applies the very same effects.

use crate::otp::{Channel, Party};
use crate::outbox::{Message, OutboxMessage};
use crate::records::{Mailbox, Operation, OperationKind, Outcome};
use crate::transfer::*;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// A contract condition the new holder must read and may have to tick (from configuration).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractCondition {
    pub id: String,
    pub version: String,
    pub title: String,
    pub url: String,
    pub required: bool,
    /// What the new holder's tick says, as a whole sentence with its article ("Accetto le
    /// Condizioni generali…"); without it, one that fits any title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent: Option<String>,
}

impl ContractCondition {
    /// The tick's sentence, saying whether it is needed: "Accetto le Condizioni generali di
    /// contratto del servizio PEC (obbligatorio)".
    pub fn consent_sentence(&self) -> String {
        let sentence = self
            .consent
            .clone()
            .unwrap_or_else(|| format!("Accetto quanto indicato in «{}»", self.title));
        let need = if self.required {
            "obbligatorio"
        } else {
            "facoltativo"
        };
        format!("{sentence} ({need})")
    }
}

/// The configurable rules of a transfer; the defaults are the product's.
#[derive(Debug, Clone, PartialEq)]
pub struct Rules {
    /// How long a verified request stays open (5 days).
    pub open_for: SignedDuration,
    /// How long an unverified draft lives (24 hours).
    pub draft_for: SignedDuration,
    /// How long an ended transfer's personal data is kept after its deadline (90 days).
    pub retention: SignedDuration,
    pub conditions: Vec<ContractCondition>,
    /// The new holder must share codice fiscale or partita IVA with the current one
    /// (the AgID rule as Register.it applies it).
    pub same_fiscal_identity_only: bool,
    /// An item that changed holder cannot be requested again for this long (ICANN-style lock).
    pub post_change_lock: Option<SignedDuration>,
    /// At most this many items per request, so its completion fits one transaction.
    pub max_items: usize,
    /// Where a new holder whose ragione sociale is wrong is sent (change-of-name procedure).
    pub change_of_name_url: String,
    /// Where a new holder whose codice fiscale or partita IVA is wrong is sent.
    pub support_url: String,
    /// A holder may verify a mobile other than the one on file; the transfer then completes
    /// no earlier than this after (24 hours), and the number and email on file are told,
    /// with a link to stop it. `None`: the number on file only (docs/security.md).
    pub number_change_hold: Option<SignedDuration>,
    /// How long before the deadline the holders who have not finished get a reminder
    /// (48 and 24 hours); counted with the invitations sent by hand.
    pub reminders: Vec<SignedDuration>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            open_for: SignedDuration::from_hours(5 * 24),
            draft_for: SignedDuration::from_hours(24),
            retention: SignedDuration::from_hours(90 * 24),
            conditions: vec![
                ContractCondition {
                    id: "condizioni-generali".into(),
                    version: "2026-01".into(),
                    title: "Condizioni generali di contratto del servizio PEC".into(),
                    url: "https://www.example.it/pec/condizioni-generali".into(),
                    required: true,
                    consent: Some(
                        "Accetto le Condizioni generali di contratto del servizio PEC".into(),
                    ),
                },
                ContractCondition {
                    id: "privacy".into(),
                    version: "2026-01".into(),
                    title: "Informativa sul trattamento dei dati personali".into(),
                    url: "https://www.example.it/pec/privacy".into(),
                    required: true,
                    consent: Some(
                        "Dichiaro di aver letto l'Informativa sul trattamento dei dati personali"
                            .into(),
                    ),
                },
                ContractCondition {
                    id: "marketing".into(),
                    version: "2026-01".into(),
                    title: "Comunicazioni commerciali".into(),
                    url: "https://www.example.it/pec/marketing".into(),
                    required: false,
                    consent: Some("Accetto di ricevere comunicazioni commerciali".into()),
                },
            ],
            same_fiscal_identity_only: false,
            post_change_lock: None,
            max_items: 25,
            change_of_name_url: "https://www.example.it/pec/guide/cambio-ragione-sociale".into(),
            support_url: "https://www.example.it/assistenza".into(),
            number_change_hold: Some(SignedDuration::from_hours(24)),
            reminders: vec![
                SignedDuration::from_hours(48),
                SignedDuration::from_hours(24),
            ],
        }
    }
}

/// A holder's answer for one item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub item: ItemRef,
    pub accept: bool,
}

/// What a party (or the service) does to a transfer.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Decide(Vec<Decision>),
    /// The new holder logged in as this account (hand_over).
    Login(crate::records::AccountId),
    ConfirmHolderData,
    /// Condition ids ticked.
    AcceptContract(Vec<String>),
    /// A one-time code of this channel was approved.
    Verified(Channel),
    Cancel,
    /// The deadline passed (the expirer, or the TTL backstop).
    Expire,
    /// A holder stops the transfer with the link sent when someone verified a number other
    /// than theirs on file: their rejection of every item.
    Stop,
    /// The wait after a changed number passed, every step taken, nobody stopped it (the
    /// expirer): the transfer completes.
    EndHold,
    /// The provider's inventory changed an item so that it can no longer change holder
    /// here: it leaves the transfer, which ends when no item is left (docs/rules.md).
    Withdraw(ItemRef, Withdrawal),
}

/// Why an item leaves a running transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withdrawal {
    /// The provider removed it.
    Removed,
    /// It is no longer active (suspended, cancelled, expired).
    NotActive,
    /// The provider gave it another holder than the transfer's current one.
    OtherHolder,
}

/// Whether an item a running transfer holds must leave it, as the provider's inventory now
/// has it (`None`: gone from the transfer's account): removed, no longer active, or held by
/// someone else than the transfer's current holder (docs/rules.md, "The inventory").
pub fn withdrawal(
    transfer: &Transfer,
    state: Option<&crate::ports::ItemState>,
) -> Option<Withdrawal> {
    use crate::ports::ItemState;
    use crate::records::ServiceStatus;
    let (holder, status) = match state {
        None => return Some(Withdrawal::Removed),
        Some(ItemState::Mailbox(m)) => (&m.value.holder_id, m.value.status),
        Some(ItemState::Domain(d)) => (&d.value.holder_id, d.value.status),
    };
    if !matches!(status, ServiceStatus::Certificato | ServiceStatus::Attivo) {
        Some(Withdrawal::NotActive)
    } else if *holder != transfer.current_holder_card.id {
        Some(Withdrawal::OtherHolder)
    } else {
        None
    }
}

impl Withdrawal {
    /// The trail's words for it.
    pub fn words(self) -> &'static str {
        match self {
            Self::Removed => "rimosso dal gestore",
            Self::NotActive => "non più attivo",
            Self::OtherHolder => "assegnato dal gestore a un altro titolare",
        }
    }
}

impl Action {
    fn name(&self) -> AuditAction {
        match self {
            Self::Decide(_) => AuditAction::Decisions,
            Self::Login(_) => AuditAction::Login,
            Self::ConfirmHolderData => AuditAction::HolderDataConfirmed,
            Self::AcceptContract(_) => AuditAction::ContractAccepted,
            Self::Verified(Channel::Sms) => AuditAction::SmsVerified,
            Self::Verified(Channel::Email) => AuditAction::EmailVerified,
            Self::Cancel => AuditAction::Cancelled,
            Self::Expire => AuditAction::Expired,
            Self::Stop => AuditAction::Stopped,
            Self::EndHold => AuditAction::HoldEnded,
            Self::Withdraw(..) => AuditAction::ItemWithdrawn,
        }
    }

    /// The service's own actions, which no party takes.
    fn by_system(&self) -> bool {
        matches!(self, Self::Expire | Self::EndHold | Self::Withdraw(..))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StepError {
    #[error(transparent)]
    Closed(#[from] Closed),
    #[error("{0}")]
    Phase(String),
    #[error("Questo passaggio non è ancora il tuo: prima serve {0}.")]
    OutOfOrder(&'static str),
    #[error("Passaggio già completato.")]
    AlreadyDone,
    #[error("{0}")]
    Decisions(String),
    #[error("Per proseguire accetta le condizioni obbligatorie: {0}.")]
    MissingConditions(String),
    #[error("Condizione sconosciuta: «{0}» non è tra quelle di questo contratto.")]
    UnknownCondition(String),
    #[error("Per completare la richiesta accedi con lo username indicato dal richiedente.")]
    WrongAccount,
    #[error("La scadenza non è ancora passata.")]
    NotOverdue,
    #[error(
        "Il codice va al cellulare indicato nella richiesta: non si può usare un altro numero. Se quel numero è sbagliato, chiedi al richiedente di correggerlo."
    )]
    NumberFixed,
    #[error(
        "Mancano meno di {0} alla scadenza: ora si può verificare solo il cellulare indicato nella richiesta. Se quel numero è sbagliato, chiedi al richiedente di correggerlo."
    )]
    NumberTooLate(String),
    #[error("L'attesa dopo il cambio di numero non è ancora finita.")]
    HoldPending,
    #[error("Solo un titolare può bloccare la richiesta.")]
    NotAHolder,
    #[error("Nessun account ha questo username: controlla come è scritto.")]
    UnknownUsername,
}

/// The transfer after an action, and whether anything changed (a repeated identical step
/// changes nothing and is answered as the first one).
#[derive(Debug, Clone, PartialEq)]
pub struct Applied {
    pub transfer: Transfer,
    pub changed: bool,
}

/// What a step asks, as the object of a sentence ("prima serve …").
pub fn step_name(step: Step) -> &'static str {
    match step {
        Step::Decisions => "l'accettazione o il rifiuto degli elementi",
        Step::Login => "l'accesso con l'account indicato dal richiedente",
        Step::HolderData => "la conferma dei dati del titolare",
        Step::Contract => "l'accettazione delle condizioni contrattuali",
        Step::Sms => "la verifica del cellulare",
        Step::Email => "la verifica dell'email",
    }
}

impl Transfer {
    /// Every step a party takes, in order (docs/rules.md).
    pub fn steps(&self, party: Party) -> Vec<Step> {
        match party {
            Party::Initiator => vec![Step::Sms],
            Party::CurrentHolder => vec![Step::Decisions, Step::Sms],
            Party::NewHolder => {
                let mut steps = vec![Step::Decisions];
                if matches!(self.management, Management::HandOver { .. }) {
                    steps.push(Step::Login);
                }
                if !self.new_holder_card.tipo.is_natural_person() {
                    steps.push(Step::HolderData);
                }
                steps.extend([Step::Contract, Step::Sms, Step::Email]);
                steps
            }
        }
    }

    pub fn steps_done(&self, party: Party) -> &[Step] {
        match party {
            Party::Initiator => &self.progress.initiator,
            Party::CurrentHolder => &self.progress.current_holder,
            Party::NewHolder => &self.progress.new_holder,
        }
    }

    /// The steps a party still has to take; none once the transfer has ended.
    pub fn steps_left(&self, party: Party) -> Vec<Step> {
        if self.status.is_ended() {
            return Vec::new();
        }
        let done = self.steps_done(party);
        self.steps(party)
            .into_iter()
            .filter(|s| !done.contains(s))
            .collect()
    }

    pub fn next_step(&self, party: Party) -> Option<Step> {
        self.steps_left(party).first().copied()
    }

    /// Whether the party has taken every one of its steps (whatever the status).
    pub fn finished(&self, party: Party) -> bool {
        let done = self.steps_done(party);
        self.steps(party).iter().all(|s| done.contains(s))
    }

    fn done_mut(&mut self, party: Party) -> &mut Vec<Step> {
        match party {
            Party::Initiator => &mut self.progress.initiator,
            Party::CurrentHolder => &mut self.progress.current_holder,
            Party::NewHolder => &mut self.progress.new_holder,
        }
    }

    /// The code step a party may send or verify a code for now.
    pub fn code_step_allowed(
        &self,
        party: Party,
        channel: Channel,
        now: Timestamp,
    ) -> Result<(), StepError> {
        self.accepts_steps(now)?;
        let step = match channel {
            Channel::Sms => Step::Sms,
            Channel::Email => Step::Email,
        };
        if self.steps_done(party).contains(&step) {
            return Err(StepError::AlreadyDone);
        }
        self.expect_phase(party)?;
        if !self.steps(party).contains(&step) {
            return Err(StepError::Phase(self.not_for_party(party, step)));
        }
        match self.next_step(party) {
            Some(next) if next == step => Ok(()),
            Some(next) => Err(StepError::OutOfOrder(step_name(next))),
            None => Err(StepError::AlreadyDone),
        }
    }

    fn expect_phase(&self, party: Party) -> Result<(), StepError> {
        match (party, self.status) {
            (Party::Initiator, TransferStatus::Draft) => Ok(()),
            (Party::Initiator, _) => Err(StepError::Phase(
                "La richiesta è già aperta: il tuo cellulare è già verificato e ora tocca ai titolari.".into(),
            )),
            (_, TransferStatus::Open) => Ok(()),
            _ => Err(StepError::Phase(
                "La richiesta non è ancora aperta: il richiedente deve prima verificare il suo cellulare. Riceverai un'email quando potrai procedere.".into(),
            )),
        }
    }

    /// Why `step` is not one of `party`'s, and what the person should do instead.
    fn not_for_party(&self, party: Party, step: Step) -> String {
        let why = match (party, step) {
            (_, Step::Login) => {
                "L'accesso con lo username serve solo al nuovo titolare quando il richiedente gli affida la gestione degli elementi: in questa richiesta non devi farlo."
            }
            // The data of a person are confirmed by their own codes: the one step a new
            // holder may not have, besides the login above.
            (Party::NewHolder, _) => {
                "La conferma dei dati del titolare serve solo quando il nuovo titolare è un'azienda: tu non devi farla."
            }
            (Party::CurrentHolder, _) => {
                "Questo passaggio spetta al nuovo titolare: come attuale titolare tu decidi sugli elementi e verifichi il cellulare."
            }
            (Party::Initiator, _) => {
                "Questo passaggio spetta ai titolari: come richiedente tu verifichi solo il tuo cellulare."
            }
        };
        match self.next_step(party) {
            Some(next) => format!("{why} Il tuo prossimo passaggio è {}.", step_name(next)),
            None => {
                format!("{why} Hai già completato i tuoi passaggi: riceverai un'email con l'esito.")
            }
        }
    }

    /// Applies one action of `party` at `now`. Refused whole, with nothing changed, when the
    /// request is closed, the step is not the party's next one, or its input is wrong.
    pub fn apply(
        &self,
        party: Party,
        action: &Action,
        now: Timestamp,
        rules: &Rules,
        actor: &Actor,
    ) -> Result<Applied, StepError> {
        let mut t = self.clone();
        let mut detail = None;
        match action {
            Action::Expire => {
                if self.status.is_ended() {
                    return Err(Closed::Ended(self.status).into());
                }
                if now < self.deadline {
                    return Err(StepError::NotOverdue);
                }
                t.end(TransferStatus::Expired, now, rules);
            }
            Action::Cancel => {
                self.accepts_steps(now)?;
                t.end(TransferStatus::Cancelled, now, rules);
            }
            Action::Stop => {
                self.accepts_steps(now)?;
                if party == Party::Initiator {
                    return Err(StepError::NotAHolder);
                }
                self.expect_phase(party)?;
                for item in &mut t.items {
                    match party {
                        Party::CurrentHolder => item.current_holder = Some(false),
                        _ => item.new_holder = Some(false),
                    }
                }
                t.end(TransferStatus::Rejected, now, rules);
            }
            Action::EndHold => {
                self.accepts_steps(now)?;
                if !self.hold_ended(now) {
                    return Err(StepError::HoldPending);
                }
                t.complete(now, rules);
            }
            Action::Withdraw(item, why) => {
                self.accepts_steps(now)?;
                let Some(held) = t
                    .items
                    .iter_mut()
                    .find(|i| i.item == *item && i.outcome.is_none())
                else {
                    // Not in it, or withdrawn already: a repeated notice changes nothing.
                    return Ok(Applied {
                        transfer: self.clone(),
                        changed: false,
                    });
                };
                held.outcome = Some(ItemOutcome::Withdrawn);
                detail = Some(format!("{}: {}", item.label(), why.words()));
                if t.items.iter().all(|i| i.outcome.is_some()) {
                    t.end(TransferStatus::Cancelled, now, rules);
                }
            }
            _ => {
                self.accepts_steps(now)?;
                self.expect_phase(party)?;
                let step = match action {
                    Action::Decide(_) => Step::Decisions,
                    Action::Login(_) => Step::Login,
                    Action::ConfirmHolderData => Step::HolderData,
                    Action::AcceptContract(_) => Step::Contract,
                    Action::Verified(Channel::Sms) => Step::Sms,
                    Action::Verified(Channel::Email) => Step::Email,
                    Action::Cancel
                    | Action::Expire
                    | Action::Stop
                    | Action::EndHold
                    | Action::Withdraw(..) => {
                        unreachable!("handled above")
                    }
                };
                if !self.steps(party).contains(&step) {
                    return Err(StepError::Phase(self.not_for_party(party, step)));
                }
                if self.steps_done(party).contains(&step) {
                    return match (action, self.repeats(party, action)) {
                        (_, true) => Ok(Applied {
                            transfer: self.clone(),
                            changed: false,
                        }),
                        _ => Err(StepError::AlreadyDone),
                    };
                }
                if let Some(next) = self.next_step(party).filter(|n| *n != step) {
                    return Err(StepError::OutOfOrder(step_name(next)));
                }
                match action {
                    Action::Decide(decisions) => {
                        detail = Some(t.decide(party, decisions)?);
                    }
                    Action::Login(account) => {
                        match &self.management {
                            Management::HandOver {
                                account: Some(named),
                                ..
                            } if named == account => {}
                            _ => return Err(StepError::WrongAccount),
                        }
                        t.progress.login_account = Some(account.clone());
                    }
                    Action::AcceptContract(ids) => {
                        t.progress.accepted_conditions = accept_conditions(ids, rules, now)?;
                        detail = Some(
                            t.progress
                                .accepted_conditions
                                .iter()
                                .map(|c| format!("{}@{}", c.id, c.version))
                                .collect::<Vec<_>>()
                                .join(", "),
                        );
                    }
                    _ => {}
                }
                t.done_mut(party).push(step);
                let rejects_all =
                    matches!(action, Action::Decide(d) if d.iter().all(|d| !d.accept));
                if rejects_all {
                    // Rejecting everything ends the transfer at once (docs/rules.md).
                    t.end(TransferStatus::Rejected, now, rules);
                } else if party == Party::Initiator {
                    if matches!(t.management, Management::HandOver { account: None, .. }) {
                        return Err(StepError::UnknownUsername);
                    }
                    t.status = TransferStatus::Open;
                    t.deadline = now + rules.open_for;
                    let mut reminders: Vec<Timestamp> = rules
                        .reminders
                        .iter()
                        .map(|lead| t.deadline - *lead)
                        .filter(|at| *at > now)
                        .collect();
                    reminders.sort();
                    reminders.dedup();
                    t.reminders = reminders;
                    for holder in [Party::CurrentHolder, Party::NewHolder] {
                        let contact = t.contact_mut(holder);
                        (contact.invitations, contact.invited_at) = (1, Some(now));
                    }
                } else if t.steps_taken() && t.hold_until.is_none_or(|h| now >= h) {
                    t.complete(now, rules);
                }
            }
        }
        t.audit.push(AuditEntry {
            at: now,
            party: (!action.by_system()).then_some(party),
            action: action.name(),
            detail,
            request_id: actor.request_id.clone(),
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone(),
            support: actor.support.clone(),
        });
        if let (Some(ended), false) = (AuditAction::ended(t.status), self.status.is_ended()) {
            t.audit.push(AuditEntry {
                at: now,
                party: None,
                action: ended,
                detail: None,
                request_id: actor.request_id.clone(),
                source_ip: actor.source_ip.clone(),
                user_agent: actor.user_agent.clone(),
                support: actor.support.clone(),
            });
        }
        Ok(Applied {
            transfer: t,
            changed: true,
        })
    }

    /// The transfer with one more audit line for something that is not a step of its own
    /// (a code sent, a wrong code).
    pub fn noted(
        &self,
        party: Party,
        action: AuditAction,
        detail: Option<String>,
        now: Timestamp,
        actor: &Actor,
    ) -> Transfer {
        let mut t = self.clone();
        if t.audit.len() >= MAX_AUDIT_ENTRIES - AUDIT_LINES_FOR_STEPS {
            t.audit_omitted = t.audit_omitted.saturating_add(1);
            return t;
        }
        t.audit.push(AuditEntry {
            at: now,
            party: Some(party),
            action,
            detail,
            request_id: actor.request_id.clone(),
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone(),
            support: actor.support.clone(),
        });
        t
    }

    /// Whether a done step is asked again with the same input (a double click, a retry).
    fn repeats(&self, party: Party, action: &Action) -> bool {
        match action {
            Action::Decide(decisions) => {
                decisions.len() == self.items.len()
                    && decisions.iter().all(|d| {
                        self.items
                            .iter()
                            .any(|i| i.item == d.item && decision_of(i, party) == Some(d.accept))
                    })
            }
            Action::Login(account) => self.progress.login_account.as_ref() == Some(account),
            Action::ConfirmHolderData => true,
            Action::AcceptContract(ids) => {
                let mut given: Vec<&str> = ids.iter().map(String::as_str).collect();
                let mut had: Vec<&str> = self
                    .progress
                    .accepted_conditions
                    .iter()
                    .map(|c| c.id.as_str())
                    .collect();
                given.sort_unstable();
                given.dedup();
                had.sort_unstable();
                given == had
            }
            _ => false,
        }
    }

    fn decide(&mut self, party: Party, decisions: &[Decision]) -> Result<String, StepError> {
        for d in decisions {
            if !self.items.iter().any(|i| i.item == d.item) {
                return Err(StepError::Decisions(format!(
                    "{} non fa parte di questa richiesta.",
                    d.item.title()
                )));
            }
            if decisions.iter().filter(|o| o.item == d.item).count() > 1 {
                return Err(StepError::Decisions(format!(
                    "{} {} più di una volta.",
                    d.item.title(),
                    d.item.agrees("indicato", "indicata")
                )));
            }
        }
        // A withdrawn item needs no decision, and one given for it is not kept.
        if let Some(missing) = self
            .items
            .iter()
            .filter(|i| i.outcome != Some(ItemOutcome::Withdrawn))
            .find(|i| !decisions.iter().any(|d| d.item == i.item))
        {
            return Err(StepError::Decisions(format!(
                "Manca la tua decisione per {} {}.",
                missing.item.agrees("il", "la"),
                missing.item.label()
            )));
        }
        for item in self
            .items
            .iter_mut()
            .filter(|i| i.outcome != Some(ItemOutcome::Withdrawn))
        {
            let accept = decisions
                .iter()
                .find(|d| d.item == item.item)
                .map(|d| d.accept);
            match party {
                Party::CurrentHolder => item.current_holder = accept,
                _ => item.new_holder = accept,
            }
        }
        let accepted = decisions.iter().filter(|d| d.accept).count();
        Ok(format!("accettati {accepted} su {}", decisions.len()))
    }

    fn complete(&mut self, now: Timestamp, rules: &Rules) {
        let mut any = false;
        for item in self.items.iter_mut().filter(|i| i.outcome.is_none()) {
            let moved = item.current_holder == Some(true) && item.new_holder == Some(true);
            any |= moved;
            item.outcome = Some(if moved {
                ItemOutcome::Moved
            } else {
                ItemOutcome::Kept
            });
        }
        let status = if any {
            TransferStatus::Completed
        } else {
            TransferStatus::Rejected
        };
        self.end(status, now, rules);
        self.platform = crate::commands::of_completion(self, now);
    }

    fn end(&mut self, status: TransferStatus, now: Timestamp, rules: &Rules) {
        for item in &mut self.items {
            item.outcome.get_or_insert(ItemOutcome::Kept);
        }
        self.status = status;
        self.ended_at = Some(now);
        self.retain_until = Some(self.deadline.max(now) + rules.retention);
    }

    /// Every item was withdrawn: the provider's inventory ended the transfer.
    pub fn all_withdrawn(&self) -> bool {
        self.items
            .iter()
            .all(|i| i.outcome == Some(ItemOutcome::Withdrawn))
    }

    pub fn moved(&self) -> impl Iterator<Item = &ItemRef> {
        self.items
            .iter()
            .filter(|i| i.outcome == Some(ItemOutcome::Moved))
            .map(|i| &i.item)
    }

    fn labels(&self, outcome: Option<ItemOutcome>) -> Vec<String> {
        self.items
            .iter()
            .filter(|i| outcome.is_none() || i.outcome == outcome)
            .map(|i| i.item.label())
            .collect()
    }
}

fn decision_of(item: &TransferItem, party: Party) -> Option<bool> {
    match party {
        Party::CurrentHolder => item.current_holder,
        _ => item.new_holder,
    }
}

fn accept_conditions(
    ids: &[String],
    rules: &Rules,
    now: Timestamp,
) -> Result<Vec<AcceptedCondition>, StepError> {
    if let Some(unknown) = ids
        .iter()
        .find(|id| !rules.conditions.iter().any(|c| &c.id == *id))
    {
        return Err(StepError::UnknownCondition(unknown.clone()));
    }
    let missing: Vec<String> = rules
        .conditions
        .iter()
        .filter(|c| c.required && !ids.contains(&c.id))
        .map(|c| format!("«{}»", c.title))
        .collect();
    if !missing.is_empty() {
        return Err(StepError::MissingConditions(missing.join(", ")));
    }
    Ok(rules
        .conditions
        .iter()
        .filter(|c| ids.contains(&c.id))
        .map(|c| AcceptedCondition {
            id: c.id.clone(),
            version: c.version.clone(),
            at: now,
        })
        .collect())
}

/// What a state change causes beyond the transfer itself: messages and the account's
/// operation entries. Empty for a step that neither opens nor ends the transfer.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub messages: Vec<OutboxMessage>,
    pub operations: Vec<(crate::records::AccountId, Operation)>,
}

/// The effects of going from `before` to `after` (`None` before: a new draft).
pub fn effects(before: Option<&Transfer>, after: &Transfer, now: Timestamp) -> Effects {
    let mut effects = Effects::default();
    let Some(was) = before.map(|b| b.status) else {
        return effects;
    };
    let was = Some(was);
    let holders = [Party::CurrentHolder, Party::NewHolder];
    if was == Some(TransferStatus::Draft) && after.status == TransferStatus::Open {
        for party in holders {
            effects.messages.push(invitation(after, party, now));
        }
        return effects;
    }
    // Items the provider's inventory took out: the initiator is told, and the holders if
    // they were invited; when none is left that is the ending's only notice.
    let withdrawn: Vec<String> = after
        .items
        .iter()
        .filter(|i| i.outcome == Some(ItemOutcome::Withdrawn))
        .filter(|i| {
            before.is_some_and(|b| {
                b.items
                    .iter()
                    .any(|o| o.item == i.item && o.outcome != Some(ItemOutcome::Withdrawn))
            })
        })
        .map(|i| i.item.label())
        .collect();
    if !withdrawn.is_empty() {
        let so_far = after
            .items
            .iter()
            .filter(|i| i.outcome == Some(ItemOutcome::Withdrawn))
            .count();
        let message = Message::Withdrawn {
            items: withdrawn,
            ended: after.status.is_ended(),
        };
        let invited = was == Some(TransferStatus::Open);
        let told = std::iter::once(Party::Initiator).chain(holders.into_iter().filter(|_| invited));
        for party in told {
            let mut notice = OutboxMessage::notice(after, party, message.clone(), now);
            // One notice per withdrawal: the count keeps their ids apart.
            notice.id = format!("{}-{so_far}", notice.id);
            effects.messages.push(notice);
        }
    }
    if !after.status.is_ended() || was.is_some_and(TransferStatus::is_ended) {
        return effects;
    }
    // Holders hear of an ending only if they were invited, that is if the transfer was open.
    let invited = was == Some(TransferStatus::Open);
    let items = after.labels(None);
    let (kind, detail, message) = match after.status {
        TransferStatus::Completed => {
            let moved = after.labels(Some(ItemOutcome::Moved));
            let kept = after.labels(Some(ItemOutcome::Kept));
            let handed_over_to = match &after.management {
                Management::HandOver { username, .. } => Some(username.clone()),
                Management::Keep => None,
            };
            for party in [Party::Initiator, Party::CurrentHolder, Party::NewHolder] {
                effects.messages.push(OutboxMessage::notice(
                    after,
                    party,
                    Message::Confirmation {
                        party,
                        moved: moved.clone(),
                        kept: kept.clone(),
                        handed_over_to: handed_over_to
                            .clone()
                            .filter(|_| party == Party::Initiator),
                    },
                    now,
                ));
            }
            let mailboxes: Vec<String> = after
                .moved()
                .filter(|i| i.kind == ItemKind::Mailbox)
                .map(|i| i.id.clone())
                .collect();
            if !mailboxes.is_empty() {
                effects.messages.push(OutboxMessage::notice(
                    after,
                    Party::NewHolder,
                    Message::PasswordReset {
                        account: after.target_account().clone(),
                        mailboxes,
                        issued_at: reset_issued_at(now),
                        reissued: false,
                    },
                    now,
                ));
            }
            (
                OperationKind::TransferCompleted,
                format!(
                    "Cambio titolare {} completato: {}, {}",
                    after.id.as_str(),
                    crate::text::count(moved.len(), "servizio trasferito", "servizi trasferiti"),
                    crate::text::count(kept.len(), "servizio invariato", "servizi invariati"),
                ),
                None,
            )
        }
        TransferStatus::Rejected => (
            OperationKind::TransferRejected,
            format!("Cambio titolare {} rifiutato", after.id.as_str()),
            Some(Message::Rejection {
                items,
                by: after.rejected_by(),
            }),
        ),
        TransferStatus::Cancelled if after.all_withdrawn() => (
            OperationKind::TransferCancelled,
            format!(
                "Cambio titolare {} chiuso: gli elementi sono stati ritirati dal gestore",
                after.id.as_str()
            ),
            None,
        ),
        TransferStatus::Cancelled => {
            let by_support = after
                .audit
                .iter()
                .rev()
                .find(|a| a.action == AuditAction::Cancelled)
                .is_some_and(|a| a.support.is_some());
            (
                OperationKind::TransferCancelled,
                format!(
                    "Cambio titolare {} annullato {}",
                    after.id.as_str(),
                    if by_support {
                        "dall'assistenza"
                    } else {
                        "dal richiedente"
                    }
                ),
                Some(Message::Cancellation { items, by_support }),
            )
        }
        _ => (
            OperationKind::TransferExpired,
            if invited {
                format!(
                    "Cambio titolare {} scaduto: la pratica è stata annullata",
                    after.id.as_str()
                )
            } else {
                format!(
                    "Cambio titolare {}: bozza non confermata entro 24 ore, annullata",
                    after.id.as_str()
                )
            },
            Some(Message::Expiry {
                items,
                deadline: after.deadline,
                draft: !invited,
            }),
        ),
    };
    // Every ending is told to the initiator; the holders only if they were invited.
    if let Some(message) = message {
        let told = std::iter::once(Party::Initiator).chain(holders.into_iter().filter(|_| invited));
        for party in told {
            effects
                .messages
                .push(OutboxMessage::notice(after, party, message.clone(), now));
        }
    }
    let operation = |account: &crate::records::AccountId| {
        (
            account.clone(),
            Operation {
                id: format!("transfer-{}", after.id.as_str()),
                at: now,
                kind,
                outcome: if after.status == TransferStatus::Completed {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                subject: after.id.as_str().to_owned(),
                detail: detail.clone(),
                request_id: after
                    .audit
                    .last()
                    .map_or_else(String::new, |a| a.request_id.clone()),
            },
        )
    };
    effects.operations.push(operation(&after.account));
    if after.status == TransferStatus::Completed && after.target_account() != &after.account {
        effects.operations.push(operation(after.target_account()));
    }
    effects
}

impl Transfer {
    /// The holder who rejected every item (the step that ends a transfer as rejected).
    pub fn rejected_by(&self) -> Option<Party> {
        [Party::CurrentHolder, Party::NewHolder]
            .into_iter()
            .find(|p| self.items.iter().all(|i| decision_of(i, *p) == Some(false)))
    }

    /// Whether `party`'s SMS code may go to `number`, and whether that is a change from the
    /// number on file (for the new holder, the one the initiator gave), which holds the
    /// request: refused when the policy forbids a change, or when the hold would not end
    /// before the deadline.
    pub fn sms_number(
        &self,
        party: Party,
        number: &crate::values::MobileNumber,
        now: Timestamp,
        rules: &Rules,
    ) -> Result<bool, StepError> {
        if party == Party::Initiator || *number == self.contact(party).mobile {
            return Ok(false);
        }
        let Some(wait) = rules.number_change_hold else {
            return Err(StepError::NumberFixed);
        };
        if now + wait >= self.deadline {
            return Err(StepError::NumberTooLate(crate::text::wait_in_words(
                wait.as_secs(),
            )));
        }
        Ok(true)
    }

    /// The transfer after `party` verified `number`, not the one on file: it completes no
    /// earlier than the policy's wait from now, and the trail says which number, masked.
    pub fn held(
        &self,
        party: Party,
        number: &crate::values::MobileNumber,
        now: Timestamp,
        rules: &Rules,
        actor: &Actor,
    ) -> Transfer {
        let until = now + rules.number_change_hold.unwrap_or_default();
        let mut t = self.clone();
        t.hold_until = Some(t.hold_until.map_or(until, |h| h.max(until)));
        t.audit.push(AuditEntry {
            at: now,
            party: Some(party),
            action: AuditAction::NumberChanged,
            detail: Some(format!(
                "sms a {} invece di {}: il cambio si completa non prima del {}",
                crate::outbox::mask(number.as_str()),
                crate::outbox::mask(self.contact(party).mobile.as_str()),
                crate::moments::rome_time(until)
            )),
            request_id: actor.request_id.clone(),
            source_ip: actor.source_ip.clone(),
            user_agent: actor.user_agent.clone(),
            support: actor.support.clone(),
        });
        t
    }

    /// Whether the wait after a changed number has passed with every step taken, before the
    /// deadline: the transfer is to complete now.
    pub fn hold_ended(&self, now: Timestamp) -> bool {
        self.steps_taken() && self.hold_until.is_some_and(|h| now >= h) && now < self.deadline
    }

    /// An open transfer whose holders have both taken every step: it completes, or waits
    /// for the end of a hold.
    fn steps_taken(&self) -> bool {
        self.status == TransferStatus::Open
            && self.finished(Party::CurrentHolder)
            && self.finished(Party::NewHolder)
    }

    /// Whether `party` stopped the transfer with the link sent after a change of number.
    pub fn stopped_by(&self, party: Party) -> bool {
        let stopped = Action::Stop.name();
        self.audit
            .iter()
            .any(|a| a.party == Some(party) && a.action == stopped)
    }

    /// When the expirer must look at a running request: at its next reminder, at the end of
    /// a hold once every step is taken (always before the deadline), otherwise at its
    /// deadline.
    pub fn due_at(&self) -> Option<Timestamp> {
        if self.status.is_ended() {
            return None;
        }
        let end = self
            .hold_until
            .filter(|_| self.steps_taken())
            .map_or(self.deadline, |h| h.min(self.deadline));
        Some(self.reminders.first().map_or(end, |r| (*r).min(end)))
    }

    /// The account that manages the items once moved.
    pub fn target_account(&self) -> &crate::records::AccountId {
        match &self.management {
            Management::HandOver {
                account: Some(account),
                ..
            } => account,
            // Only a draft has no account yet, and a draft cannot complete.
            Management::HandOver { account: None, .. } | Management::Keep => &self.account,
        }
    }
}

/// What tells a holder at once that their SMS step was verified at another number: an SMS
/// to the number on file and an email to the address on file, each with the stop link.
pub fn number_change_notices(
    t: &Transfer,
    party: Party,
    number: &crate::values::MobileNumber,
    now: Timestamp,
) -> Vec<OutboxMessage> {
    let message = Message::NumberChanged {
        party,
        number: crate::outbox::mask(number.as_str()),
        until: t.hold_until.unwrap_or(now),
    };
    let email = OutboxMessage::notice(t, party, message, now);
    let mut sms = email.clone();
    sms.id = format!("{}-sms", email.id);
    sms.channel = Channel::Sms;
    sms.to = Some(t.contact(party).mobile.as_str().to_owned());
    vec![sms, email]
}

/// The "Gestisci richiesta" email to a holder: who asks, what, the steps left, the deadline,
/// and the link of the contact's current generation. Each one has its own outbox id.
pub fn invitation(t: &Transfer, party: Party, now: Timestamp) -> OutboxMessage {
    let contact = t.contact(party);
    let mut message = OutboxMessage::notice(
        t,
        party,
        Message::Invitation {
            party,
            items: t.labels(None),
            deadline: t.deadline,
            from: t.initiator.name.clone(),
            other: Some(match party {
                Party::NewHolder => t.current_holder_card.name.clone(),
                _ => t.new_holder_card.name.clone(),
            }),
            steps: t.steps_left(party),
            // The new holder logs in with it; the current holder is told that management
            // moves there too.
            username: match (&t.management, party) {
                (
                    Management::HandOver { username, .. },
                    Party::NewHolder | Party::CurrentHolder,
                ) => Some(username.clone()),
                _ => None,
            },
            link: contact.link,
            reminder: false,
        },
        now,
    );
    if contact.invitations > 1 {
        message.id = format!("{}-{}", message.id, contact.invitations);
    }
    message
}

/// The automatic reminder to a holder: the invitation again (same link, same steps left),
/// saying it is a reminder; counted with the invitations, so its id is its own.
pub fn reminder(t: &Transfer, party: Party, now: Timestamp) -> OutboxMessage {
    let mut message = invitation(t, party, now);
    if let Message::Invitation { reminder, .. } = &mut message.message {
        *reminder = true;
    }
    message
}

/// Reset links carry their issue time in whole seconds; the mailbox keeps the same.
pub fn reset_issued_at(now: Timestamp) -> Timestamp {
    Timestamp::from_second(now.as_second()).unwrap_or(now)
}

/// A mailbox as it is after changing holder (docs/rules.md): the new holder must reset the
/// password through the link emailed to them, at the email they verified in the transfer
/// (and every later link goes there too), the access history starts empty, rules and
/// filters stay.
pub fn moved_mailbox(mailbox: &Mailbox, transfer: &Transfer, now: Timestamp) -> Mailbox {
    let verified = transfer.contact(Party::NewHolder);
    Mailbox {
        holder_id: transfer.new_holder_card.id.clone(),
        password_reset_required: true,
        password_reset_issued_at: Some(reset_issued_at(now)),
        password_reset_links: 1,
        moved_by: Some(transfer.id.clone()),
        password_reset_to: Some(crate::records::ResetRecipient {
            email: verified.email.clone(),
            lingua: verified.lingua,
        }),
        access_history: vec![],
        ..mailbox.clone()
    }
}

#[cfg(test)]
mod model_tests;
#[cfg(test)]
pub(crate) mod tests;
