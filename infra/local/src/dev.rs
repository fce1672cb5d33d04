//! `/dev/login`: signed tokens standing in for the identity provider's JWTs. The gateway
//! checks them as API Gateway's JWT authorizer would and passes on their claims.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// The dev login's operator of the provider's support (docs/rules.md, "Support").
pub const OPERATOR: &str = "operatore";

pub struct DevLogin {
    key: Vec<u8>,
}

impl DevLogin {
    /// The signing key lives in the data folder, so tokens survive a restart.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        Ok(Self {
            key: key_file(data_dir, "dev-login.key")?,
        })
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    /// A token whose claims name the account (`sub`) and the username; [`OPERATOR`] is also
    /// in the operators' group, as API Gateway passes a Cognito group claim.
    pub fn issue(&self, username: &str) -> String {
        let mut claims = serde_json::json!({ "sub": username, "username": username });
        if username == OPERATOR {
            claims["cognito:groups"] = format!("[{}]", titolare_api::operator_group()).into();
        }
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        format!(
            "{payload}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    /// The claims of a token this gateway signed; `None` for anything else.
    pub fn verify(&self, token: &str) -> Option<HashMap<String, String>> {
        let (payload, signature) = token.split_once('.')?;
        let signature = URL_SAFE_NO_PAD.decode(signature).ok()?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&signature).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()
    }
}

/// The service's secret key, generated once into the data folder (the local stand-in for
/// the SSM parameter): codes and links stay valid across restarts.
pub fn secret_key(data_dir: &Path) -> std::io::Result<titolare_domain::secret::SecretKey> {
    titolare_domain::secret::SecretKey::from_bytes(&key_file(data_dir, "secret.key")?)
        .map_err(std::io::Error::other)
}

/// 32 random bytes kept in `data_dir/name`, made on first use.
fn key_file(data_dir: &Path, name: &str) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join(name);
    if let Ok(key) = std::fs::read(&path)
        && key.len() == 32
    {
        return Ok(key);
    }
    let mut key = vec![0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut key)?;
    std::fs::create_dir_all(data_dir)?;
    std::fs::write(&path, &key)?;
    Ok(key)
}

/// A username a demo login accepts: what an account id may hold.
pub fn valid_username(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_unaltered() {
        let dir = std::env::temp_dir().join(format!("titolare-devlogin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let login = DevLogin::open(&dir).unwrap();
        let token = login.issue("demo");
        assert_eq!(login.verify(&token).unwrap()["sub"], "demo");
        let forged = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"sub":"demo2"}"#),
            token.split_once('.').unwrap().1
        );
        assert!(login.verify(&forged).is_none());
        assert!(login.verify("garbage").is_none());
        assert_eq!(
            DevLogin::open(&dir).unwrap().issue("demo"),
            token,
            "key survives a restart"
        );
    }
}
