//! Free-text fields: NFC, trimmed, single-spaced, bounded, without control or format
//! characters and without web addresses, since they are printed into the provider's emails
//! (docs/security.md, "Text in the provider's emails").

use crate::text::collapse_whitespace;
use icu_properties::CodePointMapData;
use icu_properties::props::GeneralCategory;
use serde::{Deserialize, Serialize};
use std::fmt;
use unicode_normalization::UnicodeNormalization;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("Il campo è vuoto.")]
    Empty,
    #[error("Il testo supera i {0} caratteri.")]
    TooLong(usize),
    #[error("Il testo contiene caratteri non ammessi.")]
    Characters,
    #[error("Il testo contiene caratteri invisibili o che cambiano la direzione della scrittura.")]
    Invisible,
    #[error("Il testo non può contenere indirizzi web.")]
    Link,
}

/// The text as it will be kept: NFC ("Mari\u{301}o" is "Marío"), single-spaced, and free
/// of the characters and words no name needs.
fn normalise(input: &str) -> Result<String, TextError> {
    let text = collapse_whitespace(&input.nfc().collect::<String>());
    let format = CodePointMapData::<GeneralCategory>::new();
    if text
        .chars()
        .any(|c| format.get(c) == GeneralCategory::Format)
    {
        return Err(TextError::Invisible);
    }
    if text.split(' ').any(looks_like_a_link) {
        return Err(TextError::Link);
    }
    Ok(text)
}

/// A word a mail reader could turn into a link: a scheme ("https://…"), "www.…", or a
/// dotted host with a path ("esempio.it/conferma").
fn looks_like_a_link(word: &str) -> bool {
    let lower = word.to_lowercase();
    lower.contains("://")
        || lower
            .trim_start_matches(|c: char| !c.is_alphanumeric())
            .starts_with("www.")
        || lower
            .split_once('/')
            .is_some_and(|(host, _)| host.contains('.') && !host.ends_with('.'))
}

/// Text of at most 200 characters (addresses, ragione sociale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TextField(String);

impl TextField {
    pub const MAX: usize = 200;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let text = normalise(input)?;
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > Self::MAX {
            return Err(TextError::TooLong(Self::MAX));
        }
        if text.chars().any(|c| c.is_control() || "<>{}".contains(c)) {
            return Err(TextError::Characters);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name or surname: letters, spaces, apostrophes, hyphens and dots.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    pub const MAX: usize = 100;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let text = normalise(input)?;
        if !text.chars().any(char::is_alphabetic) {
            return Err(TextError::Empty);
        }
        if text.chars().count() > Self::MAX {
            return Err(TextError::TooLong(Self::MAX));
        }
        if !text
            .chars()
            .all(|c| c.is_alphabetic() || " '’-.".contains(c))
        {
            return Err(TextError::Characters);
        }
        Ok(Self(text))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($ty:ty) => {
        impl TryFrom<String> for $ty {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.0
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}
string_conversions!(TextField);
string_conversions!(PersonName);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_and_texts() {
        assert_eq!(
            PersonName::parse("  Maria   Grazia ").unwrap().as_str(),
            "Maria Grazia"
        );
        assert_eq!(
            PersonName::parse("D'Angelo-Rossi").unwrap().as_str(),
            "D'Angelo-Rossi"
        );
        assert_eq!(PersonName::parse("R2D2"), Err(TextError::Characters));
        assert_eq!(PersonName::parse(" - "), Err(TextError::Empty));
        assert_eq!(
            TextField::parse("Via Roma 1\u{0}"),
            Err(TextError::Characters)
        );
        assert_eq!(
            TextField::parse(&"x".repeat(201)),
            Err(TextError::TooLong(200))
        );
    }

    /// The review's texts: a bidi override, zero-width characters and links are refused in
    /// names and in a ragione sociale; a decomposed accent is kept composed.
    #[test]
    fn texts_for_emails_are_refused() {
        for text in [
            "Rossi\u{202E}ti.cp",
            "Ma\u{200B}rio",
            "Mario\u{2060}",
            "\u{FEFF}Acme",
            "Ros\u{AD}si",
        ] {
            assert_eq!(
                TextField::parse(text),
                Err(TextError::Invisible),
                "{text:?}"
            );
            assert_eq!(
                PersonName::parse(text),
                Err(TextError::Invisible),
                "{text:?}"
            );
        }
        for text in [
            "Acme conferma entro oggi su https://esempio.com/x",
            "Acme WWW.esempio.com",
            "Acme (www.esempio.com)",
            "Acme esempio.com/conferma",
            "ftp://esempio",
        ] {
            assert_eq!(TextField::parse(text), Err(TextError::Link), "{text:?}");
        }
        assert_eq!(PersonName::parse("www.esempio.it"), Err(TextError::Link));
        for fine in [
            "Rossi S.r.l.",
            "Studio Bianchi & C. s.n.c.",
            "A/B Servizi",
            "Acme 2.0 S.p.A.",
        ] {
            assert!(TextField::parse(fine).is_ok(), "{fine}");
        }
        assert_eq!(PersonName::parse("Mari\u{301}o").unwrap().as_str(), "Marío");
        assert_eq!(
            TextField::parse("Caffe\u{300} Sport").unwrap().as_str(),
            "Caffè Sport"
        );
    }

    proptest! {
        // Text checks are cheap: 1,000 cases each.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Any name of the kinds people have, with stray spaces, is a name, and parsing
        /// it again changes nothing.
        #[test]
        fn names_parse_and_are_fixed_points(
            name in crate::values::strategies::person_name(),
            pad in "[ ]{0,3}",
        ) {
            let n = PersonName::parse(&format!("{pad}{name}{pad}")).unwrap();
            prop_assert_eq!(n.as_str(), name.as_str());
            prop_assert_eq!(PersonName::parse(n.as_str()).unwrap(), n);
        }

        #[test]
        fn parsed_text_is_a_fixed_point(input in "\\PC{0,60}") {
            if let Ok(t) = TextField::parse(&input) {
                prop_assert_eq!(TextField::parse(t.as_str()).unwrap(), t);
            }
            if let Ok(n) = PersonName::parse(&input) {
                prop_assert_eq!(PersonName::parse(n.as_str()).unwrap(), n);
            }
        }
    }
}
