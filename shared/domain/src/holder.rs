//! Holder profiles ("titolari"): which fields each tipo needs, how input becomes a valid
//! holder, and which fields are fixed once it exists (docs/rules.md).

use crate::errors::FieldErrors;
use crate::values::*;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tipo {
    Privato,
    LiberoProfessionista,
    Azienda,
}

impl Tipo {
    /// In any case, with a space or a hyphen for the underscore ("Libero professionista").
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let id: String = input
            .trim()
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_lowercase(),
            })
            .collect();
        match id.as_str() {
            "privato" => Ok(Self::Privato),
            "libero_professionista" => Ok(Self::LiberoProfessionista),
            "azienda" => Ok(Self::Azienda),
            _ => Err("Tipo non valido: scegli privato, libero professionista o azienda."),
        }
    }

    /// How a person reads the tipo.
    pub fn label(self) -> &'static str {
        match self {
            Self::Privato => "privato",
            Self::LiberoProfessionista => "libero professionista",
            Self::Azienda => "azienda",
        }
    }

    /// A privato and a libero professionista are natural persons; an azienda is not
    /// (only a holder that is not a natural person confirms the holder data: docs/rules.md).
    pub fn is_natural_person(self) -> bool {
        self != Self::Azienda
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Privato => "privato",
            Self::LiberoProfessionista => "libero_professionista",
            Self::Azienda => "azienda",
        }
    }

    /// Fields this tipo may carry besides tipo itself.
    pub fn allowed(self) -> &'static [Field] {
        use Field::*;
        match self {
            Self::Privato => &[
                Nome,
                Cognome,
                CodiceFiscale,
                Indirizzo,
                Cap,
                Nazione,
                Provincia,
                Comune,
                Telefono,
                Cellulare,
                Fax,
                Email,
                Lingua,
            ],
            Self::LiberoProfessionista => &[
                Nome,
                Cognome,
                CodiceFiscale,
                PartitaIva,
                Indirizzo,
                Cap,
                Nazione,
                Provincia,
                Comune,
                Telefono,
                Cellulare,
                Fax,
                Email,
                Lingua,
            ],
            // Nome, cognome and codice fiscale of an azienda are its legal representative's.
            Self::Azienda => &[
                RagioneSociale,
                PartitaIva,
                CodiceFiscaleAzienda,
                Nome,
                Cognome,
                CodiceFiscale,
                Indirizzo,
                Cap,
                Nazione,
                Provincia,
                Comune,
                Telefono,
                Cellulare,
                Fax,
                Email,
                Lingua,
            ],
        }
    }

    /// Fields that must be present (provincia too, for an Italian address).
    pub fn required(self) -> &'static [Field] {
        use Field::*;
        match self {
            Self::Privato => &[
                Nome,
                Cognome,
                CodiceFiscale,
                Indirizzo,
                Cap,
                Comune,
                Cellulare,
                Email,
            ],
            Self::LiberoProfessionista => &[
                Nome,
                Cognome,
                CodiceFiscale,
                PartitaIva,
                Indirizzo,
                Cap,
                Comune,
                Cellulare,
                Email,
            ],
            Self::Azienda => &[
                RagioneSociale,
                PartitaIva,
                CodiceFiscaleAzienda,
                Indirizzo,
                Cap,
                Comune,
                Cellulare,
                Email,
            ],
        }
    }

    /// Fields that can no longer change once the holder exists (docs/rules.md); tipo never can.
    pub fn fixed(self) -> &'static [Field] {
        use Field::*;
        match self {
            Self::Privato => &[Tipo, Nome, Cognome, CodiceFiscale],
            Self::LiberoProfessionista => &[Tipo, Nome, Cognome, CodiceFiscale, PartitaIva],
            Self::Azienda => &[Tipo, PartitaIva],
        }
    }

    /// Fields a page may offer for editing.
    pub fn editable(self) -> Vec<Field> {
        let fixed = self.fixed();
        self.allowed()
            .iter()
            .copied()
            .filter(|f| !fixed.contains(f))
            .collect()
    }
}

