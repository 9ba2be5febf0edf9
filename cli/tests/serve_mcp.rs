//! `POST /mcp` of `pls serve`, black-box: the stdio server's MCP surface over HTTP, with the
//! server's token, access mode, header checks and tail limit.

mod common;
use common::serve::{Resp, Served, read_response};
use common::*;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

const PROTOCOL: &str = "2025-11-25";

/// `message` posted to `/mcp` with `headers`.
fn post(s: &Served, message: &Value, headers: &[(&str, &str)]) -> Resp {
    let mut h = vec![("content-type", "application/json")];
    h.extend_from_slice(headers);
    s.request("POST", "/mcp", &h, message.to_string().as_bytes())
}

fn request(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
}

/// The JSON-RPC response to `method`, checking the HTTP side.
fn rpc(s: &Served, method: &str, params: Value) -> Value {
    let r = post(s, &request(method, params), &[]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("plasmite-version"), Some("0"));
    let v = r.json();
    assert_eq!(v["id"], 7, "{v}");
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    v
}

/// The result of calling `tool`.
fn call(s: &Served, tool: &str, arguments: Value) -> Value {
    let v = rpc(
        s,
        "tools/call",
        json!({"name": tool, "arguments": arguments}),
    );
    v["result"].clone()
}

fn tool_names(s: &Served) -> Vec<String> {
    let v = rpc(s, "tools/list", json!({}));
    v["result"]["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name").to_owned())
        .collect()
}

fn create(s: &Served, pool: &str) {
    let r = s.post_json("/v0/pools", &json!({"pool": pool}));
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Appends through the HTTP route; the new message's seq.
fn append(s: &Served, pool: &str, data: Value) -> u64 {
    let r = s.post_json(
        &format!("/v0/pools/{pool}/append"),
        &json!({ "data": data }),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    r.json()["message"]["seq"].as_u64().expect("seq")
}

fn assert_tool_error(result: &Value, kind: &str) {
    assert_eq!(result["isError"], true, "{result}");
    assert_eq!(result["structuredContent"]["error_kind"], kind, "{result}");
    assert!(result["structuredContent"]["hint"].is_string(), "{result}");
}

#[test]
fn initialize_tools_list_and_ping_answer_as_over_stdio() {
    let e = env("serve-mcp-basics");
    let s = e.serve(&[]);
    let init = rpc(
        &s,
        "initialize",
        json!({"protocolVersion": PROTOCOL, "capabilities": {},
               "clientInfo": {"name": "test", "version": "0"}}),
    );
    assert_eq!(init["result"]["protocolVersion"], PROTOCOL);
    assert_eq!(init["result"]["serverInfo"]["name"], "plasmite");
    let names = tool_names(&s);
    for t in ["plasmite_pool_list", "plasmite_feed", "plasmite_wait"] {
        assert!(names.contains(&t.to_owned()), "{names:?}");
    }
    assert_eq!(rpc(&s, "ping", json!({}))["result"], json!({}));
    let unknown = rpc(&s, "no/such/method", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
}

#[test]
fn notifications_and_responses_are_accepted_with_an_empty_body() {
    let e = env("serve-mcp-202");
    let s = e.serve(&[]);
    for message in [
        json!({"jsonrpc": "2.0", "method": "notifications/initialized"}),
        json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
               "params": {"requestId": 3}}),
        json!({"jsonrpc": "2.0", "id": 3, "result": {}}),
        json!({"jsonrpc": "2.0", "id": 3, "error": {"code": 1, "message": "x"}}),
    ] {
        let r = post(&s, &message, &[]);
        assert_eq!(r.status, 202, "{message}: {}", r.text());
        assert!(r.body.is_empty(), "{message}: {}", r.text());
        assert_eq!(r.header("plasmite-version"), Some("0"));
    }
}

#[test]
fn a_body_that_is_not_json_is_a_parse_error() {
    let e = env("serve-mcp-parse");
    let s = e.serve(&[]);
    for body in [&b"{"[..], b"", b"not json", b"{\"x\":\"\xff\"}"] {
        let r = s.request(
            "POST",
            "/mcp",
            &[("content-type", "application/json")],
            body,
        );
        assert_eq!(r.status, 200, "{}", r.text());
        let v = r.json();
        assert_eq!(v["error"]["code"], -32700, "{v}");
        assert_eq!(v["id"], Value::Null, "{v}");
    }
}

#[test]
fn protocol_version_and_origin_headers_are_checked() {
    let e = env("serve-mcp-headers");
    let s = e.serve(&[]);
    let ping = request("ping", json!({}));
    let r = post(&s, &ping, &[("mcp-protocol-version", "2024-11-05")]);
    r.error(400, "Usage");
    let r = post(&s, &ping, &[("mcp-protocol-version", PROTOCOL)]);
    assert_eq!(r.status, 200, "{}", r.text());
    for bad in [
        "null",
        "file:///etc",
        "https://a.example/path",
        "ftp://a.example",
    ] {
        let r = post(&s, &ping, &[("origin", bad)]);
        r.error(403, "Permission");
    }
    // Any well-formed origin passes: it is not checked against the CORS list.
    for good in ["http://localhost:5173", "https://app.example.com"] {
        let r = post(&s, &ping, &[("origin", good)]);
        assert_eq!(r.status, 200, "{good}: {}", r.text());
        assert_eq!(r.json()["result"], json!({}));
    }
}

#[test]
fn the_token_guards_mcp_and_get_stays_405() {
    let e = env("serve-mcp-token");
    let s = e.serve(&["--token", "T"]);
    let ping = request("ping", json!({}));
    post(&s, &ping, &[]).error(401, "Permission");
    post(&s, &ping, &[("authorization", "Bearer wrong")]).error(401, "Permission");
    let r = post(&s, &ping, &[("authorization", "Bearer T")]);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["result"], json!({}));
    let r = s.get("/mcp");
    assert_eq!(r.status, 405);
    assert!(r.body.is_empty());
}

