//! `pls serve`, black-box: every route of the route table over real sockets — status codes,
//! JSON shapes and errors, authentication, access modes, CORS, and the protocols a plain and a
//! TLS port speak. Tails have their own file (`serve_tail.rs`).
//!
//! Each test starts its own server on a free loopback port ([`Env::serve`]) and talks to it
//! with the raw HTTP/1.1 client of `common/serve.rs`, which sends paths exactly as written
//! (`..`, `%2F`) and reads every header; h2 and TLS go through `curl`, and are skipped when it
//! is missing.
//!
//! Spec: `spec/HTTP.md` §3, §4 (the reference's CLI-HTTP-MCP-V0 §3.1, §4).

mod common;
use common::serve::{Resp, Served, curl};
use common::*;

use serde_json::{Value, json};
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Shapes

/// Checks an error answer: `status`, `plasmite-version: 0`, and exactly
/// `{"error":{"kind","message","hint"?,"path"?,"seq"?,"offset"?}}`; the inner object.
#[track_caller]
fn assert_error(r: &Resp, status: u16, kind: &str) -> Value {
    assert_eq!(r.status, status, "status of {}", r.text());
    assert_eq!(r.header("plasmite-version"), Some("0"), "{r:?}");
    assert_eq!(
        r.header("content-type"),
        Some("application/json"),
        "{}",
        r.text()
    );
    let v = r.json();
    assert_eq!(keys(&v), ["error"], "error envelope: {v}");
    let e = &v["error"];
    for k in keys(e) {
        assert!(
            ["hint", "kind", "message", "offset", "path", "seq"].contains(&k),
            "unexpected error field {k}: {v}"
        );
    }
    assert_eq!(e["kind"], kind, "{v}");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    if let Some(h) = e.get("hint") {
        assert!(h.is_string(), "{v}");
    }
    e.clone()
}

/// Checks a pool info object (sorted keys as printed, `spec` §3.1).
#[track_caller]
fn assert_info(info: &Value, name: &str, messages: u64) {
    assert_eq!(
        keys(info),
        [
            "bounds",
            "file_size",
            "index_capacity",
            "index_offset",
            "index_size_bytes",
            "metrics",
            "name",
            "path",
            "ring_offset",
            "ring_size"
        ],
        "info keys: {info}"
    );
    assert_eq!(info["name"], name, "{info}");
    assert!(
        info["path"]
            .as_str()
            .is_some_and(|p| p.ends_with(&format!("{name}.plasmite"))),
        "{info}"
    );
    for k in [
        "file_size",
        "index_capacity",
        "index_offset",
        "index_size_bytes",
        "ring_offset",
        "ring_size",
    ] {
        assert!(info[k].is_u64(), "{k}: {info}");
    }
    let m = &info["metrics"];
    assert_eq!(
        keys(m),
        ["age", "message_count", "seq_span", "utilization"],
        "{info}"
    );
    assert_eq!(
        keys(&m["age"]),
        [
            "newest_age_ms",
            "newest_time",
            "oldest_age_ms",
            "oldest_time"
        ],
        "{info}"
    );
    assert_eq!(
        keys(&m["utilization"]),
        ["free_bytes", "used_bytes", "used_percent"],
        "{info}"
    );
    assert_eq!(m["message_count"], messages, "{info}");
    if messages == 0 {
        assert_eq!(
            info["bounds"],
            json!({}),
            "an empty pool has no bounds: {info}"
        );
        assert!(m["age"]["newest_time"].is_null(), "{info}");
    } else {
        assert_eq!(keys(&info["bounds"]), ["newest", "oldest"], "{info}");
        assert_time(&m["age"]["newest_time"]);
        assert_time(&m["age"]["oldest_time"]);
    }
}

// ---------------------------------------------------------------------------------------------
// The route table, read from the router's source so that a route added there is exercised here

/// One route of `ROUTES`.
#[derive(Clone, Debug)]
struct Route {
    method: String,
    path: String,
    need: String,
    handler: String,
}

/// Every route of `cli/src/serve/router.rs`'s `ROUTES`, in order.
fn routes() -> Vec<Route> {
    let src = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/serve/router.rs"))
        .expect("router source");
    let start = src.find("pub static ROUTES").expect("ROUTES");
    let table = &src[start..];
    let table = &table[..table.find("];").expect("end of ROUTES")];
    let flat: String = table.chars().filter(|c| !c.is_whitespace()).collect();
    let routes: Vec<Route> = flat
        .split("route(")
        .skip(1)
        .map(|r| {
            let mut parts = r.split(',');
            let mut next = || parts.next().expect("route field").to_owned();
            let method = next().trim_start_matches("Method::").to_owned();
            let path = next().trim_matches('"').to_owned();
            let need = next().trim_start_matches("Need::").to_owned();
            let handler = next()
                .trim_start_matches("Handler::")
                .trim_end_matches(')')
                .to_owned();
            Route {
                method,
                path,
                need,
                handler,
            }
        })
        .collect();
    assert!(
        routes.len() >= 18,
        "the route table was not parsed: {routes:?}"
    );
    routes
}

/// Sends a valid request for `route` on pool `pool` (which holds message 1), with `headers`.
fn call(s: &Served, route: &Route, pool: &str, lite3: &[u8], headers: &[(&str, &str)]) -> Resp {
    let mut path = route
        .path
        .replace("{pool}", pool)
        .replace("{seq}", "1")
        .replace("{file}", "app.js");
    let mut hs: Vec<(&str, &str)> = headers.to_vec();
    let body: Vec<u8> = match route.handler.as_str() {
        "CreatePool" => json!({"pool": format!("{pool}-new")}).to_string().into(),
        "OpenPool" => json!({ "pool": pool }).to_string().into(),
        "Append" => json!({"data": {"x": 1}}).to_string().into(),
        "AppendLite3" => lite3.to_vec(),
        "AppendJsonl" => b"{\"x\":2}\n".to_vec(),
        "Mcp" => json!({"jsonrpc": "2.0", "id": 1, "method": "ping"})
            .to_string()
            .into(),
        _ => Vec::new(),
    };
    match route.handler.as_str() {
        "AppendLite3" => hs.push(("content-type", "application/x-plasmite-lite3")),
        "AppendJsonl" => hs.push(("content-type", "application/jsonl")),
        "Mcp" => {
            hs.push(("content-type", "application/json"));
            hs.push(("accept", "application/json, text/event-stream"));
        }
        _ if !body.is_empty() => hs.push(("content-type", "application/json")),
        _ => {}
    }
    if matches!(route.handler.as_str(), "Tail" | "TailLite3" | "UiEvents") {
        path.push_str("?timeout_ms=50");
    }
    s.request(&route.method, &path, &hs, &body)
}

