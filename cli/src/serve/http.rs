//! HTTP plumbing shared by the routes: response bodies, JSON answers and errors, status codes
//! of error kinds, reading bounded request bodies, query strings and percent-decoding.
//!
//! # Invariants
//! - Every response plasmite builds carries `plasmite-version: 0`; every error is the JSON
//!   error shape `{"error":{"kind","message","hint"?,"path"?,"seq"?,"offset"?}}`, malformed
//!   bodies included (the reference answers those with plain text).
//! - A request body is read only up to the configured limit: one byte more is a 413 and the
//!   rest is never buffered.
//!
//! Spec: `spec/HTTP.md` §3.

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use plasmite_os::{Error, ErrorKind};
use serde_json::{Map, Value, json};

/// The body of every response.
pub type Body = UnsyncBoxBody<Bytes, BodyError>;
/// Why a streamed body stopped (the connection is then aborted).
pub type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The protocol version header every plasmite response carries.
pub const VERSION_HEADER: &str = "plasmite-version";

/// A body of `bytes`.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// An empty body.
pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

/// A response with `status`, `content_type` and `body`, and the version header.
pub fn response(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(VERSION_HEADER, HeaderValue::from_static("0"));
    r
}

/// `value` as a compact JSON answer.
pub fn json_response(status: StatusCode, value: &Value) -> Response<Body> {
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    response(status, "application/json", full(bytes))
}

/// The HTTP status of an error kind.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::Usage => StatusCode::BAD_REQUEST,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists => StatusCode::CONFLICT,
        ErrorKind::Busy => StatusCode::LOCKED,
        ErrorKind::Permission => StatusCode::FORBIDDEN,
        ErrorKind::RetentionGap => StatusCode::GONE,
        ErrorKind::Internal | ErrorKind::Corrupt | ErrorKind::Io => {
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// The error object of `e`: kind, message, hint, path, seq, offset (no source chain).
pub fn error_object(e: &Error) -> Value {
    let mut o = match e.to_json() {
        Value::Object(o) => o,
        _ => Map::new(),
    };
    o.remove("causes");
    if o.get("message").is_none_or(|m| m.as_str() == Some("")) {
        o.insert("message".into(), json!("error"));
    }
    json!({ "error": o })
}

/// The HTTP status of `e`: its kind's, but 507 for a full disk.
pub fn status_of_error(e: &Error) -> StatusCode {
    if e.cause() == Some(plasmite_os::Cause::NoSpace) {
        StatusCode::INSUFFICIENT_STORAGE
    } else {
        status_of(e.kind())
    }
}

/// `e` as a JSON error answer with its status.
pub fn error_response(e: &Error) -> Response<Body> {
    json_response(status_of_error(e), &error_object(e))
}

/// `e` as a JSON error answer with `status`.
pub fn error_with_status(status: StatusCode, e: &Error) -> Response<Body> {
    json_response(status, &error_object(e))
}

/// A Usage error with a hint.
pub fn usage(message: impl Into<String>, hint: &str) -> Error {
    Error::new(ErrorKind::Usage, message).with_hint(hint)
}

/// A rejected request body: its status and error.
#[derive(Debug)]
pub struct Rejection(pub StatusCode, pub Error);

impl Rejection {
    /// The answer.
    pub fn response(&self) -> Response<Body> {
        error_with_status(self.0, &self.1)
    }
}

impl From<Error> for Rejection {
    fn from(e: Error) -> Rejection {
        Rejection(status_of_error(&e), e)
    }
}

/// Reads the whole body of `req`, at most `limit` bytes (413 beyond).
pub async fn read_body(req: Request<Incoming>, limit: u64) -> Result<Bytes, Rejection> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    match Limited::new(req.into_body(), limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<LengthLimitError>() => Err(Rejection(
            StatusCode::PAYLOAD_TOO_LARGE,
            usage(
                format!("request body is larger than the server's limit of {limit} bytes"),
                "Send a smaller body (split a batch), or raise the server's --max-body-bytes.",
            ),
        )),
        Err(e) => Err(Rejection(
            StatusCode::BAD_REQUEST,
            Error::new(
                ErrorKind::Io,
                format!("failed to read the request body: {e}"),
            )
            .with_hint("The client stopped sending the body; send it again."),
        )),
    }
}