#[test]
fn read_only_hides_write_tools_and_refuses_them() {
    let e = env("serve-mcp-read-only");
    e.pls(&["pool", "create", "p"]).code(0);
    let s = e.serve(&["--access", "read-only"]);
    let names = tool_names(&s);
    assert!(names.contains(&"plasmite_read".to_owned()), "{names:?}");
    for w in [
        "plasmite_feed",
        "plasmite_pool_create",
        "plasmite_pool_delete",
    ] {
        assert!(!names.contains(&w.to_owned()), "{names:?}");
    }
    let r = call(&s, "plasmite_feed", json!({"pool": "p", "data": {"x": 1}}));
    assert_tool_error(&r, "Permission");
    assert_eq!(r["structuredContent"]["tool"], "plasmite_feed");
    let r = call(&s, "plasmite_read", json!({"pool": "p"}));
    assert_eq!(r["isError"], Value::Null, "{r}");
    let listed = rpc(&s, "resources/list", json!({}));
    assert!(listed["result"]["resources"].is_array(), "{listed}");
}

#[test]
fn write_only_refuses_reads_and_resources() {
    let e = env("serve-mcp-write-only");
    let s = e.serve(&["--access", "write-only"]);
    let names = tool_names(&s);
    assert!(names.contains(&"plasmite_feed".to_owned()), "{names:?}");
    for r in ["plasmite_read", "plasmite_wait", "plasmite_pool_list"] {
        assert!(!names.contains(&r.to_owned()), "{names:?}");
    }
    let r = call(
        &s,
        "plasmite_feed",
        json!({"pool": "p", "data": {"x": 1}, "create": true}),
    );
    assert_eq!(r["structuredContent"]["message"]["seq"], 1, "{r}");
    for (tool, args) in [
        ("plasmite_read", json!({"pool": "p"})),
        ("plasmite_read", json!({"pool": "p", "where": "true"})),
        ("plasmite_wait", json!({"pool": "p", "timeout_ms": 0})),
    ] {
        assert_tool_error(&call(&s, tool, args), "Permission");
    }
    let r = rpc(&s, "resources/list", json!({}));
    assert_eq!(r["error"]["code"], -32000, "{r}");
    assert_eq!(r["error"]["data"]["error_kind"], "Permission", "{r}");
}

