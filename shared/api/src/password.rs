//! `POST /v1/password-reset`: the new holder of a moved mailbox sets its password through
//! the emailed link. Single use: the reset must still be pending with the link's issue time.

use crate::idempotency::{Idem, replayed};
use crate::input::{json_body, query_params};
use crate::problem::ApiError;
use crate::{Caller, Services, json};
use argon2::password_hash::{PasswordHasher, SaltString};
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use serde::Deserialize;
use titolare_domain::FieldErrors;
use titolare_domain::ports::{IdempotencyScope, ItemState, StoreError};
use titolare_domain::transfer::{ItemKind, ItemRef, PasswordResetToken, ResetTokenError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reset {
    token: String,
    password: String,
}

/// A PEC password: 8 to 128 characters with upper- and lower-case letters and a digit, and
/// not the mailbox's own name.
fn check_password(password: &str, mailbox: &str) -> Result<(), String> {
    let length = password.chars().count();
    if !(8..=128).contains(&length) {
        return Err("La password deve avere da 8 a 128 caratteri.".into());
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if !(has(char::is_lowercase) && has(char::is_uppercase) && has(|c| c.is_ascii_digit())) {
        return Err(
            "La password deve contenere almeno una lettera minuscola, una maiuscola e una cifra."
                .into(),
        );
    }
    let local = mailbox.split('@').next().unwrap_or_default().to_lowercase();
    if local.len() >= 4 && password.to_lowercase().contains(&local) {
        return Err("La password non deve contenere il nome della casella.".into());
    }
    Ok(())
}

/// An argon2id hash (the crate's defaults: OWASP's m=19 MiB, t=2, p=1) with a random salt.
fn hash(password: &str) -> Result<String, ApiError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Unavailable(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| StoreError::Unavailable(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| StoreError::Unavailable(e.to_string()).into())
}

pub(crate) async fn reset(s: &Services, caller: &Caller, req: &Request) -> Answer {
    query_params(req, &[])?;
    let body: Reset = json_body(req)?;
    let now = s.clock.now();
    let token = PasswordResetToken::verify(s.key()?, &body.token, now).map_err(|e| match e {
        ResetTokenError::Invalid => ApiError::InvalidResetLink,
        ResetTokenError::Expired => ApiError::ExpiredResetLink,
    })?;
    let idem = Idem::of(
        req,
        IdempotencyScope::Mailbox(token.mailbox.clone()),
        s.key.as_ref(),
    )?;
    if let Some(answer) = replayed(idem.as_ref(), &*s.store).await? {
        return Ok(answer);
    }
    check_password(&body.password, token.mailbox.as_str())
        .map_err(|m| ApiError::Validation(FieldErrors::one("password", m)))?;
    let item = ItemRef::parse(ItemKind::Mailbox, token.mailbox.as_str())
        .map_err(|_| ApiError::InvalidResetLink)?;
    let Some(Some(ItemState::Mailbox(mailbox))) =
        s.store.items(&token.account, &[item]).await?.pop()
    else {
        return Err(ApiError::InvalidResetLink);
    };
    if !mailbox.value.password_reset_required
        || mailbox.value.password_reset_issued_at != Some(token.issued_at)
    {
        return Err(ApiError::Conflict(
            "Questo link è già stato usato: la password della casella è già stata impostata.",
        ));
    }
    let mut after = mailbox.value.clone();
    after.password_hash = Some(hash(&body.password)?);
    after.password_reset_required = false;
    after.password_reset_issued_at = None;
    let answer = serde_json::json!({
        "mailbox": after.address,
        "password_reset_required": false,
    });
    let record = idem
        .as_ref()
        .map(|i| i.record(StatusCode::OK, &answer, now));
    match s
        .store
        .update_mailbox(&token.account, mailbox.version, &after, record)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict) => {
            return Err(ApiError::Conflict(
                "Questo link è già stato usato: la password della casella è già stata impostata.",
            ));
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(request_id = %caller.request_id, "mailbox password set after a change of holder");
    Ok(json(StatusCode::OK, &answer))
}

type Answer = Result<Response<Body>, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_need_length_and_variety() {
        assert!(check_password("Corto1", "x@pec.it").is_err());
        assert!(check_password("tuttominuscolo1", "x@pec.it").is_err());
        assert!(check_password("Teste1234-nuova", "teste1234@pec.it").is_err());
        assert!(check_password("Nuova-Password-7", "teste1234@pec.it").is_ok());
    }

    #[test]
    fn hashes_are_argon2id_and_salted() {
        let (a, b) = (
            hash("Nuova-Password-7").unwrap(),
            hash("Nuova-Password-7").unwrap(),
        );
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
    }
}