/// A server's pool `p` with one message; the message's Lite³ payload.
fn pool_with_one_message(s: &Served, pool: &str) -> Vec<u8> {
    s.create_pool(pool, None);
    s.append(pool, &json!({"first": true}), &["t"]);
    let r = s.get(&format!("/v0/pools/{pool}/messages/1/lite3"));
    assert_eq!(r.status, 200, "{}", r.text());
    r.body
}

#[test]
fn every_route_in_the_table_answers_with_the_version_header() {
    let e = env("serve-table");
    let s = e.serve(&[]);
    let lite3 = pool_with_one_message(&s, "p");
    // DELETE last: the others need the pool.
    let mut all = routes();
    all.sort_by_key(|r| r.method == "DELETE");
    for r in &all {
        let resp = call(&s, r, "p", &lite3, &[]);
        assert_eq!(
            resp.header("plasmite-version"),
            Some("0"),
            "{} {}: {resp:?}",
            r.method,
            r.path
        );
        match r.handler.as_str() {
            // `GET /mcp` opens no server-initiated stream.
            "McpGet" => assert_eq!(resp.status, 405, "{} {}", r.method, r.path),
            // The MCP dispatcher is tested in its own file; here it must only be routed.
            "Mcp" => assert!(
                ![404, 405].contains(&resp.status),
                "{} {}: {}",
                r.method,
                r.path,
                resp.text()
            ),
            _ => assert_eq!(resp.status, 200, "{} {}: {}", r.method, r.path, resp.text()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Pools

#[test]
fn healthz_is_ok_json() {
    let e = env("serve-healthz");
    let s = e.serve(&[]);
    let r = s.get("/healthz");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("plasmite-version"), Some("0"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v = r.json();
    assert_eq!(v["ok"], true, "{v}");
    assert_eq!(v["server"], "plasmite-rs", "{v}");
    assert_eq!(v["access"], "read-write", "{v}");
    assert_eq!(v["auth"], false, "{v}");
    assert!(
        v["features"]
            .as_array()
            .is_some_and(|f| f.contains(&json!("tail_where"))),
        "{v}"
    );
}

#[test]
fn create_answers_the_new_pools_info_with_a_1mib_default_and_409_when_it_exists() {
    let e = env("serve-create");
    let s = e.serve(&[]);
    let r = s.post_json("/v0/pools", &json!({"pool": "p"}));
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(keys(&v), ["pool"], "{v}");
    assert_info(&v["pool"], "p", 0);
    assert_eq!(v["pool"]["file_size"], 1 << 20, "default size: {v}");
    assert!(e.path("p").exists(), "the file is created");

    let again = s.post_json("/v0/pools", &json!({"pool": "p", "size_bytes": 65536}));
    assert_error(&again, 409, "AlreadyExists");

    let small = s.create_pool("small", Some(65536));
    assert_info(&small, "small", 0);
    assert_eq!(small["file_size"], 65536, "{small}");
    assert_eq!(
        std::fs::metadata(e.path("small")).expect("file").len(),
        65536
    );
    let null_size = s.post_json("/v0/pools", &json!({"pool": "n", "size_bytes": null}));
    assert_eq!(null_size.json()["pool"]["file_size"], 1 << 20);
}

#[test]
fn create_refuses_bodies_without_a_string_pool_or_with_a_bad_size() {
    let e = env("serve-create-bad");
    let s = e.serve(&[]);
    for body in [
        json!({}),
        json!({"pool": 5}),
        json!({"pool": "p", "size_bytes": "big"}),
        json!({"pool": "p", "size_bytes": -1}),
    ] {
        assert_error(&s.post_json("/v0/pools", &body), 422, "Usage");
    }
    assert_error(
        &s.post_json("/v0/pools", &json!({"pool": "a/b"})),
        400,
        "Usage",
    );
    assert_error(
        &s.post_json("/v0/pools", &json!({"pool": ".."})),
        400,
        "Usage",
    );
    assert!(!e.dir.join("p.plasmite").exists(), "nothing was created");
}

#[test]
fn list_and_its_ui_alias_show_every_pool_with_its_info() {
    let e = env("serve-list");
    let s = e.serve(&[]);
    s.create_pool("a", None);
    s.create_pool("b", Some(65536));
    s.append("b", &json!({"x": 1}), &[]);
    for path in ["/v0/pools", "/v0/ui/pools"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(keys(&v), ["pools"], "{v}");
        let mut pools: Vec<Value> = v["pools"].as_array().expect("array").clone();
        pools.sort_by_key(|p| p["name"].as_str().unwrap_or("").to_owned());
        assert_eq!(pools.len(), 2, "{v}");
        assert_info(&pools[0], "a", 0);
        assert_info(&pools[1], "b", 1);
    }
}

#[test]
fn list_reports_an_unreadable_pool_in_its_place_and_still_lists_the_others() {
    let e = env("serve-list-corrupt");
    let s = e.serve(&[]);
    s.create_pool("good", None);
    std::fs::write(e.path("bad"), vec![0x5a; 5000]).expect("write");
    let r = s.get("/v0/pools");
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let pools = v["pools"].as_array().expect("array");
    assert_eq!(pools.len(), 2, "{v}");
    let bad = pools
        .iter()
        .find(|p| p["name"] == "bad")
        .expect("bad listed");
    assert_eq!(keys(bad), ["error", "name"], "{bad}");
    assert_eq!(bad["error"]["kind"], "Corrupt", "{bad}");
    let good = pools
        .iter()
        .find(|p| p["name"] == "good")
        .expect("good listed");
    assert_info(good, "good", 0);
    assert_error(&s.get("/v0/pools/bad/info"), 500, "Corrupt");
}

/// The Node package's README starts a server as `serve ./data --port 9700`: a pool directory
/// given as a path, and a port at the default (loopback) address.
#[test]
fn a_pool_directory_as_a_path_and_a_port_alone_serve_as_the_node_readme_writes_them() {
    let e = env("serve-dir-port");
    let data = e.root.join("data");
    let data_str = data.to_str().expect("utf-8 path");
    e.pls(&["pool", "create", &format!("{data_str}/demo.plasmite")])
        .code(0);
    let s = e.serve(&[data_str, "--port", "0"]);
    assert!(s.addr.ip().is_loopback(), "{}", s.addr);
    let r = s.get("/v0/pools");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["pools"][0]["name"], "demo");

    // Refused before anything binds: the port twice, the directory twice, a bad port, and a
    // word that is neither an action nor a path.
    let both = e.pls(&["serve", "--bind", "127.0.0.1:0", "--port", "0"]);
    assert!(str_of(&both.fails(2, "Usage"), "message").contains("--port and --bind"));
    let twice = e.pls(&["serve", data_str, "--dir", data_str]);
    assert!(str_of(&twice.fails(2, "Usage"), "message").contains("given twice"));
    let bad = e.pls(&["serve", "--port", "70000"]);
    assert!(str_of(&bad.fails(2, "Usage"), "message").contains("invalid --port"));
    let word = e.pls(&["serve", "datta"]);
    assert!(str_of(&word.fails(2, "Usage"), "message").contains("./datta"));
}

#[test]
fn list_of_a_missing_directory_is_empty() {
    let e = env("serve-list-empty");
    let s = e.serve(&[]);
    let r = s.get("/v0/pools");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"pools": []}));
}

#[test]
fn open_answers_the_info_of_an_existing_pool_and_404_for_a_missing_one() {
    let e = env("serve-open");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let r = s.post_json("/v0/pools/open", &json!({"pool": "p"}));
    assert_eq!(r.status, 200, "{}", r.text());
    assert_info(&r.json()["pool"], "p", 0);
    assert_error(
        &s.post_json("/v0/pools/open", &json!({"pool": "nope"})),
        404,
        "NotFound",
    );
    assert!(!e.path("nope").exists(), "open never creates");
    assert_error(&s.post_json("/v0/pools/open", &json!({})), 422, "Usage");
}

#[test]
fn info_and_its_ui_alias_answer_the_same_info_and_404_for_a_missing_pool() {
    let e = env("serve-info");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"x": 1}), &[]);
    s.append("p", &json!({"x": 2}), &[]);
    for path in ["/v0/pools/p/info", "/v0/ui/pools/p/info"] {
        let r = s.get(path);
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(keys(&v), ["pool"], "{v}");
        assert_info(&v["pool"], "p", 2);
        assert_eq!(v["pool"]["bounds"], json!({"newest": 2, "oldest": 1}));
    }
    for path in ["/v0/pools/nope/info", "/v0/ui/pools/nope/info"] {
        assert_error(&s.get(path), 404, "NotFound");
    }
}

