//! Holder search (the customer area's form): criteria, which index serves each, and paging.

use crate::errors::FieldErrors;
use crate::holder::{Holder, HolderId, Tipo};
use crate::text::search_key;
use crate::values::{CodiceFiscale, CodiceFiscaleAzienda, EmailAddress, PartitaIva};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The criteria of a search; at least one is set. Names match by prefix, ignoring case and
/// accents; codes match exactly.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HolderQuery {
    pub id: Option<HolderId>,
    pub mailbox: Option<EmailAddress>,
    pub codice_fiscale: Option<CodiceFiscale>,
    pub codice_fiscale_azienda: Option<CodiceFiscaleAzienda>,
    pub cognome: Option<String>,
    pub nome: Option<String>,
    pub ragione_sociale: Option<String>,
    pub partita_iva: Option<PartitaIva>,
    pub tipo: Option<Tipo>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum QueryError {
    #[error(
        "Indica almeno un criterio di ricerca: id, mailbox, codice_fiscale, codice_fiscale_azienda, cognome, nome, ragione_sociale, partita_iva o tipo."
    )]
    NoCriterion,
    #[error("Criteri di ricerca non validi.")]
    Invalid(FieldErrors),
}

impl HolderQuery {
    pub const CRITERIA: &'static [&'static str] = &[
        "id",
        "mailbox",
        "codice_fiscale",
        "codice_fiscale_azienda",
        "cognome",
        "nome",
        "ragione_sociale",
        "partita_iva",
        "tipo",
    ];

    /// Parses criteria by name; empty values count as not given, as in a web form.
    pub fn parse(raw: &BTreeMap<String, String>) -> Result<Self, QueryError> {
        let mut errors = FieldErrors::default();
        let mut q = Self::default();
        let given = |name: &str| raw.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
        macro_rules! criterion {
            ($name:literal, $parse:expr) => {
                given($name).and_then(|v| match $parse(v) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        errors.insert($name, e.to_string());
                        None
                    }
                })
            };
        }
        let name_prefix = |v: &str| {
            let key = search_key(v);
            match key.chars().count() {
                0 => Err("Indica almeno una lettera."),
                1..=100 => Ok(key),
                _ => Err("Testo di ricerca troppo lungo: al massimo 100 caratteri."),
            }
        };
        q.id = criterion!("id", HolderId::parse);
        q.mailbox = criterion!("mailbox", EmailAddress::parse);
        q.codice_fiscale = criterion!("codice_fiscale", CodiceFiscale::parse);
        q.codice_fiscale_azienda =
            criterion!("codice_fiscale_azienda", CodiceFiscaleAzienda::parse);
        q.cognome = criterion!("cognome", name_prefix);
        q.nome = criterion!("nome", name_prefix);
        q.ragione_sociale = criterion!("ragione_sociale", name_prefix);
        q.partita_iva = criterion!("partita_iva", PartitaIva::parse);
        q.tipo = criterion!("tipo", Tipo::parse);
        if !errors.is_empty() {
            return Err(QueryError::Invalid(errors));
        }
        if q == Self::default() {
            return Err(QueryError::NoCriterion);
        }
        Ok(q)
    }

    /// The index to read and the key prefix within it: the most selective criterion given.
    /// `None` when the query is by id or mailbox, which are point reads.
    pub fn driving_index(&self) -> Option<(SearchIndex, String)> {
        let exact = |v: &str| format!("{v}{}", SearchIndex::SEPARATOR);
        if let Some(v) = &self.codice_fiscale {
            return Some((SearchIndex::CodiceFiscale, exact(v.as_str())));
        }
        if let Some(v) = &self.partita_iva {
            return Some((SearchIndex::PartitaIva, exact(v.as_str())));
        }
        if let Some(v) = &self.codice_fiscale_azienda {
            return Some((SearchIndex::CodiceFiscaleAzienda, exact(v.as_str())));
        }
        if let Some(v) = &self.cognome {
            return Some((SearchIndex::Cognome, v.clone()));
        }
        if let Some(v) = &self.ragione_sociale {
            return Some((SearchIndex::RagioneSociale, v.clone()));
        }
        if let Some(v) = &self.nome {
            return Some((SearchIndex::Nome, v.clone()));
        }
        self.tipo.map(|t| (SearchIndex::Tipo, exact(t.as_str())))
    }

    /// How many criteria are set.
    pub fn criteria_count(&self) -> usize {
        [
            self.id.is_some(),
            self.mailbox.is_some(),
            self.codice_fiscale.is_some(),
            self.codice_fiscale_azienda.is_some(),
            self.cognome.is_some(),
            self.nome.is_some(),
            self.ragione_sociale.is_some(),
            self.partita_iva.is_some(),
            self.tipo.is_some(),
        ]
        .iter()
        .filter(|x| **x)
        .count()
    }

    /// Whether a holder meets every criterion but `mailbox`, which the caller resolves
    /// to an id.
    pub fn matches(&self, h: &HolderSummary) -> bool {
        let prefix = |want: &Option<String>, have: &Option<String>| match want {
            None => true,
            Some(w) => have
                .as_deref()
                .is_some_and(|h| search_key(h).starts_with(w.as_str())),
        };
        let exact = |want: Option<&str>, have: &Option<String>| {
            want.is_none_or(|w| have.as_deref() == Some(w))
        };
        // As the indexes: an azienda's nome, cognome and codice fiscale are its legal
        // representative's, not criteria that find it.
        let person = |v: &Option<String>| v.clone().filter(|_| h.tipo.is_natural_person());
        self.id.as_ref().is_none_or(|id| *id == h.id)
            && self.tipo.is_none_or(|t| t == h.tipo)
            && exact(
                self.codice_fiscale.as_ref().map(|v| v.as_str()),
                &person(&h.codice_fiscale),
            )
            && exact(
                self.partita_iva.as_ref().map(|v| v.as_str()),
                &h.partita_iva,
            )
            && exact(
                self.codice_fiscale_azienda.as_ref().map(|v| v.as_str()),
                &h.codice_fiscale_azienda,
            )
            && prefix(&self.cognome, &person(&h.cognome))
            && prefix(&self.nome, &person(&h.nome))
            && self.ragione_sociale.as_ref().is_none_or(|want| {
                h.ragione_sociale.as_deref().is_some_and(|have| {
                    ragione_sociale_keys(have)
                        .iter()
                        .any(|k| k.starts_with(want.as_str()))
                })
            })
    }
}

