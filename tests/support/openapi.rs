//! The API's contract, checked on every answer the end-to-end tests see: the body of each
//! `/v1/…` answer must match the OpenAPI file's schema for its route, method, status and media
//! type (docs/api.md says why the file is written by hand and checked, not generated). Objects
//! the file describes with `properties` are closed here (`additionalProperties: false` unless
//! it says otherwise), so a field the code adds or renames and the file does not name fails too.

use jsonschema::Validator;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

struct Contract {
    /// The OpenAPI file, objects closed.
    doc: Value,
    /// Every path template, split on `/`, most literal segments first.
    templates: Vec<(String, Vec<String>)>,
    /// Compiled schemas by (template, method, status, media type).
    compiled: Mutex<HashMap<String, Arc<Validator>>>,
}

static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../infra/openapi/openapi.yaml");
    let text = std::fs::read_to_string(&path).expect("the OpenAPI file");
    let mut doc: Value = serde_norway::from_str(&text).expect("the OpenAPI file is YAML");
    close_objects(&mut doc);
    let mut templates: Vec<(String, Vec<String>)> = doc["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .map(|t| (t.clone(), t.split('/').map(str::to_owned).collect()))
        .collect();
    let literal = |segments: &[String]| segments.iter().filter(|s| !s.starts_with('{')).count();
    templates.sort_by_key(|(_, segments)| std::cmp::Reverse(literal(segments)));
    Contract {
        doc,
        templates,
        compiled: Mutex::new(HashMap::new()),
    }
});

/// Every schema object with `properties` and no word on others gets `additionalProperties: false`.
fn close_objects(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            if fields.get("properties").is_some_and(Value::is_object)
                && !fields.contains_key("additionalProperties")
            {
                fields.insert("additionalProperties".into(), Value::Bool(false));
            }
            fields.values_mut().for_each(close_objects);
        }
        Value::Array(items) => items.iter_mut().for_each(close_objects),
        _ => {}
    }
}

/// The path template an actual path (no query) falls under.
fn template_of(path: &str) -> Option<&'static str> {
    let segments: Vec<&str> = path.split('/').collect();
    CONTRACT
        .templates
        .iter()
        .find(|(_, template)| {
            template.len() == segments.len()
                && template.iter().zip(&segments).all(|(t, s)| {
                    if t.starts_with('{') {
                        !s.is_empty()
                    } else {
                        t == s
                    }
                })
        })
        .map(|(template, _)| template.as_str())
}

/// Follows a local `$ref` (`#/components/responses/Problem`) to what it names.
fn resolve(value: &'static Value) -> &'static Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let pointer = reference.strip_prefix('#').expect("a local reference");
            resolve(
                CONTRACT
                    .doc
                    .pointer(pointer)
                    .unwrap_or_else(|| panic!("{reference} is missing")),
            )
        }
        None => value,
    }
}

/// Checks one answer against the contract; panics naming the route and what differs. Paths
/// outside `/v1/` (the panel's files, `/dev/…`) are not the API's and are not checked; a path
/// under `/v1/` that no route matches must answer a problem.
pub fn check(method: &str, path: &str, status: u16, content_type: &str, body: &Value) {
    let path = path.split('?').next().unwrap_or_default();
    if !path.starts_with("/v1/") {
        return;
    }
    let media = content_type.split(';').next().unwrap_or_default().trim();
    let doc = &CONTRACT.doc;
    let operation = template_of(path).and_then(|template| {
        let operation = doc["paths"][template].get(method.to_ascii_lowercase())?;
        Some((template, operation))
    });
    let Some((template, operation)) = operation else {
        // No route: the router's own 404 or 405, a problem like any other.
        assert!(
            matches!(status, 404 | 405) && media == "application/problem+json",
            "{method} {path}: no route in the OpenAPI file, yet {status} {media}: {body}"
        );
        validate("#/components/schemas/Problem", &Value::Null, body, || {
            format!("{method} {path} → {status}")
        });
        return;
    };
    let responses = &operation["responses"];
    let response = responses
        .get(status.to_string())
        .or_else(|| responses.get(format!("{}XX", status / 100)))
        .or_else(|| responses.get("default"))
        .unwrap_or_else(|| {
            panic!("{method} {template}: status {status} is not in the OpenAPI file ({body})")
        });
    let response = resolve(response);
    let Some(content) = response.get("content") else {
        assert!(
            body.is_null(),
            "{method} {template} → {status}: the OpenAPI file gives no body, the API sent {body}"
        );
        return;
    };
    let schema = content
        .get(media)
        .and_then(|c| c.get("schema"))
        .unwrap_or_else(|| {
            panic!(
                "{method} {template} → {status}: the OpenAPI file has no `{media}` body ({body})"
            )
        });
    let key = format!("{method} {template} {status} {media}");
    validate(&key, schema, body, || {
        format!("{method} {template} → {status}")
    });
}

/// Validates `body` against `schema` (or, for a `#/…` key, the schema it names), compiling
/// each schema once per test process.
fn validate(key: &str, schema: &Value, body: &Value, what: impl Fn() -> String) {
    let validator = {
        let mut compiled = CONTRACT.compiled.lock().expect("schemas");
        compiled
            .entry(key.to_owned())
            .or_insert_with(|| {
                let mut root = match key.strip_prefix('#') {
                    Some(_) => Map::from_iter([("$ref".to_owned(), Value::String(key.to_owned()))]),
                    None => schema.as_object().cloned().expect("a schema object"),
                };
                // `#/components/…` references resolve against this root.
                root.insert("components".into(), CONTRACT.doc["components"].clone());
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft202012)
                    .build(&Value::Object(root))
                    .unwrap_or_else(|e| panic!("{key}: the OpenAPI schema does not compile: {e}"));
                Arc::new(validator)
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: the answer does not match the OpenAPI file:\n  {}\n{body:#}",
        what(),
        errors.join("\n  ")
    );
}
