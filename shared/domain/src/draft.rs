//! What a new transfer must satisfy before it is written: items that are active, in service
//! and of one current holder, a new holder that is someone else (of the same fiscal
//! identity, when the provider asks for it), management handed over to another account; and
//! the draft itself. Pure: the caller reads the items, holders and accounts.

use crate::errors::FieldErrors;
use crate::holder::{Holder, HolderId};
use crate::ids::{AccountId, Party, TransferId};
use crate::ports::{ItemLock, ItemState};
use crate::records::ServiceStatus;
use crate::steps::Rules;
use crate::transfer::{
    Actor, AuditAction, Contact, HolderCard, ItemRef, Management, Progress, Transfer, TransferItem,
    TransferStatus,
};
use jiff::Timestamp;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DraftError {
    /// Items not in the account, not active or past their end of service, by field.
    #[error("Alcuni elementi non si possono includere.")]
    Items(FieldErrors),
    #[error(
        "Gli elementi di una richiesta devono avere lo stesso titolare attuale: fai una richiesta per ciascun titolare."
    )]
    MixedHolders,
    #[error("Il nuovo titolare deve essere diverso da quello attuale.")]
    SameHolder,
    #[error(
        "Il nuovo titolare deve avere lo stesso codice fiscale o la stessa partita IVA di quello attuale."
    )]
    FiscalIdentity,
    #[error(
        "È il tuo stesso account: se la gestione resta a te, scegli il profilo titolare che gestisci col tuo username."
    )]
    OwnAccount,
}

impl DraftError {
    /// The transfer field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Items(_) | Self::MixedHolders => "items",
            Self::SameHolder | Self::FiscalIdentity => "new_holder_id",
            Self::OwnAccount => "management.username",
        }
    }
}

/// Why an item cannot go in a new transfer now: the reasons a new transfer is refused for,
/// told beside the item where it is chosen (docs/rules.md, "Eligible items").
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Unavailable {
    /// Suspended, cancelled or lapsed: its status names which.
    NotActive { status: ServiceStatus },
    /// Past its end of service.
    Expired,
    /// In a transfer that has not ended (a draft counts).
    InRequest { transfer: TransferId },
    /// Changed holder recently; a new change is possible from `until` (Rome's date).
    RecentChange { until: jiff::civil::Date },
}

impl Unavailable {
    /// What the item has, checked in this order: its status, its end of service, a lock.
    pub fn of(
        status: ServiceStatus,
        end_of_service: jiff::civil::Date,
        lock: Option<&ItemLock>,
        now: Timestamp,
    ) -> Option<Self> {
        let today = now.to_zoned(jiff::tz::TimeZone::UTC).date();
        if !matches!(status, ServiceStatus::Certificato | ServiceStatus::Attivo) {
            return Some(Self::NotActive { status });
        }
        if end_of_service < today {
            return Some(Self::Expired);
        }
        Self::of_lock(lock?, now)
    }

    /// What a lock alone keeps from a new transfer (`None`: a recent change's lock that has
    /// lapsed).
    pub fn of_lock(lock: &ItemLock, now: Timestamp) -> Option<Self> {
        match lock {
            ItemLock::InRequest { transfer } => Some(Self::InRequest {
                transfer: transfer.clone(),
            }),
            ItemLock::RecentChange { until, .. } if *until > now => Some(Self::RecentChange {
                until: crate::moments::in_rome(*until).date(),
            }),
            ItemLock::RecentChange { .. } => None,
        }
    }

    /// The reason as a phrase after the item's name, agreeing with its noun ("sospesa",
    /// "in una richiesta in corso, n. 6").
    pub fn phrase(&self, item: &ItemRef) -> String {
        match self {
            Self::NotActive { status } => match status {
                ServiceStatus::Sospeso => item.agrees("sospeso", "sospesa").to_owned(),
                ServiceStatus::Disdetto => item.agrees("disdetto", "disdetta").to_owned(),
                _ => item.agrees("scaduto", "scaduta").to_owned(),
            },
            Self::Expired => format!(
                "{} (fine servizio superata)",
                item.agrees("scaduto", "scaduta")
            ),
            Self::InRequest { transfer } => {
                format!("in una richiesta in corso, n. {}", transfer.as_str())
            }
            Self::RecentChange { until } => format!(
                "ha cambiato titolare da poco: un nuovo cambio è possibile dal {}",
                until.strftime("%d/%m/%Y")
            ),
        }
    }
}