/// Later words of a ragione sociale that are searchable on their own, besides its start:
/// "azienda" finds "Test Azienda S.r.l.". A few, so a holder's index stays small (its
/// writes share a completion's transaction with up to 25 items).
const RAGIONE_SOCIALE_WORDS: usize = 3;

/// The folded keys a ragione sociale is found under: the whole name, and the name from
/// each of its next few words of two letters or more.
pub fn ragione_sociale_keys(ragione_sociale: &str) -> Vec<String> {
    let whole = search_key(ragione_sociale);
    let mut keys = vec![whole.clone()];
    let starts = whole
        .char_indices()
        .filter(|(i, c)| *i > 0 && !matches!(c, ' ' | '-' | '\'' | '.' | ',' | '&'))
        .filter(|(i, _)| matches!(whole[..*i].chars().last(), Some(' ' | '-' | '\'')))
        .map(|(i, _)| i);
    for start in starts {
        let suffix = &whole[start..];
        let word_len = suffix.find([' ', '-', '\'']).unwrap_or(suffix.len());
        if suffix[..word_len]
            .chars()
            .filter(|c| c.is_alphanumeric())
            .count()
            < 2
        {
            continue;
        }
        if !keys.iter().any(|k| k == suffix) {
            keys.push(suffix.to_owned());
        }
        if keys.len() > RAGIONE_SOCIALE_WORDS {
            break;
        }
    }
    keys
}

/// The search indexes kept for every holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchIndex {
    Cognome,
    Nome,
    RagioneSociale,
    CodiceFiscale,
    PartitaIva,
    CodiceFiscaleAzienda,
    Tipo,
}

impl SearchIndex {
    pub const ALL: [SearchIndex; 7] = [
        Self::Cognome,
        Self::Nome,
        Self::RagioneSociale,
        Self::CodiceFiscale,
        Self::PartitaIva,
        Self::CodiceFiscaleAzienda,
        Self::Tipo,
    ];
    /// Ends a key's value and comes before its holder id; search keys never contain it.
    pub const SEPARATOR: char = '#';

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cognome => "cognome",
            Self::Nome => "nome",
            Self::RagioneSociale => "ragione_sociale",
            Self::CodiceFiscale => "codice_fiscale",
            Self::PartitaIva => "partita_iva",
            Self::CodiceFiscaleAzienda => "codice_fiscale_azienda",
            Self::Tipo => "tipo",
        }
    }

    /// The keys under which a holder is found: "<value>#<id>", one per index it has a value
    /// for, and a few more for the later words of a ragione sociale. An azienda is found by
    /// its own names and codes, not by its legal representative's.
    pub fn keys(summary: &HolderSummary) -> Vec<(SearchIndex, String)> {
        let key = |v: &str| format!("{v}{}{}", Self::SEPARATOR, summary.id.as_str());
        let person = summary.tipo.is_natural_person();
        let folded =
            |v: &Option<String>| v.as_deref().filter(|_| person).map(|v| key(&search_key(v)));
        let plain = |v: &Option<String>| v.as_deref().map(key);
        let words = summary
            .ragione_sociale
            .as_deref()
            .map(ragione_sociale_keys)
            .unwrap_or_default();
        words
            .iter()
            .map(|w| (Self::RagioneSociale, Some(key(w))))
            .chain([
                (Self::Cognome, folded(&summary.cognome)),
                (Self::Nome, folded(&summary.nome)),
                (
                    Self::CodiceFiscale,
                    plain(&summary.codice_fiscale).filter(|_| person),
                ),
                (Self::PartitaIva, plain(&summary.partita_iva)),
                (
                    Self::CodiceFiscaleAzienda,
                    plain(&summary.codice_fiscale_azienda),
                ),
                (Self::Tipo, Some(key(summary.tipo.as_str()))),
            ])
            .filter_map(|(i, k)| k.map(|k| (i, k)))
            .collect()
    }
}