#[test]
fn delete_removes_the_pool_so_later_reads_are_404() {
    let e = env("serve-delete");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"x": 1}), &[]);
    assert_eq!(s.get("/v0/pools/p/messages/1").status, 200);
    let r = s.request("DELETE", "/v0/pools/p", &[], b"");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"ok": true}));
    assert!(!e.path("p").exists(), "the file is gone");
    assert_error(&s.get("/v0/pools/p/info"), 404, "NotFound");
    assert_error(&s.get("/v0/pools/p/messages/1"), 404, "NotFound");
    assert_error(
        &s.post_json("/v0/pools/p/append", &json!({"data": {}})),
        404,
        "NotFound",
    );
    assert_error(
        &s.request("DELETE", "/v0/pools/p", &[], b""),
        404,
        "NotFound",
    );
    // The name is free again.
    s.create_pool("p", None);
    assert_info(&s.get("/v0/pools/p/info").json()["pool"], "p", 0);
}

// ---------------------------------------------------------------------------------------------
// Append and get

#[test]
fn append_answers_the_envelope_with_its_tags_and_the_next_seq() {
    let e = env("serve-append");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let r = s.post_json(
        "/v0/pools/p/append",
        &json!({"data": {"b": 2, "a": [1, "x"]}, "tags": [" one ", "two", ""]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(keys(&v), ["message"], "{v}");
    assert_envelope(
        &v["message"],
        1,
        &json!({"a": [1, "x"], "b": 2}),
        &["one", "two"],
    );
    for durability in ["flush", "fast", "other"] {
        let r = s.post_json(
            "/v0/pools/p/append",
            &json!({"data": {"d": durability}, "durability": durability}),
        );
        assert_eq!(r.status, 200, "{durability}: {}", r.text());
    }
    let last = s.append("p", &json!({"n": 5}), &[]);
    assert_envelope(&last, 5, &json!({"n": 5}), &[]);

    // What get answers is what append answered.
    let got = s.get("/v0/pools/p/messages/1");
    assert_eq!(got.status, 200, "{}", got.text());
    assert_eq!(got.header("plasmite-version"), Some("0"));
    assert_eq!(got.json(), v);
    // And the CLI sees the same message in the file.
    assert_eq!(e.fetch("p", 1), v["message"]);
}

#[test]
fn append_refuses_bad_bodies_with_the_json_error_shape() {
    let e = env("serve-append-bad");
    let s = e.serve(&["--max-body-bytes", "1024"]);
    s.create_pool("p", None);
    let post = |ct: &str, body: &[u8]| {
        s.request("POST", "/v0/pools/p/append", &[("content-type", ct)], body)
    };
    // Data that is not an object: the engine's Usage error.
    for data in [json!(5), json!("x"), json!([1]), json!(null)] {
        let r = s.post_json("/v0/pools/p/append", &json!({ "data": data }));
        assert_error(&r, 400, "Usage");
    }
    // Fields of the wrong type, or missing.
    for body in [
        json!({}),
        json!({"data": {}, "tags": "x"}),
        json!({"data": {}, "tags": [1]}),
        json!({"data": {}, "durability": 5}),
    ] {
        assert_error(&s.post_json("/v0/pools/p/append", &body), 422, "Usage");
    }
    // A body that is JSON but not an object.
    assert_error(&post("application/json", b"[1,2]"), 422, "Usage");
    // Not JSON at all, or not said to be.
    assert_error(&post("application/json", b"{\"data\":"), 400, "Usage");
    assert_error(&post("text/plain", b"{\"data\":{}}"), 415, "Usage");
    assert_error(
        &s.request("POST", "/v0/pools/p/append", &[], b"{\"data\":{}}"),
        415,
        "Usage",
    );
    // Larger than --max-body-bytes.
    let big = json!({"data": {"pad": "x".repeat(2000)}}).to_string();
    let e413 = assert_error(&post("application/json", big.as_bytes()), 413, "Usage");
    assert!(
        e413["message"].as_str().unwrap_or("").contains("1024"),
        "{e413}"
    );
    // A chunked body without a declared length is cut at the limit too.
    let chunked = |body: &str| {
        let mut req = String::from(
            "POST /v0/pools/p/append HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\
             content-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        );
        for piece in body.as_bytes().chunks(300) {
            req.push_str(&format!("{:x}\r\n", piece.len()));
            req.push_str(std::str::from_utf8(piece).expect("ASCII"));
            req.push_str("\r\n");
        }
        req.push_str("0\r\n\r\n");
        s.raw(req.as_bytes())
    };
    assert_error(&chunked(&big), 413, "Usage");
    let small = json!({"data": {"pad": "z".repeat(500)}}).to_string();
    assert_eq!(chunked(&small).status, 200);
    // At the limit is fine.
    let pad = 1024 - json!({"data": {"pad": ""}}).to_string().len();
    let exact = json!({"data": {"pad": "y".repeat(pad)}}).to_string();
    assert_eq!(exact.len(), 1024);
    assert_eq!(post("application/json", exact.as_bytes()).status, 200);
    // A charset parameter does not make JSON foreign.
    assert_eq!(
        post("application/json; charset=utf-8", b"{\"data\":{}}").status,
        200
    );
    // A missing pool.
    assert_error(
        &s.post_json("/v0/pools/nope/append", &json!({"data": {}})),
        404,
        "NotFound",
    );
    assert_eq!(
        s.get("/v0/pools/p/info").json()["pool"]["metrics"]["message_count"],
        3,
        "only the three good bodies were appended"
    );
}

#[test]
fn get_answers_404_with_the_seq_for_a_missing_message_and_400_for_a_non_number() {
    let e = env("serve-get");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"x": 1}), &[]);
    for path in ["/v0/pools/p/messages/7", "/v0/pools/p/messages/7/lite3"] {
        let err = assert_error(&s.get(path), 404, "NotFound");
        assert_eq!(err["seq"], 7, "{err}");
    }
    for bad in ["abc", "-1", "1.5", "99999999999999999999999"] {
        assert_error(&s.get(&format!("/v0/pools/p/messages/{bad}")), 400, "Usage");
        assert_error(
            &s.get(&format!("/v0/pools/p/messages/{bad}/lite3")),
            400,
            "Usage",
        );
    }
    assert_error(&s.get("/v0/pools/nope/messages/1"), 404, "NotFound");
}

#[test]
fn get_lite3_answers_the_raw_payload_with_its_seq_and_content_type() {
    let e = env("serve-get-lite3");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"x": 1}), &["a"]);
    let m = s.append("p", &json!({"y": 2}), &["b"]);
    let r = s.get("/v0/pools/p/messages/2/lite3");
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type"),
        Some("application/x-plasmite-lite3")
    );
    assert_eq!(r.header("plasmite-seq"), Some("2"));
    assert_eq!(r.header("plasmite-version"), Some("0"));
    assert!(
        r.header("plasmite-time-ns")
            .is_some_and(|t| t.parse::<u64>().is_ok()),
        "{r:?}"
    );
    assert!(!r.body.is_empty());
    // The payload is the pool's bytes: appending it back gives the same message.
    let back = s.request(
        "POST",
        "/v0/pools/p/append_lite3",
        &[("content-type", "application/x-plasmite-lite3")],
        &r.body,
    );
    assert_eq!(back.status, 200, "{}", back.text());
    let v = back.json()["message"].clone();
    assert_envelope(&v, 3, &m["data"], &["b"]);
}