impl Unavailable {
    /// The reason as a sentence about the item ("Casella a@pec.it è sospesa.").
    pub fn sentence(&self, item: &ItemRef) -> String {
        match self {
            Self::RecentChange { .. } => format!("{} {}.", item.title(), self.phrase(item)),
            _ => format!("{} è {}.", item.title(), self.phrase(item)),
        }
    }
}

/// The one current holder of `items` (as read: `states[n]` is `items[n]`, `None` when the
/// account has no such item), or why they cannot go in a transfer on `today`.
pub fn current_holder(
    items: &[ItemRef],
    states: &[Option<ItemState>],
    now: Timestamp,
) -> Result<HolderId, DraftError> {
    let mut errors = FieldErrors::default();
    let mut holders = Vec::new();
    for (n, (item, state)) in items.iter().zip(states).enumerate() {
        let field = format!("items[{n}]");
        let (holder, status, end) = match state {
            None => {
                errors.insert(&field, format!("{} non è in questo account.", item.title()));
                continue;
            }
            Some(ItemState::Mailbox(m)) => {
                (&m.value.holder_id, m.value.status, m.value.end_of_service)
            }
            Some(ItemState::Domain(d)) => {
                (&d.value.holder_id, d.value.status, d.value.end_of_service)
            }
        };
        // Locks are the store's to check, in the transaction that takes them.
        if let Some(unavailable) = Unavailable::of(status, end, None, now) {
            errors.insert(&field, unavailable.sentence(item));
        }
        holders.push(holder.clone());
    }
    if !errors.is_empty() {
        return Err(DraftError::Items(errors));
    }
    holders.dedup();
    match &holders[..] {
        [one] => Ok(one.clone()),
        _ => Err(DraftError::MixedHolders),
    }
}

/// Whether `new` may take over from `current` under `rules`.
pub fn check_new_holder(current: &Holder, new: &Holder, rules: &Rules) -> Result<(), DraftError> {
    if new.id == current.id {
        return Err(DraftError::SameHolder);
    }
    if rules.same_fiscal_identity_only && !current.same_fiscal_identity(new) {
        return Err(DraftError::FiscalIdentity);
    }
    Ok(())
}

/// Management handed over to the account of `username`, which must not be the initiator's
/// own (`own`). Whether such an account exists is told only once the initiator verifies
/// (`account: None` until then): a draft is no username oracle (docs/security.md).
pub fn hand_over(own: Option<&str>, username: String) -> Result<Management, DraftError> {
    if own.is_some_and(|own| own.eq_ignore_ascii_case(&username)) {
        return Err(DraftError::OwnAccount);
    }
    Ok(Management::HandOver {
        username,
        account: None,
    })
}

/// What a draft is made of, checked: its items, its parties and who manages the items after.
pub struct Draft<'a> {
    pub id: TransferId,
    pub account: AccountId,
    pub items: &'a [ItemRef],
    pub initiator: Contact,
    pub current: &'a Holder,
    pub new: &'a Holder,
    pub management: Management,
}

