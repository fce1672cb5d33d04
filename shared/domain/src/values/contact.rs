//! Phone numbers (E.164) and email addresses.

use icu_properties::props::Script;
use icu_properties::script::ScriptWithExtensions;
use phonenumber::metadata::Database;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex};
use unicode_normalization::UnicodeNormalization;

pub use super::italian_phone::PhoneError;

/// libphonenumber's rules split by calling code (see `build.rs`).
mod phone_metadata {
    include!(concat!(env!("OUT_DIR"), "/phone_regions.rs"));
}

/// The calling code `digits` begin with: calling codes are prefix-free, so there is one at most.
fn calling_code_of(digits: &str) -> Option<u16> {
    (1..=3)
        .filter_map(|n| digits.get(..n)?.parse::<u16>().ok())
        .find(|code| {
            phone_metadata::REGIONS
                .binary_search_by_key(code, |(c, _)| *c)
                .is_ok()
        })
}

/// The rules of the given calling codes as one database, decoded once per set of codes.
/// Decoding all of libphonenumber's regions takes ~110 ms and 6 MB, on the first number a
/// process reads; Italy's takes a fraction of a millisecond.
fn database(codes: &[u16]) -> Arc<Database> {
    static BUILT: LazyLock<Mutex<HashMap<Vec<u16>, Arc<Database>>>> =
        LazyLock::new(Default::default);
    // A poisoned lock only means another parse panicked while holding it; the map is intact.
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(db) = built.get(codes) {
        return db.clone();
    }
    let regions = codes
        .iter()
        .filter_map(|code| {
            let at = phone_metadata::REGIONS.binary_search_by_key(code, |(c, _)| *c);
            at.ok().map(|i| phone_metadata::REGIONS[i].1)
        })
        .flat_map(|bytes| {
            postcard::from_bytes::<Vec<phonenumber::metadata::loader::Metadata>>(bytes)
                .expect("build.rs encoded these regions")
        })
        .collect();
    let db = Arc::new(Database::from(regions).expect("libphonenumber's own patterns"));
    // Sets of codes are few (Italy, plus the country a number is from); bound them anyway.
    if built.len() < 256 {
        built.insert(codes.to_vec(), db.clone());
    }
    db
}