macro_rules! fields {
    ($($variant:ident => $name:literal),* $(,)?) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field { $($variant),* }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant),*];
            pub fn as_str(self) -> &'static str {
                match self { $(Field::$variant => $name),* }
            }
            pub fn from_name(name: &str) -> Option<Self> {
                match name { $($name => Some(Field::$variant),)* _ => None }
            }
        }

        /// A holder as sent by a client: every field absent, null or a string. Unknown
        /// fields are refused rather than ignored, so a typo is not silently lost.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct HolderFields {
            $(#[serde(default, rename = $name, deserialize_with = "present")] pub $variant: Option<Option<String>>,)*
        }

        impl HolderFields {
            /// (field, Some(value) to set or None to clear) for each field the input names.
            pub fn entries(&self) -> Vec<(Field, Option<&str>)> {
                let mut out = Vec::new();
                $(if let Some(v) = &self.$variant { out.push((Field::$variant, v.as_deref())); })*
                out
            }
        }
    };
}

#[allow(non_snake_case)]
mod fields_def {
    use super::*;
    fields! {
        Tipo => "tipo", Nome => "nome", Cognome => "cognome", CodiceFiscale => "codice_fiscale",
        RagioneSociale => "ragione_sociale", PartitaIva => "partita_iva",
        CodiceFiscaleAzienda => "codice_fiscale_azienda", Indirizzo => "indirizzo", Cap => "cap",
        Nazione => "nazione", Provincia => "provincia", Comune => "comune", Telefono => "telefono",
        Cellulare => "cellulare", Fax => "fax", Email => "email", Lingua => "lingua",
    }
}
pub use fields_def::{Field, HolderFields};

/// Distinguishes an absent field (None) from an explicit null (Some(None)).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Identifier of a holder profile: digits, as the customer area shows them ("19", "963300").
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HolderId(String);

impl HolderId {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let id = input.trim();
        if id.is_empty()
            || id.len() > 12
            || !id.bytes().all(|b| b.is_ascii_digit())
            || id.starts_with('0')
        {
            return Err("Identificativo del titolare non valido: sono ammesse solo cifre.");
        }
        Ok(Self(id.to_owned()))
    }

    pub fn from_number(n: u64) -> Self {
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for HolderId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<HolderId> for String {
    fn from(value: HolderId) -> Self {
        value.0
    }
}

/// Language of the texts a holder receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Lingua {
    #[default]
    It,
    En,
}

/// A valid holder profile. It serialises to, and parses from, the same flat JSON object
/// the API speaks (`id`, `tipo` and the fields that are set).
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub id: HolderId,
    pub tipo: Tipo,
    pub nome: Option<PersonName>,
    pub cognome: Option<PersonName>,
    pub codice_fiscale: Option<CodiceFiscale>,
    pub ragione_sociale: Option<TextField>,
    pub partita_iva: Option<PartitaIva>,
    pub codice_fiscale_azienda: Option<CodiceFiscaleAzienda>,
    pub indirizzo: TextField,
    pub cap: Cap,
    pub nazione: Nazione,
    pub provincia: Option<Provincia>,
    /// Official ISTAT name for an Italian address.
    pub comune: String,
    pub telefono: Option<PhoneNumber>,
    pub cellulare: MobileNumber,
    pub fax: Option<PhoneNumber>,
    pub email: EmailAddress,
    pub lingua: Lingua,
}

/// What an update was refused for.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UpdateError {
    #[error("Campi non modificabili.")]
    Fixed(FieldErrors),
    #[error("Dati non validi.")]
    Invalid(FieldErrors),
}

/// How a phone field given as input is read: by the numbering rules, or (where holders are
/// only read back from the store) never. A type, not a flag, so a function that only reads
/// stored holders does not link the numbering rules at all.
trait PhoneReading {
    fn phone(input: &str) -> Result<PhoneNumber, crate::values::PhoneError>;
    fn mobile(input: &str) -> Result<MobileNumber, crate::values::PhoneError>;
}

/// Input from a person: parsed.
struct ParseInput;

impl PhoneReading for ParseInput {
    fn phone(input: &str) -> Result<PhoneNumber, crate::values::PhoneError> {
        PhoneNumber::parse(input)
    }
    fn mobile(input: &str) -> Result<MobileNumber, crate::values::PhoneError> {
        MobileNumber::parse(input)
    }
}

/// A stored holder, whose every field is read as written (`Check::Stored`).
struct StoredOnly;

