//! The service's secret key and what is derived from it: one-time codes and link tokens.
//! Nothing derived here is ever stored; whoever holds the key derives it again.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;
use subtle::ConstantTimeEq;

/// 256-bit key, loaded once per process from the secret store. Never printed.
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretKeyError {
    #[error("the secret key must be 32 bytes (64 hex digits or base64)")]
    Length,
}

impl SecretKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SecretKeyError> {
        bytes
            .try_into()
            .map(Self)
            .map_err(|_| SecretKeyError::Length)
    }

    /// Reads 64 hex digits or standard/URL-safe base64, as a parameter store would hold it.
    pub fn parse(text: &str) -> Result<Self, SecretKeyError> {
        let text = text.trim();
        if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            let bytes: Vec<u8> = (0..32)
                .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
                .collect();
            return Self::from_bytes(&bytes);
        }
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE_NO_PAD.decode(text))
            .map_err(|_| SecretKeyError::Length)?;
        Self::from_bytes(&decoded)
    }

    /// HMAC-SHA-256 of the parts, each length-prefixed so no two inputs collide.
    fn mac(&self, parts: &[&str]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// The six-digit code of one send of one challenge. Any change of transfer, party,
    /// channel, destination or send number gives an unrelated code.
    pub fn one_time_code(&self, binding: &CodeBinding<'_>) -> OneTimeCode {
        let send = binding.send_no.to_string();
        let tag = self.mac(&[
            "otp",
            binding.transfer,
            binding.party,
            binding.channel,
            binding.destination,
            &send,
        ]);
        let n = u64::from_be_bytes(tag[..8].try_into().unwrap_or_default());
        OneTimeCode(format!("{:06}", n % 1_000_000))
    }

    /// A 128-bit URL-safe tag binding `purpose` and its parts (link tokens).
    pub fn tag(&self, purpose: &str, parts: &[&str]) -> String {
        let mut all = vec![purpose];
        all.extend_from_slice(parts);
        URL_SAFE_NO_PAD.encode(&self.mac(&all)[..16])
    }

    /// Constant-time check of a tag made by [`SecretKey::tag`].
    pub fn verify_tag(&self, purpose: &str, parts: &[&str], tag: &str) -> bool {
        let expected = self.tag(purpose, parts);
        expected.len() == tag.len() && bool::from(expected.as_bytes().ct_eq(tag.as_bytes()))
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(…)")
    }
}

/// What a one-time code is bound to.
#[derive(Debug, Clone, Copy)]
pub struct CodeBinding<'a> {
    pub transfer: &'a str,
    pub party: &'a str,
    pub channel: &'a str,
    pub destination: &'a str,
    pub send_no: u32,
}

/// A six-digit code; compares in constant time and never prints.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    /// What a person typed: six digits, spaces ignored.
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Self(digits))
    }

    pub fn matches(&self, other: &OneTimeCode) -> bool {
        bool::from(self.0.as_bytes().ct_eq(other.0.as_bytes()))
    }

    /// The digits, for the message that carries them and nothing else.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> SecretKey {
        SecretKey::from_bytes(&[7; 32]).unwrap()
    }

    fn binding(send_no: u32) -> CodeBinding<'static> {
        CodeBinding {
            transfer: "1",
            party: "initiator",
            channel: "sms",
            destination: "+393331234567",
            send_no,
        }
    }

    #[test]
    fn codes_are_six_digits_bound_to_everything() {
        let code = key().one_time_code(&binding(1));
        assert_eq!(code.reveal().len(), 6);
        assert_eq!(key().one_time_code(&binding(1)), code, "derivable again");
        assert_ne!(key().one_time_code(&binding(2)), code);
        let other_destination = CodeBinding {
            destination: "+393339999999",
            ..binding(1)
        };
        assert_ne!(key().one_time_code(&other_destination), code);
        assert_ne!(
            SecretKey::from_bytes(&[8; 32])
                .unwrap()
                .one_time_code(&binding(1)),
            code
        );
        assert_eq!(format!("{code:?}"), "OneTimeCode(******)");
        assert_eq!(format!("{:?}", key()), "SecretKey(…)");
    }

    #[test]
    fn keys_parse_from_hex_and_base64() {
        let hex = "07".repeat(32);
        assert_eq!(
            SecretKey::parse(&hex).unwrap().one_time_code(&binding(1)),
            key().one_time_code(&binding(1))
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(SecretKey::parse(&b64).is_ok());
        assert_eq!(
            SecretKey::parse("short").unwrap_err(),
            SecretKeyError::Length
        );
    }

    #[test]
    fn tags_verify_only_their_own_parts() {
        let tag = key().tag("link", &["1", "current_holder"]);
        assert_eq!(URL_SAFE_NO_PAD.decode(&tag).unwrap().len(), 16, "128 bits");
        assert!(key().verify_tag("link", &["1", "current_holder"], &tag));
        assert!(!key().verify_tag("link", &["1", "new_holder"], &tag));
        assert!(!key().verify_tag("link", &["2", "current_holder"], &tag));
        assert!(!key().verify_tag("reset", &["1", "current_holder"], &tag));
    }

    proptest! {
        // A code parse is a few comparisons: 1,000 cases each.
        #![proptest_config(ProptestConfig::with_cases(1_000))]

        /// Six digits as people type them (spaces before, between, after) are the code.
        #[test]
        fn typed_codes_with_spaces_are_the_code(digits in "[0-9]{6}", split in 0usize..=6, pad in "[ \t]{0,2}") {
            let typed = format!("{pad}{} {}{pad}", &digits[..split], &digits[split..]);
            prop_assert_eq!(OneTimeCode::parse(&typed).map(|c| c.reveal().to_owned()), Some(digits));
        }

        #[test]
        fn typed_codes_parse_only_as_six_digits(input in "\\PC{0,10}") {
            if let Some(code) = OneTimeCode::parse(&input) {
                prop_assert_eq!(code.reveal().len(), 6);
            }
        }
    }
}