#[test]
fn append_lite3_takes_back_a_payload_read_with_get_lite3() {
    let e = env("serve-append-lite3");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let orig = s.append("p", &json!({"k": "v", "n": [1, 2]}), &["x", "y"]);
    let payload = s.get("/v0/pools/p/messages/1/lite3").body;
    let cases: [(&str, &[(&str, &str)]); 4] = [
        (
            "/v0/pools/p/append_lite3",
            &[("content-type", "application/x-plasmite-lite3")],
        ),
        // Without a content type the body is taken as Lite³.
        ("/v0/pools/p/append_lite3", &[]),
        (
            "/v0/pools/p/append_lite3?durability=flush",
            &[("content-type", "application/x-plasmite-lite3; v=1")],
        ),
        (
            "/v0/pools/p/append_lite3?durability=fast",
            &[("content-type", "application/x-plasmite-lite3")],
        ),
    ];
    for (i, (path, headers)) in cases.iter().enumerate() {
        let r = s.request("POST", path, headers, &payload);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        let v = r.json();
        assert_eq!(keys(&v), ["message"], "{v}");
        assert_envelope(&v["message"], 2 + i as u64, &orig["data"], &["x", "y"]);
        assert_eq!(
            s.get(&format!("/v0/pools/p/messages/{}/lite3", 2 + i)).body,
            payload,
            "stored as sent"
        );
    }
}