impl PhoneReading for StoredOnly {
    fn phone(input: &str) -> Result<PhoneNumber, crate::values::PhoneError> {
        PhoneNumber::stored(input)
    }
    fn mobile(input: &str) -> Result<MobileNumber, crate::values::PhoneError> {
        MobileNumber::stored(input)
    }
}

/// How strictly reference data is checked: stored holders keep a comune that ISTAT has
/// since merged away, new input does not.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Check {
    Input,
    Stored,
    /// An update: the fields it changes are new input, the others keep what was stored.
    Changed(Vec<Field>),
}

impl Check {
    fn is_input(&self, field: Field) -> bool {
        match self {
            Self::Input => true,
            Self::Stored => false,
            Self::Changed(fields) => fields.contains(&field),
        }
    }
}

impl Holder {
    /// The codes that name the fiscal subject and that no update can change: the codice
    /// fiscale of a person (and a libero professionista's partita IVA), an azienda's partita
    /// IVA. Never an azienda's legal representative's codice fiscale nor its codice fiscale
    /// azienda, which the account may edit (docs/security.md).
    pub fn identity_codes(&self) -> Vec<&str> {
        let fixed = self.tipo.fixed();
        let mut codes = Vec::new();
        if fixed.contains(&Field::CodiceFiscale) {
            codes.extend(self.codice_fiscale.as_ref().map(|c| c.as_str()));
        }
        if fixed.contains(&Field::PartitaIva) {
            codes.extend(self.partita_iva.as_ref().map(|p| p.as_str()));
        }
        codes
    }

    /// Whether two profiles are the same fiscal subject, by their fixed identity codes (the
    /// `SameFiscalIdentityOnly` policy).
    pub fn same_fiscal_identity(&self, other: &Holder) -> bool {
        let theirs = other.identity_codes();
        self.identity_codes().iter().any(|c| theirs.contains(c))
    }

    /// Builds a new holder from client input.
    pub fn create(id: HolderId, input: &HolderFields) -> Result<Self, FieldErrors> {
        let values = input
            .entries()
            .into_iter()
            .filter_map(|(f, v)| v.map(|v| (f, v.to_owned())))
            .collect();
        Self::from_values::<ParseInput>(id, &values, Check::Input)
    }

    /// Applies a partial update (absent: unchanged, null: cleared). Refused as a whole when
    /// it would change a fixed field, naming each one.
    pub fn update(&self, patch: &HolderFields) -> Result<(Self, Vec<Field>), UpdateError> {
        let current = self.values();
        let mut values = current.clone();
        let mut fixed = FieldErrors::default();
        for (field, value) in patch.entries() {
            if self.tipo.fixed().contains(&field) {
                // A fixed field sent again however written (case, accents, spacing, as the
                // search compares) is no change: the stored spelling stays.
                let unchanged = match (value, current.get(&field)) {
                    (Some(v), Some(stored)) => same_value(field, v, stored),
                    (None, None) => true,
                    _ => false,
                };
                if !unchanged {
                    fixed.insert(
                        field.as_str(),
                        format!(
                            "Campo non modificabile per un titolare di tipo {}.",
                            self.tipo.label()
                        ),
                    );
                }
                continue;
            }
            match value {
                Some(v) => values.insert(field, v.to_owned()),
                None => values.remove(&field),
            };
        }
        if !fixed.is_empty() {
            return Err(UpdateError::Fixed(fixed));
        }
        // Only what the update changes is new input: a stored comune that ISTAT has since
        // merged away does not keep its holder from being updated.
        let touched = Field::ALL
            .iter()
            .copied()
            .filter(|f| current.get(f) != values.get(f))
            .collect();
        let updated =
            Self::from_values::<ParseInput>(self.id.clone(), &values, Check::Changed(touched))
                .map_err(UpdateError::Invalid)?;
        let after = updated.values();
        let changed = Field::ALL
            .iter()
            .copied()
            .filter(|f| current.get(f) != after.get(f))
            .collect();
        Ok((updated, changed))
    }

