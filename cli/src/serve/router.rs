//! The routes: one table of method, path pattern and required access, matched for every
//! request, then authentication, access mode and CORS, then the handler.
//!
//! # Invariants
//! - [`ROUTES`] is the whole surface: the router answers nothing it does not list (404, or
//!   405 for a listed path with another method), and a test checks it against
//!   `spec/openapi.json`.
//! - Authentication comes before anything that reads a pool or a body: without the token a
//!   request learns only that it needs one. The token is compared in constant time.
//! - `{pool}` segments are percent-decoded and must be valid pool names ([`PoolName`]): no
//!   `/`, no `..`, no NUL; anything else is a 400 before a file is touched.
//!
//! Spec: `spec/HTTP.md` §3, §4.

use super::http::{self, Body, Rejection, usage};
use super::state::State;
use super::{mcp, pools, tail, ui};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use plasmite_os::{Error, ErrorKind, PoolName};
use std::sync::Arc;

/// What a route requires of the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Nothing: open to anyone who can connect.
    Nothing,
    /// The token (when one is set) and read access.
    Read,
    /// The token (when one is set) and write access.
    Write,
    /// The token (when one is set); the handler checks access per operation.
    Token,
}

/// Which handler a route runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handler {
    Health,
    CreatePool,
    ListPools,
    OpenPool,
    PoolInfo,
    DeletePool,
    Append,
    AppendLite3,
    AppendJsonl,
    Get,
    GetLite3,
    Tail,
    TailLite3,
    UiPools,
    UiInfo,
    UiEvents,
    UiPage,
    UiPoolPage,
    UiAsset,
    Mcp,
    McpGet,
}

/// One route.
#[derive(Clone, Debug)]
pub struct Route {
    /// The method.
    pub method: Method,
    /// The path pattern; `{pool}` and `{seq}` stand for one segment.
    pub path: &'static str,
    /// What the caller needs.
    pub need: Need,
    /// The handler.
    pub handler: Handler,
}

const fn route(method: Method, path: &'static str, need: Need, handler: Handler) -> Route {
    Route {
        method,
        path,
        need,
        handler,
    }
}

/// Every route the server answers.
pub static ROUTES: &[Route] = &[
    route(Method::GET, "/healthz", Need::Nothing, Handler::Health),
    route(Method::POST, "/v0/pools", Need::Write, Handler::CreatePool),
    route(Method::GET, "/v0/pools", Need::Read, Handler::ListPools),
    route(
        Method::POST,
        "/v0/pools/open",
        Need::Read,
        Handler::OpenPool,
    ),
    route(
        Method::GET,
        "/v0/pools/{pool}/info",
        Need::Read,
        Handler::PoolInfo,
    ),
    route(
        Method::DELETE,
        "/v0/pools/{pool}",
        Need::Write,
        Handler::DeletePool,
    ),
    route(
        Method::POST,
        "/v0/pools/{pool}/append",
        Need::Write,
        Handler::Append,
    ),
    route(
        Method::POST,
        "/v0/pools/{pool}/append_lite3",
        Need::Write,
        Handler::AppendLite3,
    ),
    route(
        Method::POST,
        "/v0/pools/{pool}/append_jsonl",
        Need::Write,
        Handler::AppendJsonl,
    ),
    route(
        Method::GET,
        "/v0/pools/{pool}/messages/{seq}",
        Need::Read,
        Handler::Get,
    ),
    route(
        Method::GET,
        "/v0/pools/{pool}/messages/{seq}/lite3",
        Need::Read,
        Handler::GetLite3,
    ),
    route(
        Method::GET,
        "/v0/pools/{pool}/tail",
        Need::Read,
        Handler::Tail,
    ),
    route(
        Method::GET,
        "/v0/pools/{pool}/tail_lite3",
        Need::Read,
        Handler::TailLite3,
    ),
    route(Method::GET, "/v0/ui/pools", Need::Read, Handler::UiPools),
    route(
        Method::GET,
        "/v0/ui/pools/{pool}/info",
        Need::Read,
        Handler::UiInfo,
    ),
    route(
        Method::GET,
        "/v0/ui/pools/{pool}/events",
        Need::Read,
        Handler::UiEvents,
    ),
    route(Method::GET, "/ui", Need::Nothing, Handler::UiPage),
    route(
        Method::GET,
        "/ui/pools/{pool}",
        Need::Nothing,
        Handler::UiPoolPage,
    ),
    route(
        Method::GET,
        "/ui/assets/{file}",
        Need::Nothing,
        Handler::UiAsset,
    ),
    route(Method::POST, "/mcp", Need::Token, Handler::Mcp),
    route(Method::GET, "/mcp", Need::Nothing, Handler::McpGet),
];

/// The segments a pattern captured.
#[derive(Debug, Default)]
pub struct Captures {
    /// `{pool}`, decoded.
    pub pool: Option<String>,
    /// `{seq}`, raw.
    pub seq: Option<String>,
    /// `{file}`, raw (UI asset names are plain ASCII).
    pub file: Option<String>,
}