#[test]
fn feed_then_read_through_mcp() {
    let e = env("serve-mcp-feed-read");
    let s = e.serve(&[]);
    let r = call(
        &s,
        "plasmite_feed",
        json!({"pool": "chat", "data": {"text": "hi"}, "tags": ["a"], "create": true}),
    );
    assert_eq!(r["structuredContent"]["message"]["seq"], 1, "{r}");
    call(
        &s,
        "plasmite_feed",
        json!({"pool": "chat", "data": {"text": "bye"}}),
    );
    let r = call(&s, "plasmite_read", json!({"pool": "chat"}));
    let messages = r["structuredContent"]["messages"]
        .as_array()
        .expect("messages");
    let texts: Vec<&Value> = messages.iter().map(|m| &m["data"]["text"]).collect();
    assert_eq!(texts, [&json!("hi"), &json!("bye")], "{r}");
    assert_eq!(messages[0]["meta"]["tags"], json!(["a"]));
    // The HTTP routes see what MCP wrote.
    let r = s.get("/v0/pools/chat/messages/2");
    assert_eq!(r.json()["message"]["data"]["text"], "bye");
}

#[test]
fn a_where_read_runs_over_http() {
    let e = env("serve-mcp-where");
    let s = e.serve(&[]);
    create(&s, "log");
    for level in ["info", "error", "info", "error"] {
        append(&s, "log", json!({ "level": level }));
    }
    let r = call(
        &s,
        "plasmite_read",
        json!({"pool": "log", "where": ".data.level == \"error\""}),
    );
    let seqs: Vec<&Value> = r["structuredContent"]["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("{r}"))
        .iter()
        .map(|m| &m["seq"])
        .collect();
    assert_eq!(seqs, [&json!(2), &json!(4)], "{r}");
    let r = call(
        &s,
        "plasmite_read",
        json!({"pool": "log", "where": ".data |"}),
    );
    assert_tool_error(&r, "Usage");
    assert_eq!(r["structuredContent"]["field"], "where", "{r}");
}

#[test]
fn a_wait_wakes_on_an_append_made_through_the_http_route() {
    let e = env("serve-mcp-wait");
    let s = e.serve(&[]);
    create(&s, "p");
    let last = append(&s, "p", json!({"n": 0}));
    let started = Instant::now();
    let wait = request(
        "tools/call",
        json!({"name": "plasmite_wait",
               "arguments": {"pool": "p", "after_seq": last, "timeout_ms": 20000}}),
    );
    let mut sock = s.send(
        "POST",
        "/mcp",
        &[("content-type", "application/json")],
        wait.to_string().as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let seq = append(&s, "p", json!({"n": 1}));
    let r = read_response(&mut sock);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the wait was not woken"
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let got = &v["result"]["structuredContent"];
    assert_eq!(got["timed_out"], false, "{v}");
    assert_eq!(got["messages"][0]["seq"], seq, "{v}");
    assert_eq!(got["messages"][0]["data"]["n"], 1, "{v}");
}

#[test]
fn waits_beyond_the_tail_limit_are_busy_until_a_waiter_leaves() {
    let e = env("serve-mcp-busy");
    let s = e.serve(&["--max-tail-concurrency", "1"]);
    create(&s, "p");
    let wait = |timeout: u64| {
        request(
            "tools/call",
            json!({"name": "plasmite_wait",
                   "arguments": {"pool": "p", "timeout_ms": timeout}}),
        )
    };
    let send_first = || {
        s.send(
            "POST",
            "/mcp",
            &[("content-type", "application/json")],
            wait(30000).to_string().as_bytes(),
        )
    };
    let mut first = send_first();
    // The first wait holds the only place once the server has read it. A probe of ours may
    // hold the place at the moment the first arrives, which then is refused (it is answered
    // at once): send it again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = post(&s, &wait(0), &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        let result = r.json()["result"].clone();
        if result["isError"] == true {
            assert_tool_error(&result, "Busy");
            assert_eq!(result["structuredContent"]["tool"], "plasmite_wait");
            break;
        }
        first.set_nonblocking(true).expect("nonblocking");
        let answered = first.peek(&mut [0u8; 1]).is_ok_and(|n| n > 0);
        first.set_nonblocking(false).expect("blocking");
        if answered {
            first = send_first();
        }
        assert!(Instant::now() < deadline, "a second wait was never refused");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Quick calls are not limited by waits.
    assert_eq!(rpc(&s, "ping", json!({}))["result"], json!({}));
    // The first client leaves: its wait is cancelled and frees its place.
    drop(first);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = post(&s, &wait(0), &[]);
        let result = r.json()["result"].clone();
        if result["isError"] != true {
            assert_eq!(result["structuredContent"]["timed_out"], true, "{result}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the departed client's wait kept its place: {result}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn long_calls_hold_a_storage_place_so_blocking_threads_stay_bounded() {
    let e = env("serve-mcp-storage");
    let s = e.serve(&["--max-tail-concurrency", "1"]);
    create(&s, "p");
    append(&s, "p", json!({"n": 1}));
    let read = |expr: &str| {
        request(
            "tools/call",
            json!({"name": "plasmite_read", "arguments": {"pool": "p", "where": expr}}),
        )
    };
    // A `where` that never answers runs until the evaluator's budget (2 s) stops it, holding
    // the only storage place meanwhile.
    let endless = read("repeat(false)").to_string();
    let send_first = || {
        s.send(
            "POST",
            "/mcp",
            &[("content-type", "application/json")],
            endless.as_bytes(),
        )
    };
    let mut first = send_first();
    // The probe runs in the sandbox too (a compiled-path predicate would answer at once).
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // Give the endless call a moment to reach the server and take the place.
        std::thread::sleep(Duration::from_millis(200));
        let r = post(&s, &read("repeat(false)"), &[]);
        assert_eq!(r.status, 200, "{}", r.text());
        let result = r.json()["result"].clone();
        if result["structuredContent"]["error_kind"] == "Busy" {
            assert_tool_error(&result, "Busy");
            break;
        }
        // The probe got the place first (it ran out its budget instead): the endless call
        // was the one refused. Start it again.
        assert!(
            Instant::now() < deadline,
            "a second long call was never refused: {result}"
        );
        first = send_first();
    }
    drop(first);
    // Once the endless call is over, calls run again.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = post(&s, &read("(.data.n | tostring) == \"1\""), &[]);
        if r.status == 200 && r.json()["result"]["isError"] != true {
            assert_eq!(
                r.json()["result"]["structuredContent"]["messages"][0]["data"]["n"],
                1
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the storage place was never freed"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn stopping_the_server_ends_a_running_wait() {
    let e = env("serve-mcp-stop");
    let mut s = e.serve(&[]);
    create(&s, "p");
    let wait = request(
        "tools/call",
        json!({"name": "plasmite_wait", "arguments": {"pool": "p", "timeout_ms": 60000}}),
    );
    let mut sock = s.send(
        "POST",
        "/mcp",
        &[("content-type", "application/json")],
        wait.to_string().as_bytes(),
    );
    std::thread::sleep(Duration::from_millis(300));
    let started = Instant::now();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &s.child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let r = read_response(&mut sock);
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["id"], 7);
    let status = s.child.wait().expect("server exits");
    assert!(status.success(), "{status}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "the wait held the server up"
    );
}
