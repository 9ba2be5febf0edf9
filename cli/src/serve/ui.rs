//! The web UI: one HTML page (`/ui`, `/ui/pools/{pool}`) and its scripts and stylesheet
//! (`/ui/assets/{file}`), embedded in the binary and served as they are.
//!
//! Role: static files only. The page reads everything through the data routes
//! (`/v0/ui/…`, `/v0/pools/{pool}/append`, `/healthz`) with the caller's token, so serving it
//! needs none; what it shows and does is decided in the browser (`cli/src/serve/ui/`).
//!
//! # Invariants
//! - Every 200 here is one of [`FILES`], byte for byte (errors are the usual JSON), with its
//!   content type, `X-Content-Type-Options: nosniff` and a Content-Security-Policy that allows
//!   scripts, styles, images and connections from this origin only (no inline code, no other
//!   host): the page fetches nothing from elsewhere.
//! - Caching revalidates: `Cache-Control: no-cache` with an `ETag` of the content, so a
//!   browser never runs the scripts of an older binary against a newer server, and an
//!   unchanged file costs a 304.
//! - `/ui/pools/{pool}` checks the name like every `{pool}` route (400 for a bad one) but not
//!   whether the pool exists: the page says so itself, after authenticating.
//!
//! Spec: `spec/HTTP.md` §4.4.

use super::http::{self, Body};
use super::router::{bad_request, pool_name};
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};
use plasmite_os::{Error, ErrorKind};

/// One embedded file.
pub struct File {
    /// Its name under `/ui/assets/` (the page itself is `index.html`, never served there).
    pub name: &'static str,
    /// Its content type.
    pub content_type: &'static str,
    /// Its bytes.
    pub bytes: &'static [u8],
}

macro_rules! file {
    ($name:literal, $ct:literal) => {
        File {
            name: $name,
            content_type: $ct,
            bytes: include_bytes!(concat!("ui/", $name)),
        }
    };
}

/// The page and its assets.
pub static FILES: &[File] = &[
    file!("index.html", "text/html; charset=utf-8"),
    file!("style.css", "text/css; charset=utf-8"),
    file!("app.js", "text/javascript; charset=utf-8"),
    file!("api.js", "text/javascript; charset=utf-8"),
    file!("stream.js", "text/javascript; charset=utf-8"),
    file!("list.js", "text/javascript; charset=utf-8"),
    file!("pool.js", "text/javascript; charset=utf-8"),
    file!("cards.js", "text/javascript; charset=utf-8"),
    file!("append.js", "text/javascript; charset=utf-8"),
    file!("format.js", "text/javascript; charset=utf-8"),
    file!("banners.js", "text/javascript; charset=utf-8"),
    file!("icon.svg", "image/svg+xml"),
];

/// The policy every UI answer carries: this origin only, nothing inline, no framing.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; font-src 'self'; object-src 'none'; \
     base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The page: `/ui` and `/ui/pools/{pool}` serve the same document, which reads its path.
pub fn page(headers: &HeaderMap, pool: Option<&str>) -> Response<Body> {
    if let Some(raw) = pool
        && let Err(e) = pool_name(Some(raw))
    {
        return bad_request(e).response();
    }
    serve(headers, "index.html")
}

/// `/ui/assets/{file}`.
pub fn asset(headers: &HeaderMap, name: Option<&str>) -> Response<Body> {
    match name {
        Some(n) if n != "index.html" => serve(headers, n),
        _ => not_found(name.unwrap_or("")),
    }
}

fn not_found(name: &str) -> Response<Body> {
    http::error_response(
        &Error::new(ErrorKind::NotFound, format!("no UI asset '{name}'"))
            .with_hint("The page is at /ui; its assets are listed in spec/HTTP.md §4.4."),
    )
}

/// A 64-bit FNV-1a hash, at compile time where it can be.
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
        i += 1;
    }
    h
}

fn serve(headers: &HeaderMap, name: &str) -> Response<Body> {
    let Some(f) = FILES.iter().find(|f| f.name == name) else {
        return not_found(name);
    };
    let etag = format!("\"{:016x}\"", fnv1a(f.bytes));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag || t.trim() == "*"));
    let mut r = if fresh {
        let mut r = http::response(StatusCode::NOT_MODIFIED, f.content_type, http::empty());
        r.headers_mut().remove(header::CONTENT_TYPE);
        r
    } else {
        http::response(StatusCode::OK, f.content_type, http::full(f.bytes))
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_ui_stays_within_its_size_budget() {
        let total: usize = FILES.iter().map(|f| f.bytes.len()).sum();
        assert!(total <= 80 * 1024, "the UI is {total} bytes, over 80 KiB");
    }

    #[test]
    fn page_references_only_embedded_assets() {
        let page = std::str::from_utf8(FILES[0].bytes).expect("utf-8");
        for part in page.split("/ui/assets/").skip(1) {
            let name: String = part
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect();
            assert!(
                FILES.iter().any(|f| f.name == name),
                "index.html links {name}, which is not embedded"
            );
        }
        assert!(!page.contains("<script>"), "no inline script");
        assert!(!page.contains("style="), "no inline style");
    }

    #[test]
    fn module_imports_name_embedded_files() {
        for f in FILES.iter().filter(|f| f.name.ends_with(".js")) {
            let src = std::str::from_utf8(f.bytes).expect("utf-8");
            for part in src.split("from './").skip(1) {
                let name = part.split('\'').next().unwrap_or("");
                assert!(
                    FILES.iter().any(|g| g.name == name),
                    "{} imports {name}, which is not embedded",
                    f.name
                );
            }
        }
    }
}