/// Matches `path` against `pattern`.
fn capture(pattern: &str, path: &str) -> Option<Captures> {
    let mut caps = Captures::default();
    let mut p = pattern.split('/');
    let mut s = path.split('/');
    loop {
        match (p.next(), s.next()) {
            (None, None) => return Some(caps),
            (Some("{pool}"), Some(seg)) if !seg.is_empty() => caps.pool = Some(seg.to_owned()),
            (Some("{seq}"), Some(seg)) if !seg.is_empty() => caps.seq = Some(seg.to_owned()),
            (Some("{file}"), Some(seg)) if !seg.is_empty() => caps.file = Some(seg.to_owned()),
            (Some(a), Some(b)) if a == b => {}
            _ => return None,
        }
    }
}

/// The route for `method` and `path`: `Ok` with its captures, `Err(true)` when the path exists
/// under other methods, `Err(false)` when it does not.
pub fn find(method: &Method, path: &str) -> Result<(&'static Route, Captures), bool> {
    let mut path_exists = false;
    for r in ROUTES {
        if let Some(c) = capture(r.path, path) {
            if r.method == method {
                return Ok((r, c));
            }
            path_exists = true;
        }
    }
    Err(path_exists)
}

/// The methods `path` answers, for `Allow` and CORS preflights.
fn methods_of(path: &str) -> Vec<&'static str> {
    ROUTES
        .iter()
        .filter(|r| capture(r.path, path).is_some())
        .map(|r| r.method.as_str())
        .collect()
}

/// The pool name of a `{pool}` segment.
pub fn pool_name(raw: Option<&str>) -> Result<PoolName, Error> {
    let raw = raw.unwrap_or("");
    let decoded = http::percent_decode(raw, false).ok_or_else(|| {
        usage(
            format!("malformed pool name '{raw}'"),
            "Percent-encode the pool name as UTF-8.",
        )
    })?;
    PoolName::new(&decoded)
}

/// Answers one request.
pub async fn handle(req: Request<Incoming>, state: Arc<State>) -> Response<Body> {
    let origin = req.headers().get(header::ORIGIN).cloned();
    let mut resp = dispatch(req, &state).await;
    if let Some(o) = origin {
        allow_origin(&state, &o, resp.headers_mut());
    }
    resp
}

async fn dispatch(req: Request<Incoming>, state: &Arc<State>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if req.method() == Method::OPTIONS && !state.config.cors.is_empty() {
        return preflight(state, &req, &path);
    }
    let (route, caps) = match find(req.method(), &path) {
        Ok(found) => found,
        Err(true) => {
            let mut r = http::error_with_status(
                StatusCode::METHOD_NOT_ALLOWED,
                &usage(
                    format!("{} is not allowed on {path}", req.method()),
                    "Use one of the methods in the Allow header.",
                ),
            );
            if let Ok(v) = HeaderValue::from_str(&methods_of(&path).join(", ")) {
                r.headers_mut().insert(header::ALLOW, v);
            }
            return r;
        }
        Err(false) => {
            return http::error_response(
                &Error::new(ErrorKind::NotFound, format!("no route {path}")).with_hint(
                    "See spec/HTTP.md for the routes (they start with /v0/; the web UI is at /ui).",
                ),
            );
        }
    };
    if route.need != Need::Nothing
        && let Some(denied) = authenticate(state, req.headers())
    {
        return denied;
    }
    match route.need {
        Need::Read if !state.config.access.can_read() => return forbidden("read"),
        Need::Write if !state.config.access.can_write() => return forbidden("write"),
        _ => {}
    }
    let out = match route.handler {
        Handler::Health => Ok(http::json_response(StatusCode::OK, &health(state))),
        Handler::Mcp => Ok(mcp::post(req, state).await),
        Handler::McpGet => Ok(mcp::get()),
        Handler::UiPage => Ok(ui::page(req.headers(), None)),
        Handler::UiPoolPage => Ok(ui::page(
            req.headers(),
            Some(caps.pool.as_deref().unwrap_or("")),
        )),
        Handler::UiAsset => Ok(ui::asset(req.headers(), caps.file.as_deref())),
        Handler::Tail | Handler::TailLite3 | Handler::UiEvents => {
            tail::handle(route.handler, req, caps, state).await
        }
        _ => pools::handle(route.handler, req, caps, state).await,
    };
    out.unwrap_or_else(|rejection| rejection.response())
}

/// What `GET /healthz` answers: `ok`, and for clients that adapt to the server, which one it
/// is, its access mode and what it offers beyond the reference's routes.
fn health(state: &State) -> serde_json::Value {
    serde_json::json!({
        "access": state.config.access.as_str(),
        "auth": state.config.token.is_some(),
        "features": FEATURES,
        "ok": true,
        "server": "plasmite-rs",
        "version": env!("CARGO_PKG_VERSION"),
    })
}

