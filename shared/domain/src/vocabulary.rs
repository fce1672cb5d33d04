//! The words people read for the domain's codes, in each language: a step (a name for lists,
//! an instruction for invitations), a party, a status, a tipo and each holder field. One
//! table per code, read by the texts (`titolare_messaging`) and, through the API's
//! `vocabulary`, by the panel, which keeps no copy (docs/rules.md).

use crate::holder::{Field, Lingua, Tipo};
use crate::ids::Party;
use crate::transfer::{AuditAction, ItemKind, ItemOutcome, Step, TransferStatus};
use serde::Serialize;

/// A word in each language.
struct Words {
    it: &'static str,
    en: &'static str,
}

impl Words {
    fn get(&self, lingua: Lingua) -> &'static str {
        match lingua {
            Lingua::It => self.it,
            Lingua::En => self.en,
        }
    }
}

const fn w(it: &'static str, en: &'static str) -> Words {
    Words { it, en }
}

/// Every step, in the order the table lists them.
const STEPS: [Step; 6] = [
    Step::Decisions,
    Step::Login,
    Step::HolderData,
    Step::Contract,
    Step::Sms,
    Step::Email,
];

impl Step {
    /// Every step, in the order of the table.
    pub fn all() -> impl Iterator<Item = Step> {
        STEPS.into_iter()
    }

    /// The step's row: its name in a list of steps, and the instruction an invitation gives
    /// (`{username}` is the login's). A new step does not compile until it has its row.
    fn words(self) -> (Words, Words) {
        match self {
            Step::Decisions => (
                w(
                    "Accettazione o rifiuto degli elementi",
                    "Accepting or rejecting the items",
                ),
                w(
                    "accetta o rifiuta il cambio per ciascun servizio",
                    "accept or reject the change for each service",
                ),
            ),
            Step::Login => (
                w(
                    "Accesso con lo username indicato",
                    "Logging in with the named username",
                ),
                w(
                    "accedi all'area clienti con lo username {username}",
                    "log in to the customer area as {username}",
                ),
            ),
            Step::HolderData => (
                w("Conferma dei dati titolare", "Confirming the holder data"),
                w(
                    "conferma i dati del nuovo titolare",
                    "confirm the new holder's data",
                ),
            ),
            Step::Contract => (
                w(
                    "Accettazione delle condizioni contrattuali",
                    "Accepting the contract conditions",
                ),
                w(
                    "accetta le condizioni contrattuali",
                    "accept the contract conditions",
                ),
            ),
            Step::Sms => (
                w(
                    "Verifica del numero di cellulare",
                    "Verifying the mobile number",
                ),
                w(
                    "verifica il tuo cellulare con il codice che riceverai via SMS",
                    "verify your mobile with the code you will receive by SMS",
                ),
            ),
            Step::Email => (
                w(
                    "Verifica dell'indirizzo email",
                    "Verifying the email address",
                ),
                w(
                    "verifica il tuo indirizzo email con il codice che riceverai via email",
                    "verify your email address with the code you will receive by email",
                ),
            ),
        }
    }

    /// The step's name in a list of steps ("Verifica del numero di cellulare").
    pub fn label(self, lingua: Lingua) -> &'static str {
        self.words().0.get(lingua)
    }

    /// What an invitation tells the party to do; the login names the username to use.
    pub fn instruction(self, lingua: Lingua, username: Option<&str>) -> String {
        let unnamed = match lingua {
            Lingua::It => "indicato dal richiedente",
            Lingua::En => "the username the requester named",
        };
        self.words()
            .1
            .get(lingua)
            .replace("{username}", username.unwrap_or(unnamed))
    }
}

impl Party {
    /// The party as a heading or a column names it ("Attuale titolare").
    pub fn label(self, lingua: Lingua) -> &'static str {
        match self {
            Party::Initiator => w("Richiedente", "Requester"),
            Party::CurrentHolder => w("Attuale titolare", "Current holder"),
            Party::NewHolder => w("Nuovo titolare", "New holder"),
        }
        .get(lingua)
    }
}

impl TransferStatus {
    /// The status as the panel shows it.
    pub fn label(self, lingua: Lingua) -> &'static str {
        match self {
            Self::Draft => w(
                "Bozza: da confermare con il codice SMS",
                "Draft: to be confirmed with the SMS code",
            ),
            Self::Open => w("In corso", "Open"),
            Self::Completed => w("Completata", "Completed"),
            Self::Rejected => w("Rifiutata", "Rejected"),
            Self::Cancelled => w("Annullata", "Cancelled"),
            Self::Expired => w("Scaduta", "Expired"),
        }
        .get(lingua)
    }

    pub const ALL: [TransferStatus; 6] = [
        Self::Draft,
        Self::Open,
        Self::Completed,
        Self::Rejected,
        Self::Cancelled,
        Self::Expired,
    ];
}

