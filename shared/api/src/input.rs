//! Turning a raw request into typed input, refusing anything malformed with a 4xx.

use crate::problem::ApiError;
use lambda_http::{Body, Request};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use titolare_domain::FieldErrors;

pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The JSON body, refused when too large, not UTF-8, not JSON, or not of type `T`
/// (wrong types and unknown fields name the field at fault).
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let content_type = req
        .headers()
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media != "application/json"
        && !(media.starts_with("application/") && media.ends_with("+json"))
    {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes: &[u8] = match req.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    };
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("Il corpo della richiesta non è testo UTF-8 valido."))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad_request(
            "Il corpo della richiesta è vuoto: atteso un oggetto JSON.",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::bad_request(format!(
                "JSON non valido (riga {}, colonna {}).",
                inner.line(),
                inner.column()
            ));
        }
        let message = translate_serde(&inner.to_string());
        if path == "." {
            ApiError::BadRequest {
                detail: format!("Corpo della richiesta non valido: {message}."),
                errors: unknown_field_errors(&inner.to_string()),
            }
        } else {
            ApiError::BadRequest {
                detail: "Corpo della richiesta non valido.".into(),
                errors: Some(FieldErrors::one(&path, message)),
            }
        }
    })?;
    de.end()
        .map_err(|_| ApiError::bad_request("JSON non valido: testo dopo la fine dell'oggetto."))?;
    Ok(value)
}

/// An unknown top-level field is named in `errors`.
fn unknown_field_errors(message: &str) -> Option<FieldErrors> {
    let field = message.strip_prefix("unknown field `")?.split('`').next()?;
    Some(FieldErrors::one(field, "campo sconosciuto"))
}

fn translate_serde(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.starts_with("unknown field") {
        return "campo sconosciuto".into();
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split(',').next().unwrap_or(rest);
        let expected = rest.split("expected ").nth(1).unwrap_or("un altro tipo");
        let expected = match expected {
            "a string" => "testo",
            "a boolean" => "true o false",
            e if e.contains("struct") || e.contains("map") => "un oggetto JSON",
            e if e.contains("sequence") => "una lista",
            e => e,
        };
        return format!("tipo non valido ({found}): atteso {expected}");
    }
    message.to_owned()
}

/// Query parameters, each at most once and each among `allowed`.
pub fn query_params(req: &Request, allowed: &[&str]) -> Result<BTreeMap<String, String>, ApiError> {
    let raw = req.uri().query().unwrap_or("");
    let pairs = decode_query(raw).ok_or_else(|| {
        ApiError::bad_request("Parametri della richiesta non leggibili (codifica non valida).")
    })?;
    let mut params = BTreeMap::new();
    let mut errors = FieldErrors::default();
    for (name, value) in pairs {
        if !allowed.contains(&name.as_str()) {
            errors.insert(&name, "parametro sconosciuto");
        } else if params.insert(name.clone(), value).is_some() {
            errors.insert(&name, "parametro ripetuto");
        }
    }
    if errors.is_empty() {
        Ok(params)
    } else {
        Err(ApiError::BadRequest {
            detail: "Parametri della richiesta non validi.".into(),
            errors: Some(errors),
        })
    }
}

/// `application/x-www-form-urlencoded` pairs, refusing bad escapes and non-UTF-8 text
/// rather than replacing them.
fn decode_query(raw: &str) -> Option<Vec<(String, String)>> {
    raw.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decode = |s: &str| crate::routes::percent_decode(&s.replace('+', " "));
            Some((decode(name)?, decode(value)?))
        })
        .collect()
}

/// A request with no body where none is expected.
pub fn no_body(req: &Request) -> Result<(), ApiError> {
    let empty = match req.body() {
        Body::Empty => true,
        Body::Text(t) => t.is_empty(),
        Body::Binary(b) => b.is_empty(),
        _ => true,
    };
    if empty {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "Questa richiesta non prevede un corpo.",
        ))
    }
}
