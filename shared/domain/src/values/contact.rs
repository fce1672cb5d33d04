//! Phone numbers (E.164) and email addresses.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "Numero di telefono non valido: scrivilo in formato internazionale, per esempio +39 06 1234567."
    )]
    Invalid,
    #[error("Il numero non è di un cellulare.")]
    NotMobile,
}

/// A valid phone number in E.164 form ("+390612345678"). Numbers written without a
/// country prefix are read as Italian.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_number(input).map(|(number, _)| number)
    }

    fn parse_number(input: &str) -> Result<(Self, phonenumber::Type), PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(PhoneError::Invalid);
        }
        // Written without a country prefix, a number is Italian: say so before parsing, as
        // the crate reads a national number starting with 39 as carrying Italy's prefix
        // (whisperfish/rust-phonenumber#68) and so refused every 391–399 mobile.
        let international = if trimmed.contains('+') || trimmed.starts_with("00") {
            trimmed.to_owned()
        } else {
            format!("+39 {trimmed}")
        };
        let number = phonenumber::parse(Some(phonenumber::country::Id::IT), &international)
            .map_err(|_| PhoneError::Invalid)?;
        if !number.is_valid() || number.extension().is_some() {
            return Err(PhoneError::Invalid);
        }
        let kind = number.number_type(&phonenumber::metadata::DATABASE);
        let parsed = Self {
            e164: number.format().mode(phonenumber::Mode::E164).to_string(),
            country_code: number.code().value(),
        };
        Ok((parsed, kind))
    }

    pub fn as_str(&self) -> &str {
        &self.e164
    }

    /// The international calling code, 39 for Italy.
    pub fn country_code(&self) -> u16 {
        self.country_code
    }
}

/// A phone number that can receive SMS.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobileNumber(PhoneNumber);

impl MobileNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let (number, kind) = PhoneNumber::parse_number(input)?;
        match kind {
            phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile => Ok(Self(number)),
            _ => Err(PhoneError::NotMobile),
        }
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn country_code(&self) -> u16 {
        self.0.country_code()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Indirizzo email non valido.")]
    Invalid,
}

/// An email address (RFC 5321/5322 syntax, with a dotted domain), its domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        let parsed =
            email_address::EmailAddress::from_str(trimmed).map_err(|_| EmailError::Invalid)?;
        let domain = parsed.domain();
        if trimmed.len() > 254
            || !domain.contains('.')
            || domain.starts_with('[')
            || trimmed.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(EmailError::Invalid);
        }
        Ok(Self(format!(
            "{}@{}",
            parsed.local_part(),
            domain.to_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! string_conversions {
    ($ty:ty, $err:ty) => {
        impl TryFrom<String> for $ty {
            type Error = $err;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }
        impl From<$ty> for String {
            fn from(value: $ty) -> Self {
                value.as_str().to_owned()
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
string_conversions!(PhoneNumber, PhoneError);
string_conversions!(MobileNumber, PhoneError);
string_conversions!(EmailAddress, EmailError);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::strategies;
    use proptest::prelude::*;

    #[test]
    fn phones_are_held_in_e164() {
        assert_eq!(
            PhoneNumber::parse("06 1234 5678").unwrap().as_str(),
            "+390612345678"
        );
        assert_eq!(
            MobileNumber::parse("+39 333 123 4567").unwrap().as_str(),
            "+393331234567"
        );
        assert_eq!(
            MobileNumber::parse("+39 333 123 4567")
                .unwrap()
                .country_code(),
            39
        );
        assert_eq!(
            MobileNumber::parse("06 1234 5678"),
            Err(PhoneError::NotMobile)
        );
        assert_eq!(PhoneNumber::parse("12"), Err(PhoneError::Invalid));
        assert_eq!(PhoneNumber::parse("abc"), Err(PhoneError::Invalid));
        assert!(MobileNumber::parse("+44 7400 123456").is_ok());
    }

    #[test]
    fn emails_are_checked_and_normalised() {
        assert_eq!(
            EmailAddress::parse(" Mario.Rossi@Example.IT ")
                .unwrap()
                .as_str(),
            "Mario.Rossi@example.it"
        );
        assert!(EmailAddress::parse("teste1234@pec.it").is_ok());
        for bad in ["", "a", "a@", "@b.it", "a@b", "a b@c.it", "a@[1.2.3.4]"] {
            assert_eq!(EmailAddress::parse(bad), Err(EmailError::Invalid), "{bad}");
        }
    }

    /// Checked with Google's libphonenumber (Python port 9.0.43), independent of the
    /// parser here: number, whether Italy's plan makes it a mobile, E.164.
    #[test]
    fn numbers_match_an_independent_implementation() {
        for (number, mobile, e164) in [
            ("3331234567", true, "+393331234567"),
            ("3201234567", true, "+393201234567"),
            ("3501234567", true, "+393501234567"),
            ("3701234567", true, "+393701234567"),
            ("3801234567", true, "+393801234567"),
            ("3891234567", true, "+393891234567"),
            ("3931234567", true, "+393931234567"),
            ("3131234567", true, "+393131234567"),
            ("3661234567", true, "+393661234567"),
            ("3511234567", true, "+393511234567"),
            ("0612345678", false, "+390612345678"),
            ("0212345678", false, "+390212345678"),
            ("800123456", false, "+39800123456"),
            ("899123456", false, "+39899123456"),
        ] {
            assert_eq!(
                PhoneNumber::parse(number).unwrap().as_str(),
                e164,
                "{number}"
            );
            assert_eq!(MobileNumber::parse(number).is_ok(), mobile, "{number}");
        }
        assert_eq!(PhoneNumber::parse("3001234567"), Err(PhoneError::Invalid));
    }

    proptest! {
        // Phone parsing builds its metadata once; then each case is microseconds.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn italian_mobiles_parse_to_e164((written, e164) in strategies::mobile()) {
            let m = MobileNumber::parse(&written).unwrap();
            prop_assert_eq!(m.as_str(), e164.as_str());
            prop_assert_eq!(MobileNumber::parse(m.as_str()).unwrap(), m.clone());
            prop_assert_eq!(m.country_code(), 39);
        }

        #[test]
        fn emails_parse_and_keep_their_local_part(input in strategies::email()) {
            let e = EmailAddress::parse(&input).unwrap();
            let (local, domain) = input.split_once('@').unwrap();
            prop_assert_eq!(e.as_str(), format!("{local}@{}", domain.to_lowercase()));
            prop_assert_eq!(EmailAddress::parse(e.as_str()).unwrap(), e);
        }

        #[test]
        fn an_email_without_its_at_or_domain_is_refused(input in strategies::email()) {
            let (local, domain) = input.split_once('@').unwrap();
            prop_assert_eq!(EmailAddress::parse(local), Err(EmailError::Invalid));
            prop_assert_eq!(EmailAddress::parse(&format!("{local}@")), Err(EmailError::Invalid));
            prop_assert_eq!(EmailAddress::parse(&format!("@{domain}")), Err(EmailError::Invalid));
        }

        #[test]
        fn never_panics(input in "\\PC{0,40}") {
            let _ = PhoneNumber::parse(&input);
            let _ = MobileNumber::parse(&input);
            let _ = EmailAddress::parse(&input);
        }
    }
}
