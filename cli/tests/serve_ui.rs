//! The web UI's files as `pls serve` answers them, black-box: one page for `/ui` and
//! `/ui/pools/{pool}`, its assets with their content types, a strict Content-Security-Policy,
//! `nosniff`, revalidating caches, and no token needed even when the data routes need one.
//! (What the page does is tested in a browser: `ui-tests/`.)

mod common;
use common::*;

#[test]
fn ui_pages_and_assets_carry_their_type_and_a_strict_policy() {
    let e = env("ui_files");
    let s = e.serve(&[]);
    for (path, ty) in [
        ("/ui", "text/html; charset=utf-8"),
        ("/ui/pools/chat", "text/html; charset=utf-8"),
        ("/ui/assets/app.js", "text/javascript; charset=utf-8"),
        ("/ui/assets/stream.js", "text/javascript; charset=utf-8"),
        ("/ui/assets/style.css", "text/css; charset=utf-8"),
        ("/ui/assets/icon.svg", "image/svg+xml"),
    ] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ty), "{path}");
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path}"
        );
        assert_eq!(r.header("cache-control"), Some("no-cache"), "{path}");
        let csp = r.header("content-security-policy").expect("a CSP");
        assert!(csp.starts_with("default-src 'self'"), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert!(r.header("etag").is_some(), "{path}");
    }
    assert_eq!(s.get("/ui").body, s.get("/ui/pools/other").body);
}

#[test]
fn ui_files_revalidate_with_their_etag() {
    let e = env("ui_etag");
    let s = e.serve(&[]);
    let first = s.get("/ui/assets/pool.js");
    let etag = first.header("etag").expect("etag").to_owned();
    let again = s.request(
        "GET",
        "/ui/assets/pool.js",
        &[("if-none-match", &etag)],
        b"",
    );
    assert_eq!(again.status, 304);
    assert!(again.body.is_empty());
    let other = s.request(
        "GET",
        "/ui/assets/pool.js",
        &[("if-none-match", "\"0\"")],
        b"",
    );
    assert_eq!(other.status, 200);
    assert_eq!(other.body, first.body);
}

#[test]
fn unknown_assets_and_bad_pool_names_are_errors_not_pages() {
    let e = env("ui_errors");
    let s = e.serve(&[]);
    s.get("/ui/assets/nope.js").error(404, "NotFound");
    s.get("/ui/assets/index.html").error(404, "NotFound");
    s.get("/ui/pools/..").error(400, "Usage");
    s.get("/ui/pools/a%2Fb").error(400, "Usage");
    assert_eq!(s.get("/ui/").status, 404);
}

#[test]
fn ui_files_need_no_token_but_its_data_does() {
    let e = env("ui_token");
    let s = e.serve(&["--token", "sekrit"]);
    assert_eq!(s.get("/ui").status, 200);
    assert_eq!(s.get("/ui/pools/chat").status, 200);
    assert_eq!(s.get("/ui/assets/api.js").status, 200);
    assert_eq!(s.get("/v0/ui/pools").status, 401);
}