#[test]
fn append_lite3_refuses_empty_garbage_foreign_content_types_and_bad_durability() {
    let e = env("serve-append-lite3-bad");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"k": 1}), &[]);
    let payload = s.get("/v0/pools/p/messages/1/lite3").body;
    let lite3 = [("content-type", "application/x-plasmite-lite3")];
    let post =
        |path: &str, headers: &[(&str, &str)], body: &[u8]| s.request("POST", path, headers, body);
    assert_error(&post("/v0/pools/p/append_lite3", &lite3, b""), 400, "Usage");
    assert_error(
        &post(
            "/v0/pools/p/append_lite3",
            &lite3,
            b"garbage bytes, not Lite3",
        ),
        400,
        "Usage",
    );
    let mut cut = payload.clone();
    cut.truncate(payload.len() / 2);
    assert_error(
        &post("/v0/pools/p/append_lite3", &lite3, &cut),
        400,
        "Usage",
    );
    for ct in ["application/json", "text/plain", "application/octet-stream"] {
        assert_error(
            &post(
                "/v0/pools/p/append_lite3",
                &[("content-type", ct)],
                &payload,
            ),
            415,
            "Usage",
        );
    }
    assert_error(
        &post("/v0/pools/p/append_lite3?durability=slow", &lite3, &payload),
        400,
        "Usage",
    );
    assert_error(
        &post("/v0/pools/nope/append_lite3", &lite3, &payload),
        404,
        "NotFound",
    );
    assert_eq!(
        s.get("/v0/pools/p/info").json()["pool"]["metrics"]["message_count"],
        1,
        "nothing refused was appended"
    );
}

// ---------------------------------------------------------------------------------------------
// Bulk append

/// Every message's `data` in `pool`, read through `GET …/messages/{seq}`.
fn all_data(s: &Served, pool: &str) -> Vec<(u64, Value, Value)> {
    let info = s.get(&format!("/v0/pools/{pool}/info")).json();
    let b = &info["pool"]["bounds"];
    let (Some(lo), Some(hi)) = (b["oldest"].as_u64(), b["newest"].as_u64()) else {
        return Vec::new();
    };
    (lo..=hi)
        .map(|seq| {
            let m = s.get(&format!("/v0/pools/{pool}/messages/{seq}")).json()["message"].clone();
            (seq, m["data"].clone(), m["meta"]["tags"].clone())
        })
        .collect()
}

#[test]
fn append_jsonl_appends_the_good_lines_around_bad_ones_in_order_and_reports_each_bad_line() {
    let e = env("serve-jsonl");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"before": true}), &[]);
    let body = "{\"i\":1}\nnot json\n{\"i\":2}\n\n[3]\n{\"i\":4}\n{\"i\":5}";
    let v = s.append_jsonl("p", "", body);
    assert_eq!(
        keys(&v),
        [
            "appended",
            "errors",
            "first_seq",
            "last_seq",
            "rejected",
            "stopped"
        ],
        "{v}"
    );
    assert_eq!(v["appended"], 4, "{v}");
    assert_eq!(v["rejected"], 2, "{v}");
    assert_eq!(v["first_seq"], 2, "{v}");
    assert_eq!(v["last_seq"], 5, "{v}");
    assert_eq!(v["stopped"], false, "{v}");
    let errors = v["errors"].as_array().expect("errors");
    let lines: Vec<u64> = errors
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, [2, 5], "line numbers of the bad lines: {v}");
    for e in errors {
        assert_eq!(e["kind"], "Usage", "{v}");
        assert!(e["message"].is_string(), "{v}");
    }
    let data: Vec<Value> = all_data(&s, "p").into_iter().map(|(_, d, _)| d).collect();
    assert_eq!(
        data,
        [
            json!({"before": true}),
            json!({"i": 1}),
            json!({"i": 2}),
            json!({"i": 4}),
            json!({"i": 5})
        ]
    );
}

#[test]
fn append_jsonl_errors_stop_keeps_only_the_lines_before_the_first_bad_one() {
    let e = env("serve-jsonl-stop");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let v = s.append_jsonl(
        "p",
        "?errors=stop",
        "{\"i\":1}\n{\"i\":2}\n{oops\n{\"i\":3}\n",
    );
    assert_eq!(v["appended"], 2, "{v}");
    assert_eq!(v["rejected"], 1, "{v}");
    assert_eq!(v["stopped"], true, "{v}");
    assert_eq!(v["first_seq"], 1, "{v}");
    assert_eq!(v["last_seq"], 2, "{v}");
    assert_eq!(v["errors"][0]["line"], 3, "{v}");
    let data: Vec<Value> = all_data(&s, "p").into_iter().map(|(_, d, _)| d).collect();
    assert_eq!(data, [json!({"i": 1}), json!({"i": 2})]);
    // With nothing good before the bad line, nothing is appended and there are no seqs.
    let none = s.append_jsonl("p", "?errors=stop", "nope\n{\"i\":9}\n");
    assert_eq!(none["appended"], 0, "{none}");
    assert!(none["first_seq"].is_null(), "{none}");
    assert!(none["last_seq"].is_null(), "{none}");
}

#[test]
fn append_jsonl_tags_every_record_and_refuses_bad_parameters() {
    let e = env("serve-jsonl-tags");
    let s = e.serve(&["--max-body-bytes", "4096"]);
    s.create_pool("p", None);
    let v = s.append_jsonl(
        "p",
        "?tag=a&tag=b%2Cc&tag=&durability=flush",
        "{\"i\":1}\n{\"i\":2}\n",
    );
    assert_eq!(v["appended"], 2, "{v}");
    for (_, _, tags) in all_data(&s, "p") {
        assert_eq!(tags, json!(["a", "b,c"]));
    }
    let post = |q: &str, body: &[u8]| {
        s.request(
            "POST",
            &format!("/v0/pools/p/append_jsonl{q}"),
            &[("content-type", "application/jsonl")],
            body,
        )
    };
    assert_error(&post("?durability=bad", b"{}\n"), 400, "Usage");
    assert_error(&post("?errors=maybe", b"{}\n"), 400, "Usage");
    assert_error(&post("?tag=%zz", b"{}\n"), 400, "Usage");
    assert_error(&post("", &vec![b' '; 5000]), 413, "Usage");
    assert_error(
        &s.request(
            "POST",
            "/v0/pools/nope/append_jsonl",
            &[("content-type", "application/jsonl")],
            b"{}\n",
        ),
        404,
        "NotFound",
    );
    assert_eq!(all_data(&s, "p").len(), 2, "nothing refused was appended");
    // An empty body appends nothing.
    let empty = s.append_jsonl("p", "", "");
    assert_eq!(empty["appended"], 0, "{empty}");
}

