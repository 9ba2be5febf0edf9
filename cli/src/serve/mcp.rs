//! `POST /mcp`: the MCP dispatcher of `pls mcp` behind HTTP.

use super::http::{self, Body};
use super::state::State;
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use std::sync::Arc;

/// `POST /mcp`.
pub async fn post(_req: Request<Incoming>, _state: &Arc<State>) -> Response<Body> {
    http::response(StatusCode::NOT_IMPLEMENTED, "text/plain", http::empty())
}

/// `GET /mcp`: 405, empty body (no server-initiated stream).
pub fn get() -> Response<Body> {
    let mut r = http::response(StatusCode::METHOD_NOT_ALLOWED, "text/plain", http::empty());
    r.headers_mut().remove(hyper::header::CONTENT_TYPE);
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static("POST"),
    );
    r
}
