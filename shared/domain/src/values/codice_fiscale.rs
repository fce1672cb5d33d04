//! Codice fiscale of a natural person (DM 23/12/1976): format, omocodia, check character,
//! and coherence of its first six letters with surname and name.

use crate::text::{compact_code, fold};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Positions that hold digits, or their omocodia substitutes when codes collide.
const DIGIT_POSITIONS: [usize; 7] = [6, 7, 9, 10, 12, 13, 14];
/// Omocodia letters standing for 0..=9.
const OMOCODIA: &[u8; 10] = b"LMNPQRSTUV";
const MONTHS: &[u8; 12] = b"ABCDEHLMPRST";
const DAYS_IN_MONTH: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/// Values of characters in odd (1-based) positions, indexed by digit or letter.
const ODD_VALUES: [u8; 26] = [
    1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10, 22, 25, 24, 23,
];

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodiceFiscale(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodiceFiscaleError {
    #[error("Il codice fiscale deve avere 16 caratteri.")]
    Length,
    #[error("Il codice fiscale ha un carattere non valido in posizione {0}.")]
    Character(usize),
    #[error("Il mese di nascita nel codice fiscale non è valido.")]
    Month,
    #[error("Il giorno di nascita nel codice fiscale non è valido.")]
    Day,
    #[error(
        "Il carattere di controllo del codice fiscale è errato: controlla di averlo scritto bene."
    )]
    CheckCharacter,
    #[error("Il codice fiscale non corrisponde al cognome.")]
    Cognome,
    #[error("Il codice fiscale non corrisponde al nome.")]
    Nome,
}

impl CodiceFiscale {
    pub fn parse(input: &str) -> Result<Self, CodiceFiscaleError> {
        let code = compact_code(input);
        let bytes = code.as_bytes();
        if bytes.len() != 16 || !code.is_ascii() {
            return Err(CodiceFiscaleError::Length);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let ok = if DIGIT_POSITIONS.contains(&i) {
                b.is_ascii_digit() || OMOCODIA.contains(&b)
            } else {
                b.is_ascii_uppercase()
            };
            if !ok {
                return Err(CodiceFiscaleError::Character(i + 1));
            }
        }
        let month = MONTHS
            .iter()
            .position(|&m| m == bytes[8])
            .ok_or(CodiceFiscaleError::Month)?;
        let day = decode_digit(bytes[9]) * 10 + decode_digit(bytes[10]);
        let day = if day > 40 { day - 40 } else { day };
        if day == 0 || day > DAYS_IN_MONTH[month] {
            return Err(CodiceFiscaleError::Day);
        }
        if check_character(&bytes[..15]) != bytes[15] {
            return Err(CodiceFiscaleError::CheckCharacter);
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The code of a person from surname, name, birth ("80A01": year, month letter, day;
    /// +40 for women) and Belfiore place code ("H501"), with its check character.
    pub fn for_person(
        cognome: &str,
        nome: &str,
        birth: &str,
        place: &str,
    ) -> Result<Self, CodiceFiscaleError> {
        let codes = PersonCodes::of(cognome, nome);
        let body = format!(
            "{}{}{}{}",
            codes.cognome,
            codes.nome,
            compact_code(birth),
            compact_code(place)
        );
        if body.len() != 15 || !body.is_ascii() {
            return Err(CodiceFiscaleError::Length);
        }
        let check = check_character(body.as_bytes()) as char;
        Self::parse(&format!("{body}{check}"))
    }

    /// Refuses a code whose surname or name letters do not follow from `cognome` and `nome`.
    pub fn check_person(&self, cognome: &str, nome: &str) -> Result<(), CodiceFiscaleError> {
        let codes = PersonCodes::of(cognome, nome);
        if self.0[0..3] != codes.cognome {
            return Err(CodiceFiscaleError::Cognome);
        }
        if self.0[3..6] != codes.nome {
            return Err(CodiceFiscaleError::Nome);
        }
        Ok(())
    }
}

/// The three-letter codes a surname and a name give in a codice fiscale.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonCodes {
    pub cognome: String,
    pub nome: String,
}

impl PersonCodes {
    pub fn of(cognome: &str, nome: &str) -> Self {
        let (c, v) = consonants_and_vowels(cognome);
        let cognome = pad3(c.iter().chain(v.iter()).copied());
        let (c, v) = consonants_and_vowels(nome);
        let nome = if c.len() >= 4 {
            [c[0], c[2], c[3]].iter().collect()
        } else {
            pad3(c.iter().chain(v.iter()).copied())
        };
        Self { cognome, nome }
    }
}

fn consonants_and_vowels(name: &str) -> (Vec<char>, Vec<char>) {
    fold(name)
        .chars()
        .filter(char::is_ascii_uppercase)
        .partition(|c| !"AEIOU".contains(*c))
}

fn pad3(letters: impl Iterator<Item = char>) -> String {
    letters.chain(std::iter::repeat('X')).take(3).collect()
}

fn decode_digit(b: u8) -> u8 {
    if b.is_ascii_digit() {
        b - b'0'
    } else {
        OMOCODIA.iter().position(|&o| o == b).unwrap_or(0) as u8
    }
}

/// The check character of the first 15 characters (all ASCII digits or upper-case letters).
pub(crate) fn check_character(first15: &[u8]) -> u8 {
    let sum: u32 = first15
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            let index = if b.is_ascii_digit() {
                b - b'0'
            } else {
                b - b'A'
            } as usize;
            if i % 2 == 0 {
                u32::from(ODD_VALUES[index])
            } else {
                index as u32
            }
        })
        .sum();
    b'A' + (sum % 26) as u8
}

