//! `POST /mcp`: the MCP dispatcher of `pls mcp` behind HTTP, one JSON-RPC message per request
//! and its response as the answer.
//!
//! Role: the HTTP transport of [`crate::cmd::mcp`]: header checks, the body, and where each
//! call runs. The dispatcher itself — methods, tools, resources, errors — is the stdio
//! server's, gated by the server's `--access` mode.
//!
//! # Invariants
//! - A message that needs no response (a notification, a JSON-RPC response object) is
//!   answered 202 with an empty body; every other message gets exactly one JSON-RPC response,
//!   200, JSON-RPC errors included (a body that is not JSON is `-32700`, as over stdio).
//! - `MCP-Protocol-Version`, when sent, is the version this server speaks (else 400), and an
//!   `Origin`, when sent, is a well-formed http(s) origin (else 403), both before the body is
//!   read. Both answers use the JSON error shape.
//! - Nothing that may block runs on the server's async threads: every call that reaches a
//!   pool runs on a blocking thread. A long call (a wait, a `where` read) holds a place while
//!   it runs — among the tails for a wait, among the storage operations otherwise — so a
//!   client cannot pile up blocking threads; one finding no place is refused Busy.
//! - A `plasmite_wait` holds one place among the tails (`--max-tail-concurrency`) while it
//!   runs; with none free it is refused at once as a Busy tool error, never queued. It is
//!   cancelled — and its place freed — when its client goes away or the server stops.
//!
//! Spec: `spec/MCP.md` §7, `spec/HTTP.md`.

use super::config;
use super::http::{self, Body, usage};
use super::state::{self, State};
use crate::cmd::mcp::{self as dispatcher, PROTOCOL_VERSION, Reply, Server};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap};
use hyper::{Request, Response, StatusCode};
use plasmite_os::{Cancel, Error, ErrorKind};
use serde_json::Value;
use std::sync::Arc;

/// The header that names the MCP revision a client speaks.
const PROTOCOL_HEADER: &str = "mcp-protocol-version";

/// `POST /mcp`.
pub async fn post(req: Request<Incoming>, state: &Arc<State>) -> Response<Body> {
    if let Some(refused) = check_headers(req.headers()) {
        return refused;
    }
    let body = match http::read_body(req, state.config.max_body_bytes).await {
        Ok(b) => b,
        Err(rejection) => return rejection.response(),
    };
    let Ok(message) = serde_json::from_slice::<Value>(&body) else {
        return http::json_response(StatusCode::OK, &dispatcher::parse_error());
    };
    let server = Server::new(
        state.config.dir.clone(),
        Arc::clone(&state.sandbox),
        state.config.access,
    );
    // Dispatching may open pools (a quick call, a wait's starting cursor): a blocking thread.
    // It is short, and bounded by the requests the connection limits admit.
    let (server, reply) = match state::blocking(move || {
        let reply = server.handle(message);
        Ok((server, reply))
    })
    .await
    {
        Ok(out) => out,
        Err(e) => return http::error_response(&e),
    };
    match reply {
        Reply::Nothing => accepted(),
        Reply::Now(response) => http::json_response(StatusCode::OK, &response),
        Reply::Later(slow) => {
            // A wait takes a place among the tails, any other long call one among the storage
            // operations: either way the number of blocking threads MCP holds is bounded.
            let permit = if slow.waits() {
                state.tail_permit()
            } else {
                state.storage_permit()
            };
            let permit = match permit {
                Ok(p) => p,
                Err(e) => return http::json_response(StatusCode::OK, &slow.refuse(e)),
            };
            let cancel = Cancel::new();
            // Dropped with this future — the client went away — it stops the call.
            let _cancel_on_drop = CancelOnDrop(cancel.clone());
            let running = cancel.clone();
            let mut work = tokio::task::spawn_blocking(move || {
                let response = slow.run(&server, &running);
                drop(permit);
                response
            });
            let joined = tokio::select! {
                joined = &mut work => joined,
                () = state.shutdown.wait() => {
                    // Stopping: the call ends within a moment, answered with what it has.
                    cancel.cancel();
                    work.await
                }
            };
            match joined {
                Ok(response) => http::json_response(StatusCode::OK, &response),
                Err(e) => http::error_response(
                    &Error::new(ErrorKind::Internal, "an MCP call failed")
                        .with_hint("Retry; report it if it persists.")
                        .with_source(e),
                ),
            }
        }
    }
}

/// Raises its flag when dropped: a request future dropped before its call ended stops it.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// 202, empty body.
fn accepted() -> Response<Body> {
    let mut r = http::response(StatusCode::ACCEPTED, "text/plain", http::empty());
    r.headers_mut().remove(header::CONTENT_TYPE);
    r
}

/// The protocol version and origin checks: the refusal when one fails.
fn check_headers(headers: &HeaderMap) -> Option<Response<Body>> {
    if let Some(v) = headers.get(PROTOCOL_HEADER) {
        let given = v.to_str().unwrap_or("").trim();
        if given != PROTOCOL_VERSION {
            return Some(http::error_with_status(
                StatusCode::BAD_REQUEST,
                &usage(
                    format!("unsupported MCP-Protocol-Version '{given}'"),
                    &format!(
                        "This server speaks MCP {PROTOCOL_VERSION}: send that version, or \
                         omit the header."
                    ),
                ),
            ));
        }
    }
    if let Some(v) = headers.get(header::ORIGIN) {
        let origin = v.to_str().unwrap_or("");
        if config::parse_origin(origin).is_err() {
            return Some(http::error_with_status(
                StatusCode::FORBIDDEN,
                &Error::new(ErrorKind::Permission, format!("invalid Origin '{origin}'"))
                    .with_hint("Send MCP requests from an http(s) origin, or without an Origin."),
            ));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).expect("header value"));
        }
        h
    }

    fn status(pairs: &[(&'static str, &str)]) -> Option<StatusCode> {
        check_headers(&headers(pairs)).map(|r| r.status())
    }

    #[test]
    fn only_this_protocol_version_and_http_origins_pass() {
        assert_eq!(status(&[]), None);
        assert_eq!(status(&[(PROTOCOL_HEADER, PROTOCOL_VERSION)]), None);
        let old = status(&[(PROTOCOL_HEADER, "2024-11-05")]);
        assert_eq!(old, Some(StatusCode::BAD_REQUEST));
        for ok in ["http://localhost:5173", "https://app.example.com"] {
            assert_eq!(status(&[("origin", ok)]), None, "{ok}");
        }
        for bad in ["null", "file://x", "https://a.example/path", "*", ""] {
            let refused = status(&[("origin", bad)]);
            assert_eq!(refused, Some(StatusCode::FORBIDDEN), "{bad}");
        }
    }
}