    /// The fields that are set, in their canonical text form.
    pub fn values(&self) -> BTreeMap<Field, String> {
        use Field::*;
        let mut v = BTreeMap::new();
        let mut put = |f: Field, s: Option<&str>| {
            if let Some(s) = s {
                v.insert(f, s.to_owned());
            }
        };
        put(Tipo, Some(self.tipo.as_str()));
        put(Nome, self.nome.as_ref().map(PersonName::as_str));
        put(Cognome, self.cognome.as_ref().map(PersonName::as_str));
        put(
            CodiceFiscale,
            self.codice_fiscale.as_ref().map(|c| c.as_str()),
        );
        put(
            RagioneSociale,
            self.ragione_sociale.as_ref().map(TextField::as_str),
        );
        put(PartitaIva, self.partita_iva.as_ref().map(|p| p.as_str()));
        put(
            CodiceFiscaleAzienda,
            self.codice_fiscale_azienda.as_ref().map(|c| c.as_str()),
        );
        put(Indirizzo, Some(self.indirizzo.as_str()));
        put(Cap, Some(self.cap.as_str()));
        put(Nazione, Some(self.nazione.as_str()));
        put(Provincia, self.provincia.as_ref().map(|p| p.as_str()));
        put(Comune, Some(&self.comune));
        put(Telefono, self.telefono.as_ref().map(|p| p.as_str()));
        put(Cellulare, Some(self.cellulare.as_str()));
        put(Fax, self.fax.as_ref().map(|p| p.as_str()));
        put(Email, Some(self.email.as_str()));
        put(
            Lingua,
            Some(if self.lingua == self::Lingua::En {
                "en"
            } else {
                "it"
            }),
        );
        v
    }

    /// A short name for lists and messages: ragione sociale, or nome and cognome.
    pub fn display_name(&self) -> String {
        match (&self.ragione_sociale, &self.nome, &self.cognome) {
            (Some(r), _, _) => r.as_str().to_owned(),
            (None, Some(n), Some(c)) => format!("{} {}", n.as_str(), c.as_str()),
            _ => format!("titolare {}", self.id.as_str()),
        }
    }

    fn from_values<R: PhoneReading>(
        id: HolderId,
        values: &BTreeMap<Field, String>,
        check: Check,
    ) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let tipo = match values.get(&Field::Tipo).map(|t| Tipo::parse(t)) {
            Some(Ok(t)) => t,
            Some(Err(e)) => return Err(FieldErrors::one("tipo", e)),
            None => return Err(FieldErrors::one("tipo", "Campo obbligatorio.")),
        };
        for field in values.keys() {
            if *field != Field::Tipo && !tipo.allowed().contains(field) {
                errors.insert(
                    field.as_str(),
                    format!(
                        "Campo non previsto per un titolare di tipo {}.",
                        tipo.label()
                    ),
                );
            }
        }
        for field in tipo.required() {
            if !values.contains_key(field) {
                errors.insert(field.as_str(), "Campo obbligatorio.".to_owned());
            }
        }
        let parse = |field: Field| values.get(&field).map(String::as_str);
        macro_rules! get {
            ($field:expr, $parser:expr) => {
                match parse($field).map($parser) {
                    Some(Ok(v)) => Some(v),
                    Some(Err(e)) => {
                        errors.insert($field.as_str(), e.to_string());
                        None
                    }
                    None => None,
                }
            };
        }
        let nome = get!(Field::Nome, PersonName::parse);
        let cognome = get!(Field::Cognome, PersonName::parse);
        let codice_fiscale = get!(Field::CodiceFiscale, CodiceFiscale::parse);
        let ragione_sociale = get!(Field::RagioneSociale, TextField::parse);
        let partita_iva = get!(Field::PartitaIva, PartitaIva::parse);
        let codice_fiscale_azienda = get!(Field::CodiceFiscaleAzienda, CodiceFiscaleAzienda::parse);
        let indirizzo = get!(Field::Indirizzo, TextField::parse);
        let nazione = get!(Field::Nazione, Nazione::parse).unwrap_or_default();
        let cap = get!(Field::Cap, |s| Cap::parse(s, &nazione));
        // Numbers the service stored are trusted as written: the numbering rules run on
        // input only (they are the costly check).
        let checked = &check;
        let phone = |field: Field| {
            move |s: &str| match checked.is_input(field) {
                true => R::phone(s),
                false => PhoneNumber::stored(s),
            }
        };
        let telefono = get!(Field::Telefono, phone(Field::Telefono));
        let cellulare = get!(
            Field::Cellulare,
            |s| match check.is_input(Field::Cellulare) {
                true => R::mobile(s),
                false => MobileNumber::stored(s),
            }
        );
        let fax = get!(Field::Fax, phone(Field::Fax));
        let email = get!(Field::Email, EmailAddress::parse);
        let lingua = get!(Field::Lingua, |s: &str| match s.trim() {
            "it" => Ok(Lingua::It),
            "en" => Ok(Lingua::En),
            _ => Err("Lingua non valida: usa it (italiano) o en (inglese)."),
        })
        .unwrap_or_default();
        let (provincia, comune) = match nazione {
            Nazione::Italia => {
                let provincia = get!(Field::Provincia, Provincia::parse);
                if parse(Field::Provincia).is_none() {
                    errors.insert(
                        "provincia",
                        "Campo obbligatorio per un indirizzo in Italia.".to_owned(),
                    );
                }
                let comune = match (&provincia, parse(Field::Comune)) {
                    (Some(p), Some(c))
                        if check.is_input(Field::Comune) || check.is_input(Field::Provincia) =>
                    {
                        let _ = c;
                        get!(Field::Comune, |c| Comune::parse(p, c)
                            .map(|c| c.as_str().to_owned()))
                    }
                    (_, c) => c.map(str::to_owned),
                };
                (provincia, comune)
            }
            Nazione::Estero(_) => {
                if parse(Field::Provincia).is_some() {
                    errors.insert(
                        "provincia",
                        "La provincia si indica solo per un indirizzo in Italia.".to_owned(),
                    );
                }
                (
                    None,
                    get!(Field::Comune, |c| TextField::parse(c)
                        .map(|t| t.as_str().to_owned())),
                )
            }
        };
        if let (Some(cf), Some(n), Some(c)) = (&codice_fiscale, &nome, &cognome)
            && let Err(e) = cf.check_person(c.as_str(), n.as_str())
        {
            errors.insert("codice_fiscale", e.to_string());
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        // Every required field is present and parsed, so none of these is None.
        let missing = || FieldErrors::one("tipo", "dati incompleti");
        Ok(Self {
            id,
            tipo,
            nome,
            cognome,
            codice_fiscale,
            ragione_sociale,
            partita_iva,
            codice_fiscale_azienda,
            indirizzo: indirizzo.ok_or_else(missing)?,
            cap: cap.ok_or_else(missing)?,
            nazione,
            provincia,
            comune: comune.ok_or_else(missing)?,
            telefono,
            cellulare: cellulare.ok_or_else(missing)?,
            fax,
            email: email.ok_or_else(missing)?,
            lingua,
        })
    }
}