impl ItemKind {
    /// What the item is, as a table's column names it ("Casella PEC").
    pub fn label(self, lingua: Lingua) -> &'static str {
        match self {
            ItemKind::Mailbox => w("Casella PEC", "PEC mailbox"),
            ItemKind::Domain => w("Dominio", "Domain"),
        }
        .get(lingua)
    }
}

impl ItemOutcome {
    /// Where an item ended up once the transfer ended.
    pub fn label(self, lingua: Lingua) -> &'static str {
        match self {
            ItemOutcome::Moved => w("Trasferito al nuovo titolare", "Moved to the new holder"),
            ItemOutcome::Kept => w("Rimasto all'attuale titolare", "Kept by the current holder"),
            ItemOutcome::Withdrawn => w(
                "Ritirato dal gestore: non fa più parte della richiesta",
                "Withdrawn by the provider: no longer in the request",
            ),
        }
        .get(lingua)
    }
}

/// A holder's answer on an item: accepted, rejected, or not given yet.
#[derive(Debug, Clone, Serialize)]
pub struct DecisionWords {
    pub accepted: &'static str,
    pub rejected: &'static str,
    pub pending: &'static str,
}

impl AuditAction {
    /// The line as the transfer's trail shows it ("Cellulare verificato").
    pub fn label(self, lingua: Lingua) -> &'static str {
        use AuditAction::*;
        match self {
            Created => w("Richiesta creata", "Request created"),
            CodeSent => w("Codice inviato", "Code sent"),
            CodeRefused => w("Codice errato", "Wrong code"),
            SmsVerified => w("Cellulare verificato", "Mobile verified"),
            EmailVerified => w("Email verificata", "Email verified"),
            Decisions => w(
                "Accettazione o rifiuto degli elementi",
                "Items accepted or rejected",
            ),
            Login => w(
                "Accesso con lo username indicato",
                "Logged in with the named username",
            ),
            HolderDataConfirmed => w("Dati titolare confermati", "Holder data confirmed"),
            ContractAccepted => w(
                "Condizioni contrattuali accettate",
                "Contract conditions accepted",
            ),
            InvitationSent => w("Invito inviato di nuovo", "Invitation sent again"),
            ReminderSent => w(
                "Promemoria automatico prima della scadenza",
                "Automatic reminder before the deadline",
            ),
            InvitationUndelivered => w("Invito non consegnato", "Invitation not delivered"),
            SupportRead => w("Consultata dall'assistenza", "Read by support"),
            SupportUnblocked => w(
                "Nuovi invii di codici concessi dall'assistenza",
                "New code sends granted by support",
            ),
            ContactCorrected => w("Contatti corretti", "Contacts corrected"),
            NumberChanged => w(
                "Cellulare verificato con un altro numero",
                "Mobile verified with another number",
            ),
            Stopped => w(
                "Richiesta bloccata dal titolare",
                "Request stopped by the holder",
            ),
            HoldEnded => w(
                "Attesa dopo il cambio di numero conclusa",
                "Wait after the number change over",
            ),
            Cancelled => w("Annullata dal richiedente", "Cancelled by the requester"),
            Expired => w("Scadenza passata", "Deadline passed"),
            ItemWithdrawn => w(
                "Elemento ritirato dal gestore",
                "Item withdrawn by the provider",
            ),
            EndedCompleted => w("Richiesta completata", "Request completed"),
            EndedRejected => w("Richiesta rifiutata", "Request rejected"),
            EndedCancelled => w("Richiesta annullata", "Request cancelled"),
            EndedExpired => w("Richiesta scaduta", "Request expired"),
        }
        .get(lingua)
    }
}

impl Tipo {
    /// The tipo as the holder form's choice names it ("Azienda/Ditta Individuale").
    pub fn choice(self, lingua: Lingua) -> &'static str {
        match self {
            Tipo::Azienda => w("Azienda/Ditta Individuale", "Company/Sole proprietorship"),
            Tipo::Privato => w("Privato", "Private individual"),
            Tipo::LiberoProfessionista => w("Libero Professionista", "Self-employed professional"),
        }
        .get(lingua)
    }

    /// The order the holder form offers them in.
    pub const CHOICES: [Tipo; 3] = [Tipo::Azienda, Tipo::Privato, Tipo::LiberoProfessionista];

    /// The fields a profile of this tipo is drawn with, in order: its own identity, then its
    /// address and contacts. The language is a choice drawn apart; an azienda's legal
    /// representative (optional) is not on its form.
    pub fn form_fields(self) -> impl Iterator<Item = Field> {
        let representative = self == Tipo::Azienda;
        self.allowed().iter().copied().filter(move |f| {
            *f != Field::Lingua
                && !(representative
                    && matches!(f, Field::Nome | Field::Cognome | Field::CodiceFiscale))
        })
    }
}

