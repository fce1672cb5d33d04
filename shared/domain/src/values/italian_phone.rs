//! Italian numbers written the common way ("333 123 4567", "06-1234.5678"), checked against
//! libphonenumber's rules for calling code 39 compiled to DFAs at build time (`build.rs`).
//!
//! What the `phonenumber` crate answers for such a number, step for step: its parser reads
//! the calling code 39 (after "+", after Italy's international prefix "00", or in the "+39 "
//! `contact.rs` writes before a number without one) and the digits after it (no extension
//! can be written with digits, spaces, dots and dashes, and Italy strips no national prefix); `is_valid` and `number_type` pick the region with
//! `source_for` and classify with `number_type`, both mirrored here. The crate compiles its
//! input regexes and Italy's patterns on a process's first number (~3 ms of a cold start);
//! these automata are deserialized without compiling anything. Every other way of writing a
//! number goes to the crate; tests in `contact.rs` compare the two on the same inputs.

use phonenumber::Type;
use regex_automata::dfa::Automaton;
use regex_automata::dfa::dense::DFA;
use regex_automata::util::wire::AlignAs;
use regex_automata::{Anchored, Input};
use std::sync::LazyLock;

/// Why a number is refused (by this parser and by the crate's, see `contact.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error(
        "Numero di telefono non valido: scrivilo in formato internazionale, per esempio +39 06 1234567."
    )]
    Invalid,
    #[error("Il numero non è di un cellulare.")]
    NotMobile,
}

type Bytes = AlignAs<[u8], u32>;

/// A descriptor of libphonenumber's metadata: its national number pattern and lengths.
struct Pattern {
    dfa: &'static Bytes,
    lengths: &'static [u16],
}

struct Region {
    #[cfg_attr(not(test), allow(dead_code))] // which region: the tests check the order
    id: &'static str,
    leading_digits: Option<&'static Bytes>,
    general: Option<Pattern>,
    /// The types `number_type` tries before fixed line and mobile, in its order.
    special: [(Type, Option<Pattern>); 8],
    fixed_line: Option<Pattern>,
    mobile: Option<Pattern>,
    /// The two patterns are the same text (then a fixed line is "fixed line or mobile").
    fixed_line_is_mobile: bool,
}

mod tables {
    use super::{AlignAs, Pattern, Region, Type};
    include!(concat!(env!("OUT_DIR"), "/phone_39.rs"));
}

/// An automaton read from the binary: validated once, then borrowed, never copied.
type Automaton39 = DFA<&'static [u32]>;

/// A pattern's automaton and the lengths it allows.
type Checked = (Automaton39, &'static [u16]);

struct Loaded {
    general: Option<Checked>,
    special: Vec<(Type, Checked)>,
    fixed_line: Option<Checked>,
    mobile: Option<Checked>,
    leading_digits: Option<Automaton39>,
    fixed_line_is_mobile: bool,
}

fn load(bytes: &'static Bytes) -> Automaton39 {
    DFA::from_bytes(&bytes.bytes)
        .expect("build.rs serialized this DFA for this target")
        .0
}

static REGIONS: LazyLock<Vec<Loaded>> = LazyLock::new(|| {
    let pattern = |p: &Option<Pattern>| p.as_ref().map(|p| (load(p.dfa), p.lengths));
    tables::REGIONS
        .iter()
        .map(|r| Loaded {
            general: pattern(&r.general),
            special: r
                .special
                .iter()
                .filter_map(|(kind, p)| Some((*kind, pattern(p)?)))
                .collect(),
            fixed_line: pattern(&r.fixed_line),
            mobile: pattern(&r.mobile),
            leading_digits: r.leading_digits.map(load),
            fixed_line_is_mobile: r.fixed_line_is_mobile,
        })
        .collect()
});

/// A match that starts at the first digit (the crate's `find(..).start() == 0`).
fn starts_with_match(dfa: &Automaton39, digits: &str) -> bool {
    let input = Input::new(digits).anchored(Anchored::Yes).earliest(true);
    // The automata have no quit bytes and no Unicode word boundary: a search cannot fail.
    matches!(dfa.try_search_fwd(&input), Ok(Some(_)))
}

/// The crate's `Descriptor::is_match`.
fn is_match(pattern: Option<&Checked>, digits: &str) -> bool {
    pattern.is_some_and(|(dfa, lengths)| {
        (lengths.is_empty() || lengths.contains(&(digits.len() as u16)))
            && starts_with_match(dfa, digits)
    })
}

/// The crate's `validator::number_type`.
fn number_type(region: &Loaded, digits: &str) -> Type {
    if !is_match(region.general.as_ref(), digits) {
        return Type::Unknown;
    }
    for (kind, pattern) in &region.special {
        if is_match(Some(pattern), digits) {
            return *kind;
        }
    }
    if is_match(region.fixed_line.as_ref(), digits) {
        if region.fixed_line_is_mobile || is_match(region.mobile.as_ref(), digits) {
            return Type::FixedLineOrMobile;
        }
        return Type::FixedLine;
    }
    if is_match(region.mobile.as_ref(), digits) {
        return Type::Mobile;
    }
    Type::Unknown
}

/// The crate's `validator::source_for` for calling code 39.
fn source_for(digits: &str) -> Option<&'static Loaded> {
    let regions: &'static [Loaded] = &REGIONS;
    if let [only] = regions {
        return Some(only);
    }
    regions.iter().find(|region| match &region.leading_digits {
        Some(dfa) => starts_with_match(dfa, digits),
        None => number_type(region, digits) != Type::Unknown,
    })
}