/// The canonical text of a value as its field would store it (the input itself when it
/// does not parse, which then counts as a change).
/// Whether `value` says what `stored` says: equal once canonical, or for names equal as the
/// search compares them (case and accents folded).
fn same_value(field: Field, value: &str, stored: &str) -> bool {
    canonical(field, value) == stored
        || (matches!(field, Field::Nome | Field::Cognome | Field::RagioneSociale)
            && crate::text::search_key(value) == crate::text::search_key(stored))
}

fn canonical(field: Field, value: &str) -> String {
    let parsed = match field {
        Field::Tipo => Tipo::parse(value).map(|t| t.as_str().to_owned()).ok(),
        Field::Nome | Field::Cognome => PersonName::parse(value).map(String::from).ok(),
        Field::CodiceFiscale => CodiceFiscale::parse(value).map(String::from).ok(),
        Field::PartitaIva => PartitaIva::parse(value).map(String::from).ok(),
        _ => None,
    };
    parsed.unwrap_or_else(|| value.to_owned())
}

impl Serialize for Holder {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let values = self.values();
        let mut map = s.serialize_map(Some(values.len() + 1))?;
        map.serialize_entry("id", self.id.as_str())?;
        for (field, value) in &values {
            map.serialize_entry(field.as_str(), value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Holder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = BTreeMap::<String, String>::deserialize(d)?;
        let id = raw.get("id").ok_or_else(|| D::Error::missing_field("id"))?;
        let id = HolderId::parse(id).map_err(D::Error::custom)?;
        let values = raw
            .iter()
            .filter_map(|(k, v)| Field::from_name(k).map(|f| (f, v.clone())))
            .collect();
        Self::from_values::<StoredOnly>(id, &values, Check::Stored)
            .map_err(|e| D::Error::custom(format!("stored holder is invalid: {e:?}")))
    }
}

#[cfg(test)]
mod tests;