/// The media type of a `Content-Type` value: lowercase, without parameters.
pub fn media_type(req: &Request<Incoming>) -> Option<String> {
    let v = req.headers().get(CONTENT_TYPE)?.to_str().ok()?;
    Some(
        v.split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase(),
    )
}

/// Reads a JSON object body: `Content-Type: application/json` (415 otherwise), at most
/// `limit` bytes (413), valid JSON (400), an object (422).
pub async fn read_json(
    req: Request<Incoming>,
    limit: u64,
) -> Result<Map<String, Value>, Rejection> {
    let is_json = media_type(&req).is_some_and(|m| {
        m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
    });
    if !is_json {
        return Err(Rejection(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            usage(
                "expected a request with Content-Type: application/json",
                "Send the body as JSON with the header Content-Type: application/json.",
            ),
        ));
    }
    let body = read_body(req, limit).await?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(Rejection(
            StatusCode::UNPROCESSABLE_ENTITY,
            usage(
                "the request body must be a JSON object",
                "Send a JSON object with the fields this route takes (see spec/HTTP.md).",
            ),
        )),
        Err(e) => Err(Rejection(
            StatusCode::BAD_REQUEST,
            usage(
                format!("the request body is not valid JSON: {e}"),
                "Send one JSON object as the body.",
            ),
        )),
    }
}

/// A body field of the wrong type: 422.
pub fn bad_field(field: &str, what: &str) -> Rejection {
    Rejection(
        StatusCode::UNPROCESSABLE_ENTITY,
        usage(
            format!("invalid field '{field}': {what}"),
            "Send the fields this route takes, with their types (see spec/HTTP.md).",
        ),
    )
}

/// Decodes `%XX` escapes (and, in query strings, `+` as a space); `None` when the result is
/// not UTF-8 or an escape is malformed.
pub fn percent_decode(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                let hex = |c: u8| (c as char).to_digit(16);
                let hi = hex(*b.get(i + 1)?)?;
                let lo = hex(*b.get(i + 2)?)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The `key=value` pairs of a query string, decoded; Usage on a malformed escape.
pub fn query_pairs(query: Option<&str>) -> Result<Vec<(String, String)>, Error> {
    let mut pairs = Vec::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let bad = || {
            usage(
                format!("malformed query parameter '{part}'"),
                "Percent-encode query values as UTF-8 (e.g. %20 for a space).",
            )
        };
        pairs.push((
            percent_decode(k, true).ok_or_else(bad)?,
            percent_decode(v, true).ok_or_else(bad)?,
        ));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decoding_rejects_bad_escapes_and_non_utf8() {
        assert_eq!(percent_decode("a%2Fb", false).as_deref(), Some("a/b"));
        assert_eq!(percent_decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(percent_decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(percent_decode("%e2%82%ac", false).as_deref(), Some("€"));
        assert_eq!(percent_decode("%", false), None);
        assert_eq!(percent_decode("%4", false), None);
        assert_eq!(percent_decode("%zz", false), None);
        assert_eq!(percent_decode("%ff", false), None);
    }

    #[test]
    fn query_pairs_keep_repeats_in_order() {
        let p = query_pairs(Some("tag=a&tag=b%2Cc&where=.x+%3E+1&flag")).expect("parses");
        assert_eq!(
            p,
            vec![
                ("tag".into(), "a".into()),
                ("tag".into(), "b,c".into()),
                ("where".into(), ".x > 1".into()),
                ("flag".into(), String::new()),
            ]
        );
        assert!(query_pairs(Some("a=%")).is_err());
    }
}