impl Field {
    /// The field's label on the holder form ("Codice Fiscale Azienda").
    pub fn label(self, lingua: Lingua) -> &'static str {
        match self {
            Field::Tipo => w("Tipo Titolare", "Holder type"),
            Field::Nome => w("Nome", "First name"),
            Field::Cognome => w("Cognome", "Surname"),
            Field::CodiceFiscale => w("Codice Fiscale", "Codice fiscale"),
            Field::RagioneSociale => w("Ragione Sociale", "Company name"),
            Field::PartitaIva => w("Partita Iva", "VAT number"),
            Field::CodiceFiscaleAzienda => w("Codice Fiscale Azienda", "Company codice fiscale"),
            Field::Indirizzo => w("Indirizzo", "Address"),
            Field::Cap => w("Cap", "Postcode"),
            Field::Nazione => w("Nazione", "Country"),
            Field::Provincia => w("Provincia", "Province"),
            Field::Comune => w("Comune", "Municipality"),
            Field::Telefono => w("Telefono", "Telephone"),
            Field::Cellulare => w("Cellulare", "Mobile"),
            Field::Fax => w("Fax", "Fax"),
            Field::Email => w("Email", "Email"),
            Field::Lingua => w("Lingua delle comunicazioni", "Language of messages"),
        }
        .get(lingua)
    }
}

