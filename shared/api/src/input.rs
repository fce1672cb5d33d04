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
            "Il corpo della richiesta è vuoto: serve un oggetto JSON.",
        ));
    }
    // Every body of this API is an object: say so, rather than report the parser's
    // first surprise inside a list or a bare value.
    if !text.trim_start().starts_with('{') {
        return Err(ApiError::bad_request(
            "Il corpo della richiesta deve essere un oggetto JSON, tra parentesi graffe.",
        ));
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(shape_error)?;
    de.end().map_err(|_| {
        ApiError::bad_request("JSON non valido: c'è del testo dopo la fine dell'oggetto.")
    })?;
    Ok(value)
}

/// The JSON body as `T`, and a boolean flag taken out of it first (absent or null: false),
/// for a flag that is about the request rather than part of the resource.
pub fn json_body_with_flag<T: DeserializeOwned>(
    req: &Request,
    flag: &str,
) -> Result<(T, bool), ApiError> {
    let mut value: serde_json::Value = json_body(req)?;
    let raised = match value.as_object_mut().and_then(|o| o.remove(flag)) {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => b,
        Some(_) => {
            return Err(ApiError::bad_field(
                flag,
                "Valore non valido: indica true o false.",
            ));
        }
    };
    let typed = serde_path_to_error::deserialize(value).map_err(shape_error)?;
    Ok((typed, raised))
}

/// A body that is JSON but not of the expected shape: the field at fault, in Italian.
fn shape_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return ApiError::bad_request(format!(
            "JSON non valido (riga {}, colonna {}).",
            inner.line(),
            inner.column()
        ));
    }
    let raw = inner.to_string();
    let message = translate_serde(&raw);
    if path == "." {
        match missing_or_unknown_field(&raw) {
            Some(field) => ApiError::BadRequest {
                detail: "Corpo della richiesta non valido.".into(),
                errors: Some(FieldErrors::one(&field, message)),
            },
            None => ApiError::BadRequest {
                detail: format!("Corpo della richiesta non valido. {message}"),
                errors: None,
            },
        }
    } else {
        ApiError::BadRequest {
            detail: "Corpo della richiesta non valido.".into(),
            errors: Some(FieldErrors::one(&path, message)),
        }
    }
}

/// The field a "missing field" or "unknown field" message names.
fn missing_or_unknown_field(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("missing field `"))
        .or_else(|| message.strip_prefix("duplicate field `"))?;
    rest.split('`').next().map(str::to_owned)
}

/// serde's English, as a person reads it in Italian (sentence case, full stop).
pub(crate) fn translate_serde(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message);
    if message.starts_with("unknown field") {
        return "Campo sconosciuto: toglilo dalla richiesta.".into();
    }
    if message.starts_with("missing field") {
        return "Campo obbligatorio mancante.".into();
    }
    if message.starts_with("duplicate field") {
        return "Campo indicato più di una volta.".into();
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let given = rest.split('`').next().unwrap_or("");
        let accepted: Vec<String> = rest
            .split("expected ")
            .nth(1)
            .unwrap_or("")
            .split('`')
            .skip(1)
            .step_by(2)
            .map(labelled)
            .collect();
        return format!(
            "Il valore «{}» non è ammesso: usa {}.",
            given.chars().take(40).collect::<String>(),
            one_of(&accepted)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split(',').next().unwrap_or(rest);
        let expected = rest.split("expected ").nth(1).unwrap_or("");
        return format!(
            "Tipo di valore errato: serve {} e hai inviato {}.",
            kind_in_words(expected),
            kind_in_words(found)
        );
    }
    if let Some(rest) = message.strip_prefix("invalid value: ") {
        let expected = rest.split("expected ").nth(1).unwrap_or("");
        return format!("Valore non ammesso: serve {}.", kind_in_words(expected));
    }
    if message.starts_with("invalid length") {
        return "Numero di elementi non valido.".into();
    }
    // Our own parsers' messages (through `try_from`) are already Italian.
    sentence(message)
}

/// An accepted enum value with what it means, where an id alone would not say it.
fn labelled(id: &str) -> String {
    let label = match id {
        "keep" => "mantieni la gestione",
        "hand_over" => "affida la gestione al nuovo titolare",
        "mailbox" => "casella",
        "domain" => "dominio",
        "current_holder" => "attuale titolare",
        "new_holder" => "nuovo titolare",
        "initiator" => "richiedente",
        "sms" | "email" => return id.to_owned(),
        _ => return id.to_owned(),
    };
    format!("{id} ({label})")
}

/// "a", "a o b", "a, b o c".
fn one_of(values: &[String]) -> String {
    match values.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} o {last}", init.join(", ")),
    }
}

/// serde's names of JSON kinds and Rust types, in words.
fn kind_in_words(kind: &str) -> &'static str {
    let kind = kind.trim();
    let first_word = kind.split([' ', '`']).next().unwrap_or("");
    match first_word {
        "a" if kind.starts_with("a string") => "un testo",
        "string" | "char" => "un testo",
        "boolean" | "bool" => "true o false",
        "a" if kind.contains("boolean") => "true o false",
        "integer" | "i8" | "i16" | "i32" | "i64" | "isize" => "un numero intero",
        "u8" | "u16" | "u32" | "u64" | "usize" => "un numero intero non negativo",
        "floating" | "f32" | "f64" => "un numero",
        "null" | "unit" => "null",
        "sequence" | "tuple" => "una lista",
        "a" | "an"
            if kind.contains("sequence") || kind.contains("array") || kind.contains("tuple") =>
        {
            "una lista"
        }
        "map" | "struct" | "internally" | "enum" | "adjacently" => "un oggetto JSON",
        _ if kind.contains("struct") || kind.contains("map") || kind.contains("enum") => {
            "un oggetto JSON"
        }
        _ => "un valore del tipo previsto",
    }
}

/// First letter upper-case and a full stop at the end.
pub(crate) fn sentence(text: &str) -> String {
    let text = text.trim();
    let mut chars = text.chars();
    let mut out: String = chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default();
    if !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
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
            let message = if allowed.is_empty() {
                "Parametro non previsto: questo indirizzo non ne accetta.".to_owned()
            } else {
                format!(
                    "Parametro sconosciuto: quelli ammessi sono {}.",
                    one_of(&allowed.iter().map(|a| a.to_string()).collect::<Vec<_>>())
                )
            };
            errors.insert(&name, message);
        } else if params.insert(name.clone(), value).is_some() {
            errors.insert(&name, "Parametro indicato più di una volta.");
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
            let decode = |s: &str| percent_decode(&s.replace('+', " "));
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

/// A body that may be absent or `{}`.
pub(crate) fn empty_object(req: &Request) -> Result<(), ApiError> {
    if no_body(req).is_ok() {
        return Ok(());
    }
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Nothing {}
    json_body::<Nothing>(req).map(|_| ())
}

/// A path segment or query value with its %-escapes decoded; `None` if they are not UTF-8.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}