/// A valid phone number in E.164 form ("+390612345678"). Numbers written without a
/// country prefix are read as Italian.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct PhoneNumber {
    e164: String,
    country_code: u16,
}

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        Self::parse_number(input).map(|(number, _)| number)
    }

    /// Parses with libphonenumber's rules (the `phonenumber` crate), given only the regions
    /// the number can belong to: Italy (the default region and its national prefix) and the
    /// country whose calling code follows a `+` or `00`. The result is the crate's with all
    /// its regions (a test compares them), without decoding the other 240.
    fn parse_number(input: &str) -> Result<(Self, phonenumber::Type), PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(PhoneError::Invalid);
        }
        // Digits and the separators people write. Letters (vanity numbers, "ext. 12") and
        // other scripts' digits are refused, so the digits seen here are all the number has.
        let written: String = trimmed
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .collect();
        if !written
            .bytes()
            .all(|b| b.is_ascii_digit() || b" +-./()".contains(&b))
        {
            return Err(PhoneError::Invalid);
        }
        // The common way of writing an Italian number is answered from automata compiled
        // at build time, exactly as the crate would (see italian_phone.rs).
        let answer = match super::italian_phone::parse(&written) {
            Some(answer) => answer.map(|(e164, kind)| ((e164, 39), kind)),
            None => Self::parse_with_crate(written),
        };
        answer.map(|((e164, country_code), kind)| (Self { e164, country_code }, kind))
    }

    /// libphonenumber's rules through the `phonenumber` crate: (E.164, calling code) and type.
    fn parse_with_crate(written: String) -> Result<((String, u16), phonenumber::Type), PhoneError> {
        // Written without a country prefix, a number is Italian: say so before parsing, as
        // the crate reads a national number starting with 39 as carrying Italy's prefix
        // (whisperfish/rust-phonenumber#68) and so refused every 391–399 mobile.
        let international = if written.contains('+') || written.starts_with("00") {
            written
        } else {
            format!("+39 {written}")
        };
        let digits = |s: &str| -> String {
            s.bytes()
                .filter(u8::is_ascii_digit)
                .map(char::from)
                .collect()
        };
        let all = digits(&international);
        let after_plus = international.split_once('+').map(|(_, rest)| digits(rest));
        let mut codes = vec![39];
        codes.extend(
            [
                Some(all.as_str()),
                all.strip_prefix("00"),
                after_plus.as_deref(),
            ]
            .into_iter()
            .flatten()
            .filter_map(calling_code_of),
        );
        codes.sort_unstable();
        codes.dedup();
        let db = database(&codes);
        let number =
            phonenumber::parse_with(&db, Some(phonenumber::country::Id::IT), &international)
                .map_err(|_| PhoneError::Invalid)?;
        if !number.is_valid_with(&db) || number.extension().is_some() {
            return Err(PhoneError::Invalid);
        }
        let kind = number.number_type(&db);
        // E.164 is "+", the code and the national number: what the crate's E164 mode
        // writes, without the formatter, which first compiles every national format's
        // pattern of the country (~90 ms on a cold start) though E.164 uses none.
        let code = number.code().value();
        Ok(((format!("+{code}{}", number.national()), code), kind))
    }

    /// A number as this type wrote it to the store (E.164), trusted: reading a stored holder
    /// does not run the numbering rules again. Only its form is checked.
    pub(crate) fn stored(e164: &str) -> Result<Self, PhoneError> {
        let digits = e164
            .strip_prefix('+')
            .filter(|d| (3..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
            .ok_or(PhoneError::Invalid)?;
        let country_code = calling_code_of(digits).ok_or(PhoneError::Invalid)?;
        Ok(Self {
            e164: e164.to_owned(),
            country_code,
        })
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "String")]
pub struct MobileNumber(PhoneNumber);

impl MobileNumber {
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let (number, kind) = PhoneNumber::parse_number(input)?;
        match kind {
            phonenumber::Type::Mobile | phonenumber::Type::FixedLineOrMobile => Ok(Self(number)),
            _ => Err(PhoneError::NotMobile),
        }
    }

    /// A mobile number as this type wrote it to the store, trusted (see [`PhoneNumber::stored`]).
    pub(crate) fn stored(e164: &str) -> Result<Self, PhoneError> {
        PhoneNumber::stored(e164).map(Self)
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn country_code(&self) -> u16 {
        self.0.country_code()
    }
}

/// Serde reads phone numbers from the store only (request bodies carry strings that
/// `parse` checks): what the service wrote is trusted as written.
macro_rules! stored_deserialize {
    ($ty:ty) => {
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::stored(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}
stored_deserialize!(PhoneNumber);
stored_deserialize!(MobileNumber);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Indirizzo email non valido.")]
    Invalid,
    #[error(
        "La parte prima di @ può contenere solo lettere latine senza accenti, cifre e simboli."
    )]
    LocalPartNotAscii,
    #[error(
        "Il dominio mescola alfabeti diversi (per esempio latino e cirillico): controlla l'indirizzo."
    )]
    MixedScript,
}

/// Whether every letter of `text` can be written in one script: UTS #39's single-script test
/// on Script_Extensions, with its augmented sets (Han with kana is Japanese, with Hangul
/// Korean). "pec.it", "caffè" and "例え" are; "pаypal" with a Cyrillic "а" is not.
fn is_single_script(text: &str) -> bool {
    let scripts = ScriptWithExtensions::new();
    let mut common: Option<Vec<Writing>> = None;
    for c in text.chars() {
        let own: Vec<Script> = scripts.get_script_extensions_val(c).iter().collect();
        if own
            .iter()
            .any(|s| *s == Script::Common || *s == Script::Inherited)
        {
            continue;
        }
        let own: Vec<Writing> = own.into_iter().flat_map(augmented).collect();
        let kept = match common.take() {
            None => own,
            Some(so_far) => so_far.into_iter().filter(|s| own.contains(s)).collect(),
        };
        if kept.is_empty() {
            return false;
        }
        common = Some(kept);
    }
    true
}

/// A script, or one of the writing systems UTS #39 lets scripts join.
#[derive(Clone, Copy, PartialEq)]
enum Writing {
    Script(Script),
    Japanese,
    Korean,
    HanWithBopomofo,
}

fn augmented(script: Script) -> Vec<Writing> {
    let own = Writing::Script(script);
    match script {
        Script::Han => vec![
            own,
            Writing::Japanese,
            Writing::Korean,
            Writing::HanWithBopomofo,
        ],
        Script::Hiragana | Script::Katakana => vec![own, Writing::Japanese],
        Script::Hangul => vec![own, Writing::Korean],
        Script::Bopomofo => vec![own, Writing::HanWithBopomofo],
        _ => vec![own],
    }
}