/// Which holders are the same person or company as another in the same role: the same
/// tipo, and the same codice fiscale (a privato, a libero professionista) or partita IVA
/// (an azienda). Resellers keep one profile per person and role; a privato who is also a
/// libero professionista has one of each.
pub struct FiscalIdentity {
    tipo: Tipo,
    code: String,
}

impl FiscalIdentity {
    pub fn of(holder: &Holder) -> Option<Self> {
        let code = if holder.tipo.is_natural_person() {
            holder.codice_fiscale.as_ref()?.as_str().to_owned()
        } else {
            holder.partita_iva.as_ref()?.as_str().to_owned()
        };
        Some(Self {
            tipo: holder.tipo,
            code,
        })
    }

    /// The search (one index read) whose results hold every such holder.
    pub fn query(&self) -> HolderQuery {
        let mut q = HolderQuery::default();
        if self.tipo.is_natural_person() {
            q.codice_fiscale = CodiceFiscale::parse(&self.code).ok();
        } else {
            q.partita_iva = PartitaIva::parse(&self.code).ok();
        }
        q
    }

    /// Whether a search result is the same person or company in the same role (an
    /// azienda whose legal representative has this codice fiscale is not).
    pub fn matches(&self, h: &HolderSummary) -> bool {
        let code = if self.tipo.is_natural_person() {
            &h.codice_fiscale
        } else {
            &h.partita_iva
        };
        h.tipo == self.tipo && code.as_deref() == Some(&self.code)
    }
}

/// What a search result row shows, and all a filter needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HolderSummary {
    pub id: HolderId,
    pub tipo: Tipo,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cognome: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ragione_sociale: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partita_iva: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codice_fiscale_azienda: Option<String>,
    pub comune: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provincia: Option<String>,
}

impl From<&Holder> for HolderSummary {
    fn from(h: &Holder) -> Self {
        Self {
            id: h.id.clone(),
            tipo: h.tipo,
            nome: h.nome.as_ref().map(|v| v.as_str().to_owned()),
            cognome: h.cognome.as_ref().map(|v| v.as_str().to_owned()),
            codice_fiscale: h.codice_fiscale.as_ref().map(|v| v.as_str().to_owned()),
            ragione_sociale: h.ragione_sociale.as_ref().map(|v| v.as_str().to_owned()),
            partita_iva: h.partita_iva.as_ref().map(|v| v.as_str().to_owned()),
            codice_fiscale_azienda: h
                .codice_fiscale_azienda
                .as_ref()
                .map(|v| v.as_str().to_owned()),
            comune: h.comune.clone(),
            provincia: h.provincia.as_ref().map(|p| p.as_str().to_owned()),
        }
    }
}

/// A page request: how many rows, and where the previous page stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    pub cursor: Option<String>,
}

impl PageRequest {
    pub const DEFAULT_SIZE: usize = 20;
    pub const MAX_SIZE: usize = 100;

    pub fn parse(size: Option<&str>, cursor: Option<&str>) -> Result<Self, FieldErrors> {
        // Absent means the default; present but empty is a mistake like any other value.
        let size = match size.map(str::trim) {
            None => Self::DEFAULT_SIZE,
            Some(s) => match s.parse::<usize>() {
                Ok(n) if (1..=Self::MAX_SIZE).contains(&n) => n,
                _ => {
                    return Err(FieldErrors::one(
                        "page_size",
                        format!("Indica un numero da 1 a {}.", Self::MAX_SIZE),
                    ));
                }
            },
        };
        let cursor = cursor
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned);
        if cursor.as_ref().is_some_and(|c| c.len() > 1024) {
            return Err(FieldErrors::one(
                "cursor",
                "Cursore non valido: usa il next_cursor dell'ultima pagina.",
            ));
        }
        Ok(Self { size, cursor })
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            size: Self::DEFAULT_SIZE,
            cursor: None,
        }
    }
}

/// One page of results. `total` is given where the listing counts its rows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    pub next_cursor: Option<String>,
}
