//! The identifiers every part of a transfer names: the account, the transfer, a party and a
//! channel. A leaf: it imports nothing of the crate, so the modules that use them do not
//! import one another for them.

use serde::{Deserialize, Serialize};

/// Identifier of a customer account, taken from the login token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(String);

impl AccountId {
    /// Account ids come from the identity provider; we only refuse what could break a key.
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        if input.is_empty()
            || input.len() > 128
            || !input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@:".contains(&b))
        {
            return Err("Identificativo dell'account non valido.");
        }
        Ok(Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<AccountId> for String {
    fn from(value: AccountId) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TransferId(String);

impl TransferId {
    pub fn parse(input: &str) -> Result<Self, &'static str> {
        let id = input.trim();
        if id.is_empty()
            || id.len() > 20
            || !id.bytes().all(|b| b.is_ascii_digit())
            || id.starts_with('0')
        {
            return Err("Identificativo della richiesta non valido.");
        }
        Ok(Self(id.to_owned()))
    }

    pub fn from_number(n: u64) -> Self {
        Self(n.to_string())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TransferId {
    type Error = &'static str;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}
impl From<TransferId> for String {
    fn from(value: TransferId) -> Self {
        value.0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The account user who opens the transfer.
    Initiator,
    CurrentHolder,
    NewHolder,
}

impl Party {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Initiator => "initiator",
            Self::CurrentHolder => "current_holder",
            Self::NewHolder => "new_holder",
        }
    }

    /// The channels a party verifies (docs/rules.md): every party its mobile, the new holder
    /// also its email.
    pub fn channels(self) -> &'static [Channel] {
        match self {
            Self::NewHolder => &[Channel::Sms, Channel::Email],
            _ => &[Channel::Sms],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    Sms,
    Email,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sms => "sms",
            Self::Email => "email",
        }
    }
}

/// What a transfer moves: a PEC mailbox or a certified domain, named in lower case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    Mailbox,
    Domain,
}

impl ItemKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mailbox => "mailbox",
            Self::Domain => "domain",
        }
    }
}