/// Everything above in one language, as the API sends it to the panel.
#[derive(Debug, Clone, Serialize)]
pub struct Vocabulary {
    pub lingua: Lingua,
    /// Every step's name, by code.
    pub steps: std::collections::BTreeMap<Step, &'static str>,
    pub statuses: std::collections::BTreeMap<TransferStatus, &'static str>,
    pub parties: std::collections::BTreeMap<Party, &'static str>,
    /// Each line of a transfer's trail, by action.
    pub audit: std::collections::BTreeMap<AuditAction, &'static str>,
    pub item_kinds: std::collections::BTreeMap<ItemKind, &'static str>,
    pub outcomes: std::collections::BTreeMap<ItemOutcome, &'static str>,
    pub decisions: DecisionWords,
    /// Where the mail platform stands with a moved item (`ItemPlatform`'s status).
    pub platform: std::collections::BTreeMap<&'static str, &'static str>,
    /// Each tipo, in the form's order, with the fields of its form in order.
    pub tipi: Vec<TipoForm>,
    /// The labels of the fields every form shares (`id` is the profile's identifier).
    pub labels: std::collections::BTreeMap<&'static str, &'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TipoForm {
    pub tipo: Tipo,
    pub label: &'static str,
    pub fields: Vec<FormField>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FormField {
    pub name: &'static str,
    pub label: &'static str,
    pub required: bool,
}

impl Vocabulary {
    /// The vocabulary of `lingua`, built once per process (every party view carries it).
    pub fn of(lingua: Lingua) -> &'static Self {
        static IT: std::sync::LazyLock<Vocabulary> =
            std::sync::LazyLock::new(|| Vocabulary::build(Lingua::It));
        static EN: std::sync::LazyLock<Vocabulary> =
            std::sync::LazyLock::new(|| Vocabulary::build(Lingua::En));
        match lingua {
            Lingua::It => &IT,
            Lingua::En => &EN,
        }
    }

    fn build(lingua: Lingua) -> Self {
        let tipi = Tipo::CHOICES
            .iter()
            .map(|&tipo| TipoForm {
                tipo,
                label: tipo.choice(lingua),
                fields: tipo
                    .form_fields()
                    .map(|f| FormField {
                        name: f.as_str(),
                        label: f.label(lingua),
                        required: tipo.required().contains(&f),
                    })
                    .collect(),
            })
            .collect();
        let id = match lingua {
            Lingua::It => "Id Titolare",
            Lingua::En => "Holder id",
        };
        // The request fields an error may name that no form shows as such: a page says
        // these words, never the field's code (`items`, `accepted`).
        let request_fields: &[(&'static str, &'static str, &'static str)] = &[
            ("items", "Elementi", "Items"),
            ("new_holder_id", "Nuovo titolare", "New holder"),
            ("new_holder", "Nuovo titolare", "New holder"),
            (
                "username",
                "Username dell'account che gestirà gli elementi",
                "Username of the managing account",
            ),
            ("management", "Gestione", "Management"),
            ("mode", "Gestione", "Management"),
            ("code", "Codice di verifica", "Verification code"),
            ("channel", "Canale del codice", "Code channel"),
            ("accepted", "Condizioni contrattuali", "Contract conditions"),
            ("decisions", "Scelte sugli elementi", "Choices on the items"),
            ("confirm", "Conferma dei dati", "Data confirmation"),
            ("password", "Nuova password", "New password"),
            ("party", "Titolare", "Holder"),
            ("mobile", "Cellulare", "Mobile"),
            ("mailbox", "Casella", "Mailbox"),
            (
                "allow_duplicate",
                "Secondo profilo dello stesso titolare",
                "Second profile of the same holder",
            ),
            ("cursor", "Pagina", "Page"),
            ("page_size", "Righe per pagina", "Rows per page"),
            ("holder_id", "ID titolare", "Holder id"),
            ("request", "Richiesta", "Request"),
        ];
        Self {
            lingua,
            steps: Step::all().map(|s| (s, s.label(lingua))).collect(),
            statuses: TransferStatus::ALL
                .iter()
                .map(|&s| (s, s.label(lingua)))
                .collect(),
            parties: [Party::Initiator, Party::CurrentHolder, Party::NewHolder]
                .into_iter()
                .map(|p| (p, p.label(lingua)))
                .collect(),
            audit: AuditAction::ALL
                .iter()
                .map(|&a| (a, a.label(lingua)))
                .collect(),
            item_kinds: [ItemKind::Mailbox, ItemKind::Domain]
                .into_iter()
                .map(|k| (k, k.label(lingua)))
                .collect(),
            outcomes: [
                ItemOutcome::Moved,
                ItemOutcome::Kept,
                ItemOutcome::Withdrawn,
            ]
            .into_iter()
            .map(|o| (o, o.label(lingua)))
            .collect(),
            decisions: match lingua {
                Lingua::It => DecisionWords {
                    accepted: "Accettato",
                    rejected: "Rifiutato",
                    pending: "In attesa",
                },
                Lingua::En => DecisionWords {
                    accepted: "Accepted",
                    rejected: "Rejected",
                    pending: "Pending",
                },
            },
            platform: match lingua {
                Lingua::It => [
                    ("waiting", "In attesa del sistema di posta"),
                    ("applied", "Applicato dal sistema di posta"),
                    (
                        "refused",
                        "Non applicato dal sistema di posta: l'assistenza è stata avvisata",
                    ),
                ],
                Lingua::En => [
                    ("waiting", "Waiting for the mail system"),
                    ("applied", "Applied by the mail system"),
                    (
                        "refused",
                        "Not applied by the mail system: support has been told",
                    ),
                ],
            }
            .into_iter()
            .collect(),
            tipi,
            labels: std::iter::once(("id", id))
                .chain(
                    request_fields.iter().map(|(name, it, en)| {
                        (*name, if lingua == Lingua::En { *en } else { *it })
                    }),
                )
                .chain(Field::ALL.iter().map(|f| (f.as_str(), f.label(lingua))))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_step_has_its_words_in_every_language() {
        for step in Step::all() {
            for lingua in [Lingua::It, Lingua::En] {
                assert!(!step.label(lingua).is_empty());
                assert!(!step.instruction(lingua, None).contains('{'));
            }
        }
        assert_eq!(Step::all().count(), 6);
        assert!(
            Step::Login
                .instruction(Lingua::It, Some("rivenditore"))
                .ends_with("lo username rivenditore")
        );
    }

    #[test]
    fn a_form_lists_the_fields_its_tipo_allows_in_order() {
        let v = Vocabulary::of(Lingua::It);
        let privato = v.tipi.iter().find(|t| t.tipo == Tipo::Privato).unwrap();
        let names: Vec<_> = privato.fields.iter().map(|f| f.name).collect();
        assert_eq!(&names[..3], ["nome", "cognome", "codice_fiscale"]);
        assert!(
            privato
                .fields
                .iter()
                .any(|f| f.name == "email" && f.required)
        );
        assert!(
            privato
                .fields
                .iter()
                .any(|f| f.name == "fax" && !f.required)
        );
        assert_eq!(v.labels["codice_fiscale_azienda"], "Codice Fiscale Azienda");
        let azienda = v.tipi.iter().find(|t| t.tipo == Tipo::Azienda).unwrap();
        let names: Vec<_> = azienda.fields.iter().map(|f| f.name).collect();
        assert_eq!(
            names,
            [
                "ragione_sociale",
                "partita_iva",
                "codice_fiscale_azienda",
                "indirizzo",
                "cap",
                "nazione",
                "provincia",
                "comune",
                "telefono",
                "cellulare",
                "fax",
                "email"
            ]
        );
    }
}