/// The E.164 form and type of an Italian number written as digits separated by spaces, dots
/// or dashes, after "+39", "0039" or no prefix (then read as Italian, as `contact.rs` does);
/// `None` when it is written any other way.
pub(super) fn parse(written: &str) -> Option<Result<(String, Type), PhoneError>> {
    let is_separator = |b: u8| matches!(b, b' ' | b'.' | b'-');
    let rest = if let Some(rest) = written.strip_prefix("+39") {
        // Without a space the crate first tries RFC 3966 ("+39-06-…"), where the country code
        // runs to the first separator: the same digits only when there is no separator.
        if !written.contains(' ') && !rest.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        rest
    } else if let Some(rest) = written.strip_prefix("0039") {
        rest
    } else if written.starts_with("00") || !written.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    } else {
        written
    };
    let simple = written.ends_with(|c: char| c.is_ascii_digit())
        && rest.bytes().all(|b| b.is_ascii_digit() || is_separator(b));
    if !simple {
        return None;
    }
    let national: String = rest.chars().filter(char::is_ascii_digit).collect();
    Some(classify(&national))
}

/// What the crate decides about "+39" and these national digits.
fn classify(national: &str) -> Result<(String, Type), PhoneError> {
    // The parser's limits on a national number (2 to 17 digits), then its `NationalNumber`:
    // the leading zeros counted apart, the rest an integer below 2^56.
    if !(2..=17).contains(&national.len()) {
        return Err(PhoneError::Invalid);
    }
    let significant = national.trim_start_matches('0');
    match significant.parse::<u64>() {
        Ok(value) if value < 1 << 56 => {}
        _ => return Err(PhoneError::Invalid),
    }
    // `is_valid` reads the number with its leading zeros, `number_type` without them.
    let valid = source_for(national).is_some_and(|r| number_type(r, national) != Type::Unknown);
    if !valid {
        return Err(PhoneError::Invalid);
    }
    let kind = source_for(significant).map_or(Type::Unknown, |r| number_type(r, significant));
    Ok((format!("+39{national}"), kind))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tables_hold_italy_then_vatican_city() {
        let ids: Vec<_> = tables::REGIONS.iter().map(|r| r.id).collect();
        assert_eq!(ids, ["IT", "VA"]);
        assert!(REGIONS[1].leading_digits.is_some());
        assert!(!REGIONS[0].special.is_empty());
    }

    #[test]
    fn only_the_simple_italian_shape_takes_the_shortcut() {
        for simple in [
            "3331234567",
            "333 123 4567",
            "06-1234.5678",
            "12",
            "+39 333 1234567",
            "+393331234567",
            "+39 06.1234-5678",
            "0039 333 1234567",
            "0039-333-1234567",
        ] {
            assert!(parse(simple).is_some(), "{simple}");
        }
        for other in [
            "+39-333-1234567",
            "+39333.1234567",
            "+44 7400 123456",
            "0044 7400 123456",
            "00 39 333",
            "(06) 1234",
            "333 ",
            "-333",
            "06/1234",
            "",
        ] {
            assert!(parse(other).is_none(), "{other}");
        }
    }
}