impl TryFrom<String> for CodiceFiscale {
    type Error = CodiceFiscaleError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<CodiceFiscale> for String {
    fn from(value: CodiceFiscale) -> Self {
        value.0
    }
}

impl fmt::Display for CodiceFiscale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::strategies;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_seed_code_and_its_person() {
        let cf = CodiceFiscale::parse(" dtsttd90a01a851q ").unwrap();
        assert_eq!(cf.as_str(), "DTSTTD90A01A851Q");
        cf.check_person("duetest", "testdue").unwrap();
        assert_eq!(
            CodiceFiscale::for_person("duetest", "testdue", "90A01", "A851").unwrap(),
            cf
        );
        assert_eq!(
            cf.check_person("rossi", "testdue"),
            Err(CodiceFiscaleError::Cognome)
        );
        assert_eq!(
            cf.check_person("duetest", "mario"),
            Err(CodiceFiscaleError::Nome)
        );
    }

    #[test]
    fn refuses_each_kind_of_error() {
        use CodiceFiscaleError::*;
        assert_eq!(CodiceFiscale::parse("DTSTTD90A01A851"), Err(Length));
        assert_eq!(CodiceFiscale::parse("DTSTTD90A01A851QQ"), Err(Length));
        assert_eq!(CodiceFiscale::parse("DTST1D90A01A851Q"), Err(Character(5)));
        assert_eq!(CodiceFiscale::parse("DTSTTD9AA01A851Q"), Err(Character(8)));
        assert_eq!(CodiceFiscale::parse("DTSTTD90Z01A851Q"), Err(Month));
        assert_eq!(CodiceFiscale::parse("DTSTTD90B30A851Q"), Err(Day));
        assert_eq!(CodiceFiscale::parse("DTSTTD90A00A851Q"), Err(Day));
        assert_eq!(
            CodiceFiscale::parse("DTSTTD90A01A851R"),
            Err(CheckCharacter)
        );
        assert_eq!(CodiceFiscale::parse("DTSTTDÈ0A01A851Q"), Err(Length));
    }

    #[test]
    fn person_codes_follow_the_rules() {
        assert_eq!(PersonCodes::of("Rossi", "Mario").cognome, "RSS");
        assert_eq!(PersonCodes::of("Rossi", "Mario").nome, "MRA");
        assert_eq!(PersonCodes::of("Fo", "Gianfranco").nome, "GFR");
        assert_eq!(PersonCodes::of("Fo", "Gianfranco").cognome, "FOX");
        assert_eq!(PersonCodes::of("D'Àngelo", "Nicolò").cognome, "DNG");
        assert_eq!(PersonCodes::of("D'Àngelo", "Nicolò").nome, "NCL");
    }

    /// Codes computed by an implementation independent of this one (python-codicefiscale,
    /// from the rules of DM 23/12/1976), with the first and last of their omocodia
    /// variants: surname, name, birth, Belfiore code, code, variants.
    const INDEPENDENT: [(&str, &str, &str, &str, &str, &str, &str); 10] = [
        (
            "Rossi",
            "Mario",
            "85T10",
            "A564",
            "RSSMRA85T10A564W",
            "RSSMRA85T10A56QT",
            "RSSMRAURTMLARSQX",
        ),
        (
            "Bianchi",
            "Maria Grazia",
            "96B69",
            "F205",
            "BNCMGR96B69F205J",
            "BNCMGR96B69F20RE",
            "BNCMGRVSBSVFNLRG",
        ),
        (
            "Fo",
            "Dario",
            "26C24",
            "H872",
            "FOXDRA26C24H872Y",
            "FOXDRA26C24H87NN",
            "FOXDRANSCNQHUTNF",
        ),
        (
            "Ai",
            "Ugo",
            "00A01",
            "H501",
            "AIXGUO00A01H501O",
            "AIXGUO00A01H50MG",
            "AIXGUOLLALMHRLMD",
        ),
        (
            "D'Angelo",
            "Nicolò",
            "77M15",
            "F839",
            "DNGNCL77M15F839M",
            "DNGNCL77M15F83VB",
            "DNGNCLTTMMRFUPVZ",
        ),
        (
            "De Santis",
            "Beatrice",
            "62R71",
            "L219",
            "DSNBRC62R71L219W",
            "DSNBRC62R71L21VL",
            "DSNBRCSNRTMLNMVX",
        ),
        (
            "Li",
            "Yu",
            "03L45",
            "G999",
            "LIXYUX03L45G999A",
            "LIXYUX03L45G99VP",
            "LIXYUXLPLQRGVVVM",
        ),
        (
            "Esposito",
            "Gianfranco",
            "51D30",
            "G273",
            "SPSGFR51D30G273V",
            "SPSGFR51D30G27PR",
            "SPSGFRRMDPLGNTPN",
        ),
        (
            "Oliveri",
            "Eua",
            "90B68",
            "A662",
            "LVREUA90B68A662V",
            "LVREUA90B68A66NK",
            "LVREUAVLBSUASSNC",
        ),
        (
            "Zecchini",
            "Iole",
            "48P52",
            "A952",
            "ZCCLIO48P52A952F",
            "ZCCLIO48P52A95NU",
            "ZCCLIOQUPRNAVRNF",
        ),
    ];