/// What this server offers beyond the reference's routes, as `GET /healthz` lists it.
pub const FEATURES: &[&str] = &[
    "append_jsonl",
    "tail_last",
    "tail_since_time",
    "tail_where",
    "sse_resume",
];

/// 403 for an operation the access mode does not allow.
pub fn forbidden(what: &str) -> Response<Body> {
    http::error_with_status(
        StatusCode::FORBIDDEN,
        &Error::new(
            ErrorKind::Permission,
            format!("forbidden: access mode disallows {what} operations"),
        )
        .with_hint("The server's --access mode does not allow this; ask its operator."),
    )
}

/// Checks the bearer token; the 401 answer when it is missing or wrong.
fn authenticate(state: &State, headers: &HeaderMap) -> Option<Response<Body>> {
    let token = state.config.token.as_ref()?;
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    let message = match given {
        None => "missing bearer token",
        Some(g) if constant_time_eq(g.as_bytes(), token.value.as_bytes()) => return None,
        Some(_) => "invalid bearer token",
    };
    let mut r = http::error_with_status(
        StatusCode::UNAUTHORIZED,
        &Error::new(ErrorKind::Permission, message)
            .with_hint("Send the server's token as `Authorization: Bearer <token>`."),
    );
    r.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    Some(r)
}

/// Whether `a` equals `b`, in time that depends only on their lengths.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a
        .iter()
        .zip(b)
        .fold(0u8, |acc, (x, y)| acc | std::hint::black_box(x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether `origin` is in the CORS allowlist.
fn allowed_origin<'a>(state: &'a State, origin: &HeaderValue) -> Option<&'a str> {
    let o = origin.to_str().ok()?;
    state
        .config
        .cors
        .iter()
        .find(|a| a.eq_ignore_ascii_case(o))
        .map(String::as_str)
}

/// Adds the CORS headers for an allowed origin.
fn allow_origin(state: &State, origin: &HeaderValue, headers: &mut HeaderMap) {
    if allowed_origin(state, origin).is_some() {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("plasmite-version, plasmite-seq"),
        );
    }
    if !state.config.cors.is_empty() {
        headers.append(header::VARY, HeaderValue::from_static("origin"));
    }
}

/// A CORS preflight: 204, with the allowed methods and headers for an allowed origin.
fn preflight(state: &State, req: &Request<Incoming>, path: &str) -> Response<Body> {
    let methods = methods_of(path);
    if methods.is_empty() {
        return http::error_response(
            &Error::new(ErrorKind::NotFound, format!("no route {path}"))
                .with_hint("See spec/HTTP.md for the routes."),
        );
    }
    let mut r = http::response(StatusCode::NO_CONTENT, "text/plain", http::empty());
    r.headers_mut().remove(header::CONTENT_TYPE);
    let allowed = req
        .headers()
        .get(header::ORIGIN)
        .is_some_and(|o| allowed_origin(state, o).is_some());
    if allowed {
        let h = r.headers_mut();
        h.insert(
            header::ACCESS_CONTROL_ALLOW_METHODS,
            HeaderValue::from_static("GET, POST, DELETE, OPTIONS"),
        );
        h.insert(
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            HeaderValue::from_static(
                "authorization, content-type, last-event-id, mcp-protocol-version",
            ),
        );
        h.insert(
            header::ACCESS_CONTROL_MAX_AGE,
            HeaderValue::from_static("600"),
        );
    }
    r
}

/// A 400 for a bad request built from `e`.
pub fn bad_request(e: Error) -> Rejection {
    Rejection(StatusCode::BAD_REQUEST, e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_route_pattern_is_matched_by_itself_only_once() {
        for r in ROUTES {
            let path = r
                .path
                .replace("{pool}", "p")
                .replace("{seq}", "1")
                .replace("{file}", "app.js");
            let (found, _) = find(&r.method, &path).expect("matched");
            assert_eq!(found.handler, r.handler, "{}", r.path);
        }
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        assert!(matches!(find(&Method::GET, "/v0/nope"), Err(false)));
        assert!(matches!(find(&Method::PUT, "/v0/pools"), Err(true)));
        assert!(matches!(find(&Method::GET, "/v0/pools/"), Err(false)));
        assert!(matches!(
            find(&Method::GET, "/v0/pools/a/b/info"),
            Err(false)
        ));
    }

    #[test]
    fn pool_segments_are_decoded_and_validated() {
        assert_eq!(pool_name(Some("chat")).expect("ok").as_str(), "chat");
        assert_eq!(pool_name(Some("a%20b")).expect("ok").as_str(), "a b");
        for bad in ["a%2Fb", "..", "%2E%2E", "a%00", "%zz", ""] {
            assert!(pool_name(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn token_comparison_needs_every_byte() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
        assert!(!constant_time_eq(b"", b"x"));
    }
}