// ---------------------------------------------------------------------------------------------
// Paths and methods

#[test]
fn unknown_paths_are_404_and_known_paths_with_other_methods_are_405_with_allow() {
    let e = env("serve-404-405");
    let s = e.serve(&[]);
    for path in [
        "/",
        "/nope",
        "/v0",
        "/v0/pools/",
        "/v0/pools/p/q/info",
        "/v1/pools",
    ] {
        assert_error(&s.get(path), 404, "NotFound");
    }
    let r = s.request("PUT", "/v0/pools", &[], b"");
    assert_error(&r, 405, "Usage");
    let allow = r.header("allow").expect("Allow header");
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    let r = s.request("POST", "/v0/pools/p/info", &[], b"");
    assert_error(&r, 405, "Usage");
    assert_eq!(r.header("allow"), Some("GET"));
    assert_error(
        &s.request("GET", "/v0/pools/p/append", &[], b""),
        405,
        "Usage",
    );
    assert_error(&s.request("DELETE", "/healthz", &[], b""), 405, "Usage");
}

#[test]
fn pool_names_that_are_paths_are_refused_with_400_before_any_file_is_touched() {
    let e = env("serve-names");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let bad = ["a%2Fb", "%2E%2E", "..", "a%00b", "%zz", "%2Fetc%2Fpasswd"];
    for name in bad {
        for (method, path) in [
            ("GET", format!("/v0/pools/{name}/info")),
            ("GET", format!("/v0/ui/pools/{name}/info")),
            ("DELETE", format!("/v0/pools/{name}")),
            ("GET", format!("/v0/pools/{name}/messages/1")),
            ("GET", format!("/v0/pools/{name}/tail?timeout_ms=10")),
            ("GET", format!("/v0/ui/pools/{name}/events?timeout_ms=10")),
        ] {
            assert_error(&s.request(method, &path, &[], b""), 400, "Usage");
        }
        let r = s.post_json(
            &format!("/v0/pools/{name}/append"),
            &json!({"data": {"x": 1}}),
        );
        assert_error(&r, 400, "Usage");
    }
    // A percent-encoded ordinary name is decoded.
    s.create_pool("a b", None);
    assert_info(&s.get("/v0/pools/a%20b/info").json()["pool"], "a b", 0);
    assert!(e.path("p").exists() && e.path("a b").exists());
}

// ---------------------------------------------------------------------------------------------
// Authentication

