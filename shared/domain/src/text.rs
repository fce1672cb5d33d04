//! Text normalisation shared by the parsers and the search index.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// Trims and folds every run of white space into one space.
pub fn collapse_whitespace(input: &str) -> String {
    input.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Upper-case ASCII form without accents, for comparisons that ignore case and accents
/// ("Nicolò" and "NICOLO" fold alike). Characters with no ASCII base are kept upper-cased.
pub fn fold(input: &str) -> String {
    collapse_whitespace(input)
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_uppercase)
        .collect()
}

/// The key under which a name is indexed for prefix search: folded, and without the
/// characters the store uses as separators.
pub fn search_key(input: &str) -> String {
    fold(input)
        .chars()
        .filter(|c| *c != '#' && !c.is_control())
        .collect()
}

/// Upper-case code without any white space ("dts ttd 90a01" → "DTSTTD90A01").
pub fn compact_code(input: &str) -> String {
    input
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_accents_and_case() {
        assert_eq!(fold("  Nicolò   d'Àlessandro "), "NICOLO D'ALESSANDRO");
        assert_eq!(search_key("Caffè #1"), "CAFFE 1");
        assert_eq!(compact_code(" dts ttd\t90a01 "), "DTSTTD90A01");
    }
}
