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

pub(crate) fn json<T: Serialize + ?Sized>(status: StatusCode, body: &T) -> Response<Body> {
    respond(status, "application/json", body)
}
