//! Answers with a JSON body, never cached.

use http::StatusCode;
use lambda_http::{Body, Response};
use serde::Serialize;

pub(crate) fn respond<T: Serialize + ?Sized>(
    status: StatusCode,
    content_type: &str,
    body: &T,
) -> Response<Body> {
    let json = serde_json::to_string(body).unwrap_or_else(|_| "{}".into());
    Response::builder()
        .status(status)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::CACHE_CONTROL, "no-store")
        .body(Body::Text(json))
        .unwrap_or_default()
}

/// A typed body as the JSON it is sent as, for what keeps answers as values (a step's
/// answer is computed before its commit and kept for its Idempotency-Key).
pub(crate) fn value_of(body: impl Serialize) -> serde_json::Value {
    serde_json::to_value(body).unwrap_or_default()
}

pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    respond(status, "application/json", body)
}

/// One page of a listing without a total (the `…Page` schemas of the OpenAPI file whose
/// `total` is absent): its items and the cursor of the next page.
#[derive(Serialize)]
pub(crate) struct Listing<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Listing<T> {
    pub(crate) fn of(page: titolare_domain::Page<T>) -> Self {
        Self {
            items: page.items,
            next_cursor: page.next_cursor,
        }
    }
}