impl Draft<'_> {
    /// The new transfer: a draft until the initiator verifies, with its first trail line.
    pub fn transfer(self, now: Timestamp, rules: &Rules, actor: &Actor) -> Transfer {
        let t = Transfer {
            id: self.id,
            account: self.account,
            status: TransferStatus::Draft,
            created_at: now,
            deadline: now + rules.draft_for,
            initiator: self.initiator,
            current_holder: Contact::of(self.current),
            new_holder: Contact::of(self.new),
            current_holder_card: HolderCard::of(self.current),
            new_holder_card: HolderCard::of(self.new),
            management: self.management,
            items: self
                .items
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
            reminders: Vec::new(),
            platform: Vec::new(),
        };
        let detail = match self.items.len() {
            1 => "1 elemento".to_owned(),
            n => format!("{n} elementi"),
        };
        t.noted(
            Party::Initiator,
            AuditAction::Created,
            Some(detail),
            now,
            actor,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::Versioned;
    use crate::records::Mailbox;
    use crate::transfer::ItemKind;

    fn mailbox(address: &str, holder: &str, status: &str, end: &str) -> Option<ItemState> {
        let value: Mailbox = serde_json::from_value(serde_json::json!({
            "address": address, "holder_id": holder, "status": status, "kind": "Standard",
            "inbox_gb": 1, "inbox_extra_gb": 0, "archive_gb": null, "end_of_service": end,
            "requested_on": "2026-01-01", "certified_on": null, "cancelled_on": null,
            "renewal": "Manuale", "duration": "1 Anno", "cliente_finale": false,
            "password_reset_required": false, "access_history": [], "rules": [],
        }))
        .unwrap();
        Some(ItemState::Mailbox(Versioned { value, version: 1 }))
    }

    fn refs(addresses: &[&str]) -> Vec<ItemRef> {
        addresses
            .iter()
            .map(|a| ItemRef::parse(ItemKind::Mailbox, a).unwrap())
            .collect()
    }

    #[test]
    fn items_of_one_holder_in_service_make_a_draft() {
        let today: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let two = refs(&["a@pec.it", "b@pec.it"]);
        let fine = [
            mailbox("a@pec.it", "19", "Attivo", "2027-01-01"),
            mailbox("b@pec.it", "19", "Certificato", "2026-12-04"),
        ];
        assert_eq!(
            current_holder(&two, &fine, today),
            Ok(HolderId::parse("19").unwrap())
        );
        let mixed = [
            fine[0].clone(),
            mailbox("b@pec.it", "20", "Attivo", "2027-01-01"),
        ];
        assert_eq!(
            current_holder(&two, &mixed, today),
            Err(DraftError::MixedHolders)
        );
        let bad = [
            mailbox("a@pec.it", "19", "Sospeso", "2027-01-01"),
            mailbox("b@pec.it", "19", "Attivo", "2026-12-03"),
        ];
        let Err(DraftError::Items(errors)) = current_holder(&two, &bad, today) else {
            panic!("refused item by item")
        };
        let text = format!("{errors:?}");
        assert!(
            text.contains("items[0]") && text.contains("items[1]"),
            "{text}"
        );
        assert!(text.contains("La casella a@pec.it è sospesa."), "{text}");
        let Err(DraftError::Items(missing)) = current_holder(&two, &[fine[0].clone(), None], today)
        else {
            panic!("a missing item is named")
        };
        assert!(format!("{missing:?}").contains("non è in questo account"));
    }

    /// The wizard's reasons, in the order they are checked, each agreeing with its noun.
    #[test]
    fn an_unavailable_item_says_why() {
        let now: Timestamp = "2026-12-04T10:00:00Z".parse().unwrap();
        let end = jiff::civil::date(2027, 1, 1);
        let mailbox = ItemRef::parse(ItemKind::Mailbox, "a@pec.it").unwrap();
        let domain = ItemRef::parse(ItemKind::Domain, "esempio.it").unwrap();
        let busy = ItemLock::InRequest {
            transfer: TransferId::from_number(6),
        };
        assert_eq!(Unavailable::of(ServiceStatus::Attivo, end, None, now), None);
        let suspended = Unavailable::of(ServiceStatus::Sospeso, end, Some(&busy), now).unwrap();
        assert_eq!(suspended.phrase(&mailbox), "sospesa");
        assert_eq!(suspended.phrase(&domain), "sospeso");
        let held = Unavailable::of(ServiceStatus::Certificato, end, Some(&busy), now).unwrap();
        assert_eq!(
            held.sentence(&domain),
            "Il dominio esempio.it è in una richiesta in corso, n. 6."
        );
        let lapsed = jiff::civil::date(2026, 12, 3);
        assert_eq!(
            Unavailable::of(ServiceStatus::Attivo, lapsed, Some(&busy), now),
            Some(Unavailable::Expired)
        );
        let recent = |until: &str| ItemLock::RecentChange {
            transfer: TransferId::from_number(5),
            until: until.parse().unwrap(),
        };
        let later = Unavailable::of(
            ServiceStatus::Attivo,
            end,
            Some(&recent("2026-12-10T23:30:00Z")),
            now,
        )
        .unwrap();
        // Rome's date: half past midnight on the 11th.
        assert_eq!(
            later.sentence(&mailbox),
            "La casella a@pec.it ha cambiato titolare da poco: un nuovo cambio è possibile dal 11/12/2026."
        );
        assert_eq!(
            Unavailable::of(
                ServiceStatus::Attivo,
                end,
                Some(&recent("2026-12-04T09:00:00Z")),
                now
            ),
            None,
            "a lapsed lock holds nothing"
        );
    }

    #[test]
    fn management_goes_to_another_account_only() {
        assert_eq!(
            hand_over(Some("Demo"), "demo".into()),
            Err(DraftError::OwnAccount)
        );
        assert_eq!(DraftError::OwnAccount.field(), "management.username");
        assert_eq!(
            hand_over(Some("demo"), "demo2".into()),
            Ok(Management::HandOver {
                username: "demo2".into(),
                account: None
            })
        );
    }
}
