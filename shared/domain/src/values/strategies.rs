//! Generators of valid input, valid by construction: every case they draw reaches the
//! branch a property checks (a generator that mostly draws invalid input tests the error
//! path only). Each follows the rule it generates for from its own source, not from the
//! parser under test: the calendar, ISTAT's list, the numbering plan, RFC 5321.

use proptest::prelude::*;

/// The month letters of a codice fiscale (DM 23/12/1976), January to December.
pub const MONTH_LETTERS: &[u8; 12] = b"ABCDEHLMPRST";
/// Days per month; February has 29 because a two-digit year cannot rule out a leap year.
const DAYS: [u8; 12] = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/// ISTAT's comuni, as the repository ships them.
const COMUNI: &str = include_str!("../../../../infra/istat/comuni.tsv");

/// Every (provincia sigla, comune name) of the ISTAT list, in its order.
pub fn all_comuni() -> Vec<(&'static str, &'static str)> {
    COMUNI
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            (cols.next().unwrap(), cols.next().unwrap())
        })
        .collect()
}

/// A comune of the list with its provincia.
pub fn comune() -> impl Strategy<Value = (&'static str, &'static str)> {
    let all = all_comuni();
    (0..all.len()).prop_map(move |i| all[i])
}

/// A birth date as a codice fiscale writes it: "YYMDD", day + 40 for a woman; any day of
/// any month.
pub fn birth() -> impl Strategy<Value = String> {
    (0u8..100, 0usize..12, any::<bool>())
        .prop_flat_map(|(year, month, female)| {
            (Just(year), Just(month), 1..=DAYS[month], Just(female))
        })
        .prop_map(|(year, month, day, female)| {
            let day = if female { day + 40 } else { day };
            format!("{year:02}{}{day:02}", MONTH_LETTERS[month] as char)
        })
}

/// A person's name: plain, accented, with an apostrophe, a hyphen or two words, short
/// (fewer than three consonants) or long.
pub fn person_name() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[A-Z][a-z]{1,11}",
        1 => "[A-Z][a-z]{1,6} [A-Z][a-z]{1,6}",
        1 => "[A-Z]'[A-Z][a-z]{2,8}",
        1 => "[A-Z][a-z]{2,6}-[A-Z][a-z]{2,6}",
        1 => prop::sample::select(vec![
            "Nicolò", "Çelik", "Fo", "Ai", "Ugo", "Eua", "Yu", "Zoë", "Mühlbauer", "Sant'Elia",
        ])
        .prop_map(str::to_owned),
    ]
}

/// An Italian mobile number (31x–39x and ten digits, the numbering plan's mobile range),
/// written as people write it.
pub fn mobile() -> impl Strategy<Value = (String, String)> {
    ("3[1-9][0-9]{8}", 0usize..4).prop_map(|(digits, style)| {
        let e164 = format!("+39{digits}");
        let written = match style {
            0 => digits.clone(),
            1 => e164.clone(),
            2 => format!("+39 {} {} {}", &digits[..3], &digits[3..6], &digits[6..]),
            _ => format!("0039{digits}"),
        };
        (written, e164)
    })
}

/// An address of RFC 5321's common form: dot-separated atoms, a domain of labels.
pub fn email() -> impl Strategy<Value = String> {
    (
        prop::collection::vec("[a-z0-9][a-z0-9_%+-]{0,7}", 1..4),
        prop::collection::vec(
            // Hyphens in a label's third and fourth places are reserved (IDNA: `xn--`…).
            "[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?"
                .prop_filter("a reserved label", |l| l.get(2..4) != Some("--")),
            1..3,
        ),
        "[a-z]{2,6}",
        any::<bool>(),
    )
        .prop_map(|(atoms, labels, tld, shout)| {
            let domain = format!("{}.{tld}", labels.join("."));
            let domain = if shout { domain.to_uppercase() } else { domain };
            format!("{}@{domain}", atoms.join("."))
        })
}

/// A partita IVA: seven digits (not all zero), a provincial office code of those in use
/// (001–100, 120, 121, 888, 999) and its Luhn check digit, computed here.
pub fn partita_iva() -> impl Strategy<Value = String> {
    (
        "[0-9]{6}[1-9]",
        prop_oneof![1u16..=100, Just(120), Just(121), Just(888), Just(999)],
    )
        .prop_map(|(number, office)| {
            let body = format!("{number}{office:03}");
            format!("{body}{}", luhn_digit(&body))
        })
}

/// The Luhn check digit of a digit string (every second digit from the left doubled).
pub fn luhn_digit(body: &str) -> u8 {
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let twice = d * 2;
                twice / 10 + twice % 10
            } else {
                d
            }
        })
        .sum();
    ((10 - sum % 10) % 10) as u8
}

#[test]
fn the_luhn_digit_of_known_numbers() {
    // Agenzia delle Entrate's own partita IVA, and numbers checked with python-stdnum.
    for (body, digit) in [("0636339100", 1), ("1234567001", 7), ("0743110015", 0)] {
        assert_eq!(luhn_digit(body), digit, "{body}");
    }
}
