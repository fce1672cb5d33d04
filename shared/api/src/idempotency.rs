//! `Idempotency-Key` on writes: the first answer is kept in the write's own transaction,
//! and a retry with the same key and body gets it again.

use crate::problem::ApiError;
use crate::reply::json;
use base64::Engine;
use http::StatusCode;
use lambda_http::{Body, Request, Response};
use sha2::{Digest, Sha256};
use titolare_domain::ports::{IdempotencyReader, IdempotencyScope, IdempotentResponse};
use titolare_domain::secret::SecretKey;

/// How long an Idempotency-Key keeps its answer.
const KEEP: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// A request's Idempotency-Key, where it is kept, and what it was sent with.
#[derive(Debug, Clone)]
pub struct Idem {
    pub scope: IdempotencyScope,
    pub key: String,
    fingerprint: String,
}

impl Idem {
    /// The key the request carries, if any (1 to 255 visible ASCII characters). The
    /// fingerprint of what it was sent with is keyed (HMAC under the secret key) where the
    /// function has the key: the bodies of those routes hold one-time codes and passwords,
    /// whose plain hash would be a brute-forceable copy at rest.
    pub fn of(
        req: &Request,
        scope: IdempotencyScope,
        secret: Option<&SecretKey>,
    ) -> Result<Option<Self>, ApiError> {
        let Some(value) = req.headers().get("idempotency-key") else {
            return Ok(None);
        };
        let key = match value.to_str() {
            Ok(k) if (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => k,
            _ => {
                return Err(ApiError::bad_field(
                    "Idempotency-Key",
                    "La Idempotency-Key deve avere da 1 a 255 caratteri ASCII visibili.",
                ));
            }
        };
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let fingerprint = match secret {
            Some(secret) => {
                let body = b64.encode(req.body().as_ref());
                let parts = [req.method().as_str(), req.uri().path(), body.as_str()];
                format!("hmac:{}", secret.tag("idempotency", &parts))
            }
            None => {
                let mut hash = Sha256::new();
                hash.update(req.method().as_str());
                hash.update(req.uri().path());
                hash.update(req.body().as_ref());
                b64.encode(hash.finalize())
            }
        };
        Ok(Some(Self {
            scope,
            key: key.to_owned(),
            fingerprint,
        }))
    }

    /// The answer kept for this key, if the same request was made before.
    pub async fn replay(
        &self,
        store: &(impl IdempotencyReader + ?Sized),
    ) -> Result<Option<Response<Body>>, ApiError> {
        match store.idempotent_response(&self.scope, &self.key).await? {
            None => Ok(None),
            Some(stored) if stored.fingerprint != self.fingerprint => {
                Err(ApiError::IdempotencyKeyReused)
            }
            Some(stored) => {
                let mut response = json(
                    StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK),
                    &stored.body,
                );
                response.headers_mut().insert(
                    "idempotent-replayed",
                    http::HeaderValue::from_static("true"),
                );
                Ok(Some(response))
            }
        }
    }

    /// What to keep for this key, written with the step it answers.
    pub fn record(
        &self,
        status: StatusCode,
        body: &impl serde::Serialize,
        now: jiff::Timestamp,
    ) -> (IdempotencyScope, IdempotentResponse) {
        (
            self.scope.clone(),
            IdempotentResponse {
                key: self.key.clone(),
                fingerprint: self.fingerprint.clone(),
                status: status.as_u16(),
                body: serde_json::to_value(body).unwrap_or_default(),
                expires_at: now + KEEP,
            },
        )
    }
}

/// The answer kept for a request's Idempotency-Key, if it carries one that was used before.
pub async fn replayed(
    idem: Option<&Idem>,
    store: &(impl IdempotencyReader + ?Sized),
) -> Result<Option<Response<Body>>, ApiError> {
    match idem {
        Some(i) => i.replay(store).await,
        None => Ok(None),
    }
}

/// A refusal, unless a call with the same key has meanwhile been answered: then that answer.
/// A twin call (a retry sent before the first came back) meets the state the first one has
/// just written, and must get its answer rather than a refusal of that state.
pub async fn refused_unless_replayed(
    idem: Option<&Idem>,
    store: &(impl IdempotencyReader + ?Sized),
    refused: ApiError,
) -> Result<Response<Body>, ApiError> {
    replayed(idem, store).await?.ok_or(refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verify_request(code: &str) -> Request {
        http::Request::builder()
            .method("POST")
            .uri("/v1/party/codes/verify")
            .header("idempotency-key", "k1")
            .body(Body::from(format!(
                r#"{{"channel":"sms","code":"{code}"}}"#
            )))
            .unwrap()
    }

    fn plain_hash(req: &Request) -> String {
        let mut hash = Sha256::new();
        hash.update(req.method().as_str());
        hash.update(req.uri().path());
        hash.update(req.body().as_ref());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash.finalize())
    }

    /// A stored fingerprint of a code verification must not let anyone who reads the table
    /// find the code by hashing the 10^6 candidates.
    #[test]
    fn the_fingerprint_of_a_secret_body_is_keyed() {
        let key = SecretKey::from_bytes(&[9; 32]).unwrap();
        let scope = IdempotencyScope::Mailbox(
            titolare_domain::values::EmailAddress::parse("a@pec.it").unwrap(),
        );
        let req = verify_request("123456");
        let idem = Idem::of(&req, scope.clone(), Some(&key)).unwrap().unwrap();
        assert!(idem.fingerprint.starts_with("hmac:"));
        let found = (0..1_000_000u32)
            .step_by(997)
            .chain([123_456])
            .any(|n| plain_hash(&verify_request(&format!("{n:06}"))) == idem.fingerprint);
        assert!(
            !found,
            "an unkeyed hash of the body would give the code away"
        );
        let again = Idem::of(&verify_request("123456"), scope.clone(), Some(&key))
            .unwrap()
            .unwrap();
        assert_eq!(again.fingerprint, idem.fingerprint, "stable for a retry");
        let other = Idem::of(&verify_request("654321"), scope, Some(&key))
            .unwrap()
            .unwrap();
        assert_ne!(other.fingerprint, idem.fingerprint, "another body differs");
    }
}