    #[test]
    fn codes_match_an_independent_implementation() {
        for (cognome, nome, birth, place, code, first_variant, last_variant) in INDEPENDENT {
            let made = CodiceFiscale::for_person(cognome, nome, birth, place).unwrap();
            assert_eq!(made.as_str(), code, "{cognome} {nome}");
            for variant in [code, first_variant, last_variant] {
                let parsed = CodiceFiscale::parse(variant).unwrap();
                parsed.check_person(cognome, nome).unwrap();
            }
            let mut wrong = code.as_bytes().to_vec();
            wrong[15] = if wrong[15] == b'Z' {
                b'A'
            } else {
                wrong[15] + 1
            };
            assert_eq!(
                CodiceFiscale::parse(std::str::from_utf8(&wrong).unwrap()),
                Err(CodiceFiscaleError::CheckCharacter)
            );
        }
    }

    /// A valid code, possibly with omocodia substitutions, and its check character.
    pub(crate) fn valid_code() -> impl Strategy<Value = String> {
        (
            "[A-Z]{6}",
            strategies::birth(),
            "[A-Z][0-9]{3}",
            proptest::collection::vec(any::<bool>(), 7),
        )
            .prop_map(|(letters, birth, place, omocodia)| {
                let mut body: Vec<u8> = format!("{letters}{birth}{place}").into_bytes();
                for (pos, swap) in DIGIT_POSITIONS.iter().zip(omocodia) {
                    if swap {
                        body[*pos] = OMOCODIA[(body[*pos] - b'0') as usize];
                    }
                }
                body.push(check_character(&body));
                String::from_utf8(body).unwrap()
            })
    }

    proptest! {
        // Parsing is microseconds: 1,000 cases a property.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        #[test]
        fn valid_codes_round_trip(code in valid_code()) {
            let parsed = CodiceFiscale::parse(&code.to_lowercase()).unwrap();
            prop_assert_eq!(parsed.as_str(), code.as_str());
            let json = serde_json::to_string(&parsed).unwrap();
            prop_assert_eq!(serde_json::from_str::<CodiceFiscale>(&json).unwrap(), parsed);
        }

        #[test]
        fn any_other_check_character_is_refused(code in valid_code(), other in b'A'..=b'Z') {
            prop_assume!(other != code.as_bytes()[15]);
            let mut bytes = code.into_bytes();
            bytes[15] = other;
            let mutated = String::from_utf8(bytes).unwrap();
            prop_assert_eq!(CodiceFiscale::parse(&mutated), Err(CodiceFiscaleError::CheckCharacter));
        }

        /// Any letter of the name, surname, month or place changed: never a valid code.
        #[test]
        fn a_changed_character_breaks_the_check(
            code in valid_code(),
            pos in prop::sample::select(vec![0usize, 1, 2, 3, 4, 5, 8, 11]),
            shift in 1u8..26,
        ) {
            let mut bytes = code.into_bytes();
            bytes[pos] = b'A' + (bytes[pos] - b'A' + shift) % 26;
            prop_assert!(CodiceFiscale::parse(&String::from_utf8(bytes).unwrap()).is_err());
        }

        /// A person's own code, from any name and any birth, is theirs and no one else's.
        #[test]
        fn a_persons_code_names_that_person(
            cognome in strategies::person_name(),
            nome in strategies::person_name(),
            birth in strategies::birth(),
            place in "[A-Z][0-9]{3}",
        ) {
            let code = CodiceFiscale::for_person(&cognome, &nome, &birth, &place).unwrap();
            prop_assert_eq!(code.check_person(&cognome, &nome), Ok(()));
            prop_assert_eq!(code.check_person(&cognome.to_uppercase(), &nome.to_lowercase()), Ok(()));
            if PersonCodes::of("Zzyzx", "Qwrtp").cognome != code.as_str()[0..3] {
                prop_assert_eq!(code.check_person("Zzyzx", &nome), Err(CodiceFiscaleError::Cognome));
            }
        }

        #[test]
        fn never_panics(input in "\\PC{0,40}") {
            let _ = CodiceFiscale::parse(&input);
        }
    }
}
