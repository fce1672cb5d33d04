//! Free-text fields: trimmed, single-spaced, bounded, without control characters.

use crate::text::collapse_whitespace;
use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("Il campo è vuoto.")]
    Empty,
    #[error("Il testo supera i {0} caratteri.")]
    TooLong(usize),
    #[error("Il testo contiene caratteri non ammessi.")]
    Characters,
}

/// Text of at most 200 characters (addresses, ragione sociale).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TextField(String);

impl TextField {
    pub const MAX: usize = 200;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        let text = collapse_whitespace(input);
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
        let text = collapse_whitespace(input);
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