/// An email address (RFC 5321/5322 syntax, with a dotted domain). The domain is kept in its
/// ASCII form after UTS #46 ("Caffè.IT" → "xn--caff-8oa.it"), so masks and logs show a
/// look-alike domain for what it is; a label mixing scripts is refused, and so is a local
/// part that is not ASCII, which SES cannot deliver (docs/security.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let composed: String = input.trim().nfc().collect();
        let trimmed = composed.as_str();
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
        if !parsed.local_part().is_ascii() {
            return Err(EmailError::LocalPartNotAscii);
        }
        let ascii = idna::domain_to_ascii(domain).map_err(|_| EmailError::Invalid)?;
        let (unicode, _) = idna::domain_to_unicode(&ascii);
        if !unicode.split('.').all(is_single_script) {
            return Err(EmailError::MixedScript);
        }
        if ascii.len() + parsed.local_part().len() + 1 > 254 {
            return Err(EmailError::Invalid);
        }
        Ok(Self(format!("{}@{ascii}", parsed.local_part())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

macro_rules! string_conversions {
    ($ty:ty) => {
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
string_conversions!(PhoneNumber);
string_conversions!(MobileNumber);
string_conversions!(EmailAddress);

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
    fn scripts_are_told_apart() {
        for one in [
            "pec.it",
            "caffè-sport",
            "münchen",
            "пример",
            "例え",
            "한국어",
            "a-1",
        ] {
            assert!(is_single_script(one), "{one}");
        }
        for mixed in [
            "p\u{430}ypal",
            "pec\u{3B1}",
            "ex\u{430}mple-1",
            "ひらがな한",
        ] {
            assert!(!is_single_script(mixed), "{mixed}");
        }
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
        // UTS #46: mapped, lower-cased and kept as ASCII; the same address however written.
        let idn = EmailAddress::parse("bar@Caffè.IT").unwrap();
        assert_eq!(idn.as_str(), "bar@xn--caff-8oa.it");
        assert_eq!(EmailAddress::parse("bar@caffe\u{300}.it").unwrap(), idn);
        assert_eq!(EmailAddress::parse(idn.as_str()).unwrap(), idn);
        assert_eq!(
            EmailAddress::parse("info@пример.рф").unwrap().as_str(),
            "info@xn--e1afmkfd.xn--p1ai"
        );
        // A Cyrillic "а" in a Latin name, written or as its ASCII form.
        assert_eq!(
            EmailAddress::parse("m@p\u{430}ypal.it"),
            Err(EmailError::MixedScript)
        );
        let lookalike = idna::domain_to_ascii("p\u{430}ypal.it").unwrap();
        assert_eq!(
            EmailAddress::parse(&format!("m@{lookalike}")),
            Err(EmailError::MixedScript)
        );
        assert_eq!(
            EmailAddress::parse("mària@pec.it"),
            Err(EmailError::LocalPartNotAscii)
        );
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

    /// The parse as it was before the rules were split by calling code: the crate with all
    /// of libphonenumber's regions, the reference the split parser must equal.
    fn with_all_regions(input: &str) -> Result<(String, u16, phonenumber::Type), PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() || trimmed.len() > 32 {
            return Err(PhoneError::Invalid);
        }
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
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        Ok((e164, number.code().value(), kind))
    }

    fn split(input: &str) -> Result<(String, u16, phonenumber::Type), PhoneError> {
        PhoneNumber::parse_number(input).map(|(n, kind)| (n.e164, n.country_code, kind))
    }

    /// The metadata compiled in is the crate's: same regions under the same codes, same rules
    /// for parsing and validation (with `\d` written `[0-9]`, see `build.rs`).
    #[test]
    fn the_split_metadata_is_the_crates() {
        let crate_regions: std::collections::BTreeSet<_> = phonenumber::metadata::DATABASE
            .iter()
            .map(|m| m.id().to_owned())
            .collect();
        let mut ours = std::collections::BTreeSet::new();
        for (code, bytes) in phone_metadata::REGIONS {
            let regions: Vec<phonenumber::metadata::loader::Metadata> =
                postcard::from_bytes(bytes).unwrap();
            for region in regions {
                let id = region.id.clone().unwrap();
                ours.insert(id.clone());
                // Non-geographic numbers ("001") are one id under several codes.
                let theirs = phonenumber::metadata::DATABASE
                    .by_code(code)
                    .and_then(|list| list.into_iter().find(|m| m.id() == id))
                    .unwrap_or_else(|| panic!("{id} under +{code}"));
                let pattern = |d: &Option<phonenumber::metadata::loader::Descriptor>| {
                    d.as_ref().and_then(|d| d.national_number.clone())
                };
                let theirs_pattern = |d: Option<&phonenumber::metadata::Descriptor>| {
                    d.map(|d| d.national_number().as_str().replace(r"\d", "[0-9]"))
                };
                let t = theirs.descriptors();
                assert_eq!(
                    pattern(&region.general),
                    theirs_pattern(Some(t.general())),
                    "{id}"
                );
                assert_eq!(pattern(&region.mobile), theirs_pattern(t.mobile()), "{id}");
                assert_eq!(
                    pattern(&region.fixed_line),
                    theirs_pattern(t.fixed_line()),
                    "{id}"
                );
                assert_eq!(
                    region.national_prefix.as_deref(),
                    theirs.national_prefix(),
                    "{id}"
                );
                assert_eq!(
                    region.national_prefix_for_parsing.is_some(),
                    theirs.national_prefix_for_parsing().is_some(),
                    "{id}"
                );
                assert_eq!(
                    region.leading_digits.is_some(),
                    theirs.leading_digits().is_some(),
                    "{id}"
                );
                // Formatting rules are left out (see build.rs): nothing here formats.
                assert!(region.formats.is_empty(), "{id}");
            }
        }
        assert_eq!(ours, crate_regions);
    }

    /// The current corpus (the independent vectors above and the unit cases), foreign numbers
    /// of every calling code, and the ways people write them: the split parser answers as
    /// the crate with all its regions, number, code and type.
    #[test]
    fn the_split_parser_equals_the_crate_on_the_corpus() {
        let mut corpus: Vec<String> = [
            "3331234567",
            "3201234567",
            "3931234567",
            "3131234567",
            "0612345678",
            "0212345678",
            "800123456",
            "899123456",
            "3001234567",
            "06 1234 5678",
            "+39 333 123 4567",
            "+44 7400 123456",
            "12",
            "abc",
            "(+39) 333 1234567",
            "0039 333 1234567",
            "+39 (0)6 1234567",
            "+41 79 123 45 67",
            "0041791234567",
            "+1 202 555 0143",
            "+33 6 12 34 56 78",
            "+49 1512 3456789",
            "+379 06 698 12345",
            "+39 06 698 12345",
            "333+1234567",
            "+",
            "00",
            "0",
            "+0 123",
            "+999 1234567",
        ]
        .map(String::from)
        .to_vec();
        for (code, _) in phone_metadata::REGIONS {
            for tail in ["1234567", "612345678", "7400123456", "20123456"] {
                corpus.push(format!("+{code} {tail}"));
                corpus.push(format!("00{code}{tail}"));
            }
        }
        for input in &corpus {
            assert_eq!(split(input), with_all_regions(input), "{input:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Any text of digits and the separators people write answers as the crate with
        /// all its regions; so does any number of a calling code's length and shape.
        #[test]
        fn the_split_parser_equals_the_crate(
            written in "[0-9 +()./-]{0,20}",
            code in prop::sample::select(phone_metadata::REGIONS.iter().map(|(c, _)| *c).collect::<Vec<_>>()),
            national in "[0-9]{4,12}",
            prefix in prop::sample::select(vec!["+", "00", "+ ", "(+", ""]),
        ) {
            prop_assert_eq!(split(&written), with_all_regions(&written), "{:?}", written);
            let number = format!("{prefix}{code} {national}");
            prop_assert_eq!(split(&number), with_all_regions(&number), "{:?}", number);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2_000))]

        /// Italian numbers written the common way (no prefix, "+39" or "0039"; digits and
        /// spaces, dots or dashes) take the shortcut of italian_phone.rs and answer as the
        /// crate with all its regions: valid or not, number, code and type
        /// (mobiles, fixed lines, Vatican City's 06698, toll-free, premium, too short or long).
        #[test]
        fn the_italian_shortcut_equals_the_crate(
            prefix in prop::sample::select(vec!["", "", "+39", "+39 ", "+39-", "0039", "0039 ", "0039."]),
            digits in "(3[0-9]{7,11}|0[1-9][0-9]{3,11}|06698[0-9]{3,7}|[1-9][0-9]{1,12}|0{1,3}[0-9]{0,15})",
            separators in prop::collection::vec(prop::sample::select(vec!["", "", "", " ", ".", "-", "  "]), 18),
        ) {
            let mut written = prefix.to_owned();
            for (i, (digit, separator)) in digits.chars().zip(separators.iter().chain(std::iter::repeat(&""))).enumerate() {
                if i > 0 {
                    written.push_str(separator);
                }
                written.push(digit);
            }
            // Left to the crate: "+39" and separators without a space (RFC 3966's reading),
            // and "00" not followed by 39.
            let taken = match written.strip_prefix("+39") {
                Some(rest) => written.contains(' ') || rest.bytes().all(|b| b.is_ascii_digit()),
                None => written.starts_with("0039") || !written.starts_with("00"),
            };
            prop_assert_eq!(
                super::super::italian_phone::parse(&written).is_some(),
                taken,
                "{:?}", written
            );
            prop_assert_eq!(split(&written), with_all_regions(&written), "{:?}", written);
        }
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
