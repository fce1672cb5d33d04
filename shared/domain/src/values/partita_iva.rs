//! Partita IVA (DPR 633/1972 art. 35) and the codice fiscale of a business.

use super::codice_fiscale::{CodiceFiscale, CodiceFiscaleError};
use crate::text::compact_code;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Eleven digits: seven of registration number, three of the issuing office, one check digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PartitaIva(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartitaIvaError {
    #[error("La partita IVA deve avere 11 cifre.")]
    Format,
    #[error("La partita IVA ha un codice di ufficio che non esiste: controlla le cifre 8, 9 e 10.")]
    Office,
    #[error("La cifra di controllo della partita IVA è errata: controlla di averla scritta bene.")]
    CheckDigit,
}

impl PartitaIva {
    pub fn parse(input: &str) -> Result<Self, PartitaIvaError> {
        let mut code = compact_code(input);
        if code.starts_with("IT") && code.len() == 13 {
            code.drain(..2);
        }
        let digits: Vec<u8> = code.bytes().map(|b| b.wrapping_sub(b'0')).collect();
        if digits.len() != 11
            || digits.iter().any(|d| *d > 9)
            || digits[..7].iter().all(|d| *d == 0)
        {
            return Err(PartitaIvaError::Format);
        }
        let office = u16::from(digits[7]) * 100 + u16::from(digits[8]) * 10 + u16::from(digits[9]);
        if !matches!(office, 1..=100 | 120 | 121 | 888 | 999) {
            return Err(PartitaIvaError::Office);
        }
        if check_digit(&digits[..10]) != digits[10] {
            return Err(PartitaIvaError::CheckDigit);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Luhn-style check digit of the first ten digits.
pub(crate) fn check_digit(first10: &[u8]) -> u8 {
    let sum: u32 = first10
        .iter()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 0 {
                d
            } else if d * 2 > 9 {
                d * 2 - 9
            } else {
                d * 2
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

/// Codice fiscale of a company: eleven digits under the partita IVA rules, or, for a
/// ditta individuale, its owner's personal code.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum CodiceFiscaleAzienda {
    Numerico(PartitaIva),
    Personale(CodiceFiscale),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodiceFiscaleAziendaError {
    #[error("{}", numeric_message(.0))]
    Numerico(PartitaIvaError),
    #[error("{0}")]
    Personale(CodiceFiscaleError),
    #[error(
        "Il codice fiscale dell'azienda deve avere 11 cifre, o 16 caratteri per una ditta individuale."
    )]
    Length,
}

/// An 11-digit codice fiscale follows the partita IVA's rules: its errors, named as such.
fn numeric_message(e: &PartitaIvaError) -> &'static str {
    match e {
        PartitaIvaError::Format => "Il codice fiscale dell'azienda deve avere 11 cifre.",
        PartitaIvaError::Office => {
            "Il codice fiscale dell'azienda ha un codice di ufficio che non esiste: controlla le cifre 8, 9 e 10."
        }
        PartitaIvaError::CheckDigit => {
            "La cifra di controllo del codice fiscale dell'azienda è errata: controlla di averlo scritto bene."
        }
    }
}

impl CodiceFiscaleAzienda {
    pub fn parse(input: &str) -> Result<Self, CodiceFiscaleAziendaError> {
        let code = compact_code(input);
        match code.len() {
            11 => PartitaIva::parse(&code)
                .map(Self::Numerico)
                .map_err(CodiceFiscaleAziendaError::Numerico),
            16 => CodiceFiscale::parse(&code)
                .map(Self::Personale)
                .map_err(CodiceFiscaleAziendaError::Personale),
            _ => Err(CodiceFiscaleAziendaError::Length),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            Self::Numerico(p) => p.as_str(),
            Self::Personale(c) => c.as_str(),
        }
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
string_conversions!(PartitaIva, PartitaIvaError);
string_conversions!(CodiceFiscaleAzienda, CodiceFiscaleAziendaError);

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    pub(crate) fn valid_partita_iva() -> impl Strategy<Value = String> {
        crate::values::strategies::partita_iva()
    }

    /// Checked with python-stdnum's `it.iva`, an implementation independent of this one:
    /// valid numbers, and numbers whose Luhn digit is right but whose office code is not
    /// one in use.
    #[test]
    fn numbers_match_an_independent_implementation() {
        for valid in [
            "06363391001",
            "12345670017",
            "98765430123",
            "07431100150",
            "10000000884",
            "55555550999",
            "02020201212",
        ] {
            assert_eq!(PartitaIva::parse(valid).unwrap().as_str(), valid);
        }
        for office in ["00112233127", "08141101124"] {
            assert_eq!(
                PartitaIva::parse(office),
                Err(PartitaIvaError::Office),
                "{office}"
            );
        }
        assert_eq!(
            PartitaIva::parse("00000000018"),
            Err(PartitaIvaError::Format),
            "no number zero"
        );
    }

    #[test]
    fn known_codes() {
        // Agenzia delle Entrate's own codice fiscale.
        assert!(PartitaIva::parse("06363391001").is_ok());
        assert_eq!(
            PartitaIva::parse("IT 0636 3391 001").unwrap().as_str(),
            "06363391001"
        );
        assert_eq!(
            PartitaIva::parse("06363391002"),
            Err(PartitaIvaError::CheckDigit)
        );
        assert_eq!(
            PartitaIva::parse("06363394001"),
            Err(PartitaIvaError::Office)
        );
        assert_eq!(
            PartitaIva::parse("0636339100"),
            Err(PartitaIvaError::Format)
        );
        assert_eq!(
            PartitaIva::parse("0636339100a"),
            Err(PartitaIvaError::Format)
        );
        assert_eq!(
            PartitaIva::parse("00000000000"),
            Err(PartitaIvaError::Format)
        );
        assert!(matches!(
            CodiceFiscaleAzienda::parse("DTSTTD90A01A851Q"),
            Ok(CodiceFiscaleAzienda::Personale(_))
        ));
        assert!(matches!(
            CodiceFiscaleAzienda::parse("06363391001"),
            Ok(CodiceFiscaleAzienda::Numerico(_))
        ));
        assert_eq!(
            CodiceFiscaleAzienda::parse("123"),
            Err(CodiceFiscaleAziendaError::Length)
        );
    }

    proptest! {
        // Parsing is microseconds: 1,000 cases a property.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn valid_numbers_round_trip(code in valid_partita_iva()) {
            let parsed = PartitaIva::parse(&code).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            let cfa = CodiceFiscaleAzienda::parse(&code).unwrap();
            prop_assert_eq!(serde_json::from_value::<CodiceFiscaleAzienda>(serde_json::to_value(&cfa).unwrap()).unwrap(), cfa);
        }

        #[test]
        fn any_other_check_digit_is_refused(code in valid_partita_iva(), other in 0u8..10) {
            let mut bytes = code.into_bytes();
            prop_assume!(bytes[10] != b'0' + other);
            bytes[10] = b'0' + other;
            prop_assert_eq!(PartitaIva::parse(&String::from_utf8(bytes).unwrap()), Err(PartitaIvaError::CheckDigit));
        }

        #[test]
        fn a_changed_digit_is_refused(code in valid_partita_iva(), pos in 0usize..7, other in 0u8..10) {
            let mut bytes = code.into_bytes();
            prop_assume!(bytes[pos] != b'0' + other);
            bytes[pos] = b'0' + other;
            prop_assert!(PartitaIva::parse(&String::from_utf8(bytes).unwrap()).is_err());
        }

        #[test]
        fn never_panics(input in "\\PC{0,20}") {
            let _ = PartitaIva::parse(&input);
            let _ = CodiceFiscaleAzienda::parse(&input);
        }
    }
}