/// A server on `e` with token `tok` and pool `p` holding one message; that message's Lite³.
fn tokened(e: &Env, args: &[&str]) -> (Served, Vec<u8>) {
    let s = e.serve(args);
    let auth = [("authorization", "Bearer s3cret")];
    let r = s.request(
        "POST",
        "/v0/pools",
        &[auth[0], ("content-type", "application/json")],
        json!({"pool": "p"}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let r = s.request(
        "POST",
        "/v0/pools/p/append",
        &[auth[0], ("content-type", "application/json")],
        json!({"data": {"x": 1}}).to_string().as_bytes(),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let lite3 = s.request("GET", "/v0/pools/p/messages/1/lite3", &auth, b"");
    assert_eq!(lite3.status, 200);
    (s, lite3.body)
}

#[track_caller]
fn assert_401(r: &Resp, message: &str, what: &str) {
    let err = assert_error(r, 401, "Permission");
    assert_eq!(err["message"], message, "{what}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{what}");
}

#[test]
fn with_a_token_every_v0_route_and_post_mcp_need_the_bearer_token() {
    let e = env("serve-token");
    let (s, lite3) = tokened(&e, &["--token", "s3cret"]);
    let mut all = routes();
    all.sort_by_key(|r| r.method == "DELETE");
    for r in &all {
        let what = format!("{} {}", r.method, r.path);
        if r.need == "Nothing" {
            let resp = call(&s, r, "p", &lite3, &[]);
            assert_ne!(resp.status, 401, "{what} is open: {}", resp.text());
            continue;
        }
        assert_401(
            &call(&s, r, "p", &lite3, &[]),
            "missing bearer token",
            &what,
        );
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Bearer S3CRET",
            "Basic s3cret",
        ] {
            let resp = call(&s, r, "p", &lite3, &[("authorization", wrong)]);
            let message = if wrong.starts_with("Basic") {
                "missing bearer token"
            } else {
                "invalid bearer token"
            };
            assert_401(&resp, message, &format!("{what} with {wrong}"));
        }
        let ok = call(&s, r, "p", &lite3, &[("authorization", "Bearer s3cret")]);
        assert!(
            ![401, 403, 404, 405].contains(&ok.status),
            "{what} with the token: {} {}",
            ok.status,
            ok.text()
        );
    }
    // The health check needs nothing, and a missing route is still a 404 first.
    assert_eq!(s.get("/healthz").status, 200);
    assert_error(&s.get("/v0/nope"), 404, "NotFound");
    let log = s.log();
    assert!(!log.contains("s3cret"), "the token is never logged:\n{log}");
}

#[test]
fn token_file_is_read_trimmed_and_required() {
    let e = env("serve-token-file");
    std::fs::create_dir_all(&e.root).expect("root");
    let file = e.root.join("token.txt");
    std::fs::write(&file, "  s3cret\n").expect("token file");
    let (s, _) = tokened(&e, &["--token-file", file.to_str().expect("utf-8")]);
    assert_401(&s.get("/v0/pools"), "missing bearer token", "GET /v0/pools");
    assert_401(
        &s.request("GET", "/v0/pools", &[("authorization", "Bearer nope")], b""),
        "invalid bearer token",
        "GET /v0/pools",
    );
    let ok = s.request(
        "GET",
        "/v0/pools",
        &[("authorization", "bearer   s3cret ")],
        b"",
    );
    assert_eq!(ok.status, 200, "{}", ok.text());
    assert_eq!(ok.json()["pools"][0]["name"], "p");
    assert_eq!(s.get("/healthz").status, 200);
}

// ---------------------------------------------------------------------------------------------
// Access modes

#[test]
fn read_only_access_refuses_every_write_route_with_403_and_serves_reads() {
    let e = env("serve-read-only");
    let lite3 = {
        let w = e.serve(&[]);
        pool_with_one_message(&w, "p")
    };
    let s = e.serve(&["--access", "read-only"]);
    let mut all = routes();
    all.sort_by_key(|r| r.method == "DELETE");
    for r in &all {
        let what = format!("{} {}", r.method, r.path);
        let resp = call(&s, r, "p", &lite3, &[]);
        match r.need.as_str() {
            "Write" => {
                let err = assert_error(&resp, 403, "Permission");
                assert_eq!(
                    err["message"], "forbidden: access mode disallows write operations",
                    "{what}"
                );
            }
            "Read" => assert_eq!(resp.status, 200, "{what}: {}", resp.text()),
            _ => {}
        }
    }
    assert!(e.path("p").exists(), "the pool was not deleted");
    assert!(!e.path("p-new").exists(), "no pool was created");
    let count = s.get("/v0/pools/p/info").json()["pool"]["metrics"]["message_count"].clone();
    assert_eq!(count, 1, "nothing was appended");
}

#[test]
fn write_only_access_refuses_every_read_route_with_403_and_serves_writes() {
    let e = env("serve-write-only");
    let lite3 = {
        let w = e.serve(&[]);
        pool_with_one_message(&w, "p")
    };
    let s = e.serve(&["--access", "write-only"]);
    let mut all = routes();
    all.sort_by_key(|r| r.method == "DELETE");
    for r in &all {
        let what = format!("{} {}", r.method, r.path);
        let resp = call(&s, r, "p", &lite3, &[]);
        match r.need.as_str() {
            "Read" => {
                let err = assert_error(&resp, 403, "Permission");
                assert_eq!(
                    err["message"], "forbidden: access mode disallows read operations",
                    "{what}"
                );
            }
            "Write" => assert_eq!(resp.status, 200, "{what}: {}", resp.text()),
            _ => {}
        }
    }
    assert!(!e.path("p").exists(), "the delete went through");
    assert!(e.path("p-new").exists(), "the create went through");
    assert_eq!(s.get("/healthz").status, 200);
}

// ---------------------------------------------------------------------------------------------
// CORS

const ORIGIN: &str = "http://a.example";

fn preflight(s: &Served, path: &str, origin: &str) -> Resp {
    s.request(
        "OPTIONS",
        path,
        &[
            ("origin", origin),
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "content-type, authorization",
            ),
        ],
        b"",
    )
}

#[test]
fn cors_preflight_from_an_allowed_origin_is_204_with_methods_and_headers() {
    let e = env("serve-cors-preflight");
    let s = e.serve(&["--cors-origin", ORIGIN, "--token", "s3cret"]);
    // A preflight carries no credentials: it is answered before authentication.
    for path in ["/v0/pools", "/v0/pools/p/append", "/v0/pools/p/tail"] {
        let r = preflight(&s, path, ORIGIN);
        assert_eq!(r.status, 204, "{path}: {}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
        let methods = r
            .header("access-control-allow-methods")
            .expect("allow-methods")
            .to_ascii_uppercase();
        for m in ["GET", "POST", "DELETE"] {
            assert!(methods.contains(m), "{methods}");
        }
        let headers = r
            .header("access-control-allow-headers")
            .expect("allow-headers")
            .to_ascii_lowercase();
        for h in ["authorization", "content-type"] {
            assert!(headers.contains(h), "{headers}");
        }
        assert!(r.body.is_empty());
        assert_eq!(r.header("plasmite-version"), Some("0"));
    }
}

#[test]
fn cors_preflight_from_another_origin_gets_no_allow_origin() {
    let e = env("serve-cors-other");
    let s = e.serve(&["--cors-origin", ORIGIN]);
    for other in [
        "http://b.example",
        "https://a.example",
        "http://a.example:8080",
    ] {
        let r = preflight(&s, "/v0/pools", other);
        assert!(
            r.header("access-control-allow-origin").is_none(),
            "{other}: {r:?}"
        );
        assert!(
            r.header("access-control-allow-methods").is_none(),
            "{other}: {r:?}"
        );
    }
    // Without --cors-origin no origin is allowed.
    let plain = e.serve(&[]);
    let r = preflight(&plain, "/v0/pools", ORIGIN);
    assert!(r.header("access-control-allow-origin").is_none(), "{r:?}");
}

#[test]
fn cors_requests_from_an_allowed_origin_echo_it_and_others_get_nothing() {
    let e = env("serve-cors-get");
    // An origin is matched as browsers send it: lowercase, no trailing slash.
    let s = e.serve(&[
        "--cors-origin",
        ORIGIN,
        "--cors-origin",
        "https://b.example:8443",
        "--cors-origin",
        "HTTP://C.Example/",
    ]);
    s.create_pool("p", None);
    for origin in [ORIGIN, "https://b.example:8443", "http://c.example"] {
        let r = s.request("GET", "/v0/pools/p/info", &[("origin", origin)], b"");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(r.header("access-control-allow-origin"), Some(origin));
        let expose = r.header("access-control-expose-headers").unwrap_or("");
        assert!(expose.contains("plasmite-version"), "{r:?}");
    }
    // Errors echo it too, so a browser can read them.
    let r = s.request("GET", "/v0/pools/nope/info", &[("origin", ORIGIN)], b"");
    assert_error(&r, 404, "NotFound");
    assert_eq!(r.header("access-control-allow-origin"), Some(ORIGIN));
    let r = s.request(
        "GET",
        "/v0/pools/p/info",
        &[("origin", "http://evil.example")],
        b"",
    );
    assert_eq!(r.status, 200);
    assert!(r.header("access-control-allow-origin").is_none(), "{r:?}");
    let r = s.get("/v0/pools/p/info");
    assert!(r.header("access-control-allow-origin").is_none(), "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// Protocols

/// `curl ARGS… -w '%{http_version}'` against `url`: the HTTP version and the body.
fn curl_version(args: &[&str], url: &str) -> Option<(String, String)> {
    let mut c = curl()?;
    let out = c
        .args(args)
        .args(["-w", "\n%{http_version}", url])
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "curl {args:?} {url} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, version) = text.rsplit_once('\n').expect("version line");
    Some((version.to_owned(), body.to_owned()))
}

#[test]
fn a_plain_port_speaks_http1_and_h2c_with_prior_knowledge() {
    let e = env("serve-h2c");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let url = s.url("/v0/pools/p/info");
    let Some((v1, body1)) = curl_version(&["--http1.1"], &url) else {
        eprintln!("curl is missing: skipped");
        return;
    };
    assert_eq!(v1, "1.1");
    let (v2, body2) = curl_version(&["--http2-prior-knowledge"], &url).expect("curl");
    assert_eq!(v2, "2");
    assert_eq!(body1, body2, "both protocols answer the same");
    let v: Value = serde_json::from_str(&body2).expect("JSON");
    assert_info(&v["pool"], "p", 0);
    // A tail over h2c ends at its timeout like one over HTTP/1.1.
    s.append("p", &json!({"x": 1}), &[]);
    let (v, body) = curl_version(
        &["--http2-prior-knowledge"],
        &s.url("/v0/pools/p/tail?timeout_ms=100"),
    )
    .expect("curl");
    assert_eq!(v, "2");
    let line: Value = serde_json::from_str(body.trim()).expect("one envelope");
    assert_envelope(&line, 1, &json!({"x": 1}), &[]);
}

#[test]
fn tls_self_signed_serves_http1_and_negotiates_h2_by_alpn() {
    let e = env("serve-tls");
    if curl().is_none() {
        eprintln!("curl is missing: skipped");
        return;
    }
    let s = e.serve(&["--tls-self-signed"]);
    let url = format!("https://{}/healthz", s.addr);
    let (v, body) = curl_version(&["-k", "--http1.1"], &url).expect("curl");
    assert_eq!(v, "1.1");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON")["ok"],
        true
    );
    let (v, body) = curl_version(&["-k", "--http2"], &url).expect("curl");
    assert_eq!(v, "2", "ALPN picks h2");
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON")["ok"],
        true
    );
    // Without -k the self-signed certificate is refused, and plain HTTP is not spoken.
    let mut strict = curl().expect("curl");
    let st = strict.arg(&url).output().expect("curl runs");
    assert!(!st.status.success(), "an unknown CA is refused by default");
    let mut plain = curl().expect("curl");
    let out = plain
        .arg(format!("http://{}/healthz", s.addr))
        .output()
        .expect("curl runs");
    assert!(
        !out.status.success() || !String::from_utf8_lossy(&out.stdout).contains("\"ok\""),
        "a TLS port does not answer plain HTTP"
    );
}

#[test]
fn the_server_answers_several_requests_on_one_kept_alive_connection() {
    use std::io::{BufReader, Write};
    let e = env("serve-keepalive");
    let s = e.serve(&[]);
    let mut sock = std::net::TcpStream::connect(s.addr).expect("connect");
    sock.set_read_timeout(Some(Duration::from_secs(10))).ok();
    let mut r = BufReader::new(sock.try_clone().expect("clone"));
    for _ in 0..3 {
        write!(sock, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n").expect("write");
        let (status, headers) = common::serve::read_head(&mut r);
        assert_eq!(status, 200);
        let n: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .expect("content-length");
        let mut body = vec![0; n];
        std::io::Read::read_exact(&mut r, &mut body).expect("body");
        let v: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(v["ok"], true);
    }
}

/// Concurrent single appends are committed together (group commit): every request still gets
/// its own sequence, no two the same, none missing, each client's in the order it sent them,
/// and the stored message is the one its receipt describes.
#[test]
fn concurrent_appends_each_get_their_own_sequence_in_each_clients_order() {
    let e = env("serve-group-commit");
    let s = e.serve(&[]);
    s.create_pool("p", Some(4 << 20));
    let (clients, each) = (16u64, 40u64);
    let seqs: Vec<Vec<(u64, u64, u64)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..clients)
            .map(|c| {
                let s = &s;
                scope.spawn(move || {
                    (0..each)
                        .map(|i| {
                            let m = s.append("p", &json!({"c": c, "i": i}), &[]);
                            (m["seq"].as_u64().expect("seq"), c, i)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    let mut all: Vec<u64> = Vec::new();
    for client in &seqs {
        assert!(client.windows(2).all(|w| w[0].0 < w[1].0), "{client:?}");
        all.extend(client.iter().map(|(seq, _, _)| *seq));
    }
    all.sort_unstable();
    assert_eq!(all, (1..=clients * each).collect::<Vec<_>>());
    for (seq, c, i) in seqs.iter().flatten() {
        let m = s.get(&format!("/v0/pools/p/messages/{seq}")).json()["message"].clone();
        assert_eq!(m["data"], json!({"c": c, "i": i}), "seq {seq}");
    }
}

/// A bad message among concurrent appends is refused alone: the good ones around it are all
/// appended.
#[test]
fn a_refused_append_does_not_take_the_concurrent_good_ones_with_it() {
    let e = env("serve-group-commit-bad");
    let s = e.serve(&[]);
    // Larger than the pool can hold, smaller than the body limit.
    s.create_pool("p", Some(256 << 10));
    let big = "x".repeat(300 << 10);
    let results: Vec<(bool, u16)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..24u64)
            .map(|i| {
                let (s, big) = (&s, &big);
                scope.spawn(move || {
                    let bad = i % 3 == 0;
                    let data = match i % 6 {
                        0 => json!("not an object"),
                        3 => json!({"big": big}),
                        _ => json!({"i": i}),
                    };
                    let r = s.post_json("/v0/pools/p/append", &json!({"data": data}));
                    (bad, r.status)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    for (bad, status) in &results {
        assert_eq!(*status, if *bad { 400 } else { 200 }, "{results:?}");
    }
    let info = s.get("/v0/pools/p/info").json();
    assert_eq!(info["pool"]["metrics"]["message_count"], 16, "{info}");
}
