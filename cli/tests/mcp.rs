//! `pls mcp`, black-box: whole MCP sessions over the server's stdin and stdout.
//!
//! Interactive tests drive a live server through [`Session`], which reads responses line by
//! line with a deadline and kills the server when dropped; one-shot tests pipe every request
//! in at once and read every response after end of input.

mod common;
use common::*;

use serde_json::{Map, Value, json};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

/// A running `pls mcp`.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    next_id: u64,
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Session {
    fn start(mut cmd: Command) -> Session {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn pls mcp");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Session {
            stdin: child.stdin.take(),
            child,
            lines,
            next_id: 0,
        }
    }

    /// A server on `e`'s pool directory, initialized.
    fn open(e: &Env) -> Session {
        let mut s = Session::start(e.cmd(&["mcp"]));
        let init = s.request(
            "initialize",
            json!({"protocolVersion": "2025-11-25",
            "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}),
        );
        assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
        s.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        s
    }

    fn send_raw(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(line.as_bytes()).expect("write request");
        stdin.write_all(b"\n").expect("write newline");
        stdin.flush().expect("flush request");
    }

    /// The next response line, parsed (fails after the deadline).
    #[track_caller]
    fn recv(&self) -> Value {
        match self.lines.recv_timeout(DEADLINE) {
            Ok(line) => serde_json::from_str(&line)
                .unwrap_or_else(|e| panic!("response is not one JSON line ({e}): {line}")),
            Err(RecvTimeoutError::Timeout) => panic!("no response within {DEADLINE:?}"),
            Err(RecvTimeoutError::Disconnected) => panic!("server closed stdout"),
        }
    }

    /// Sends a request and returns its whole response, checking the envelope.
    #[track_caller]
    fn request(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        self.send_raw(&line.to_string());
        let r = self.recv();
        assert_eq!(r["jsonrpc"], "2.0", "{r}");
        assert_eq!(r["id"], id, "response id: {r}");
        r
    }

    /// `tools/call`: the tool result, checking that its text is its structured content.
    #[track_caller]
    fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        let res = r
            .get("result")
            .unwrap_or_else(|| panic!("tools/call {tool} is a JSON-RPC error: {r}"))
            .clone();
        let text = res["content"][0]["text"].as_str().expect("text content");
        assert_eq!(res["content"][0]["type"], "text", "{res}");
        let parsed: Value = serde_json::from_str(text).expect("text is JSON");
        assert_eq!(
            parsed, res["structuredContent"],
            "text mirrors structuredContent"
        );
        res
    }

    /// A successful tool call's structured content.
    #[track_caller]
    fn ok(&mut self, tool: &str, args: Value) -> Value {
        let res = self.call(tool, args);
        assert!(res.get("isError").is_none(), "{tool} failed: {res}");
        res["structuredContent"].clone()
    }

    /// A failed tool call's structured content, after checking kind and hint.
    #[track_caller]
    fn fail(&mut self, tool: &str, args: Value, kind: &str) -> Map<String, Value> {
        let res = self.call(tool, args);
        assert_eq!(res["isError"], true, "{tool} should fail: {res}");
        let s = res["structuredContent"]
            .as_object()
            .expect("object")
            .clone();
        assert_eq!(s["tool"], tool, "{res}");
        assert_eq!(s["error_kind"], kind, "{res}");
        assert!(
            s["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{res}"
        );
        assert!(s["hint"].as_str().is_some_and(|h| !h.is_empty()), "{res}");
        s
    }

    /// Closes stdin and returns the exit code (fails after the deadline).
    #[track_caller]
    fn finish(self) -> i32 {
        self.finish_with_rest().0
    }

    /// Closes stdin; the exit code and every response line not yet received.
    #[track_caller]
    fn finish_with_rest(mut self) -> (i32, Vec<String>) {
        drop(self.stdin.take());
        let started = Instant::now();
        let code = loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                break status.code().unwrap_or(-1);
            }
            assert!(started.elapsed() < DEADLINE, "server did not exit at EOF");
            std::thread::sleep(Duration::from_millis(5));
        };
        let mut rest = Vec::new();
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            rest.push(line);
        }
        (code, rest)
    }
}

/// Runs one server over all of `lines` and returns every response line.
fn one_shot(e: &Env, lines: &[&str]) -> Vec<Value> {
    let mut input = lines.join("\n");
    input.push('\n');
    let out = e.pls_in(&["mcp"], input);
    out.code(0);
    out.json_lines()
}

fn usage_field(s: &Map<String, Value>, field: &str) {
    assert_eq!(s["field"], field, "{s:?}");
    assert!(s["detail"].as_str().is_some_and(|d| !d.is_empty()), "{s:?}");
}

fn tool_names(list: &Value) -> Vec<&str> {
    list["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| t["name"].as_str().expect("name"))
        .collect()
}

#[test]
fn initialize_then_tools_list_describes_every_tool_with_a_closed_schema() {
    let e = env("mcp-tools-list");
    let mut s = Session::open(&e);
    let init = s.request("initialize", json!({}));
    let res = &init["result"];
    assert_eq!(
        res["serverInfo"],
        json!({"name": "plasmite", "version": VERSION})
    );
    assert_eq!(res["capabilities"]["tools"], json!({"listChanged": false}));
    assert_eq!(
        res["capabilities"]["resources"],
        json!({"listChanged": false, "subscribe": false})
    );
    assert!(
        res["instructions"]
            .as_str()
            .is_some_and(|t| t.contains("plasmite_wait"))
    );
    assert_eq!(s.request("ping", json!({}))["result"], json!({}));
    let list = s.request("tools/list", json!({}))["result"].clone();
    assert_eq!(
        tool_names(&list),
        [
            "plasmite_pool_list",
            "plasmite_pool_create",
            "plasmite_pool_info",
            "plasmite_pool_delete",
            "plasmite_feed",
            "plasmite_fetch",
            "plasmite_read",
            "plasmite_wait",
        ]
    );
    for t in list["tools"].as_array().unwrap() {
        assert!(
            t["title"].is_string() && t["description"].is_string(),
            "{t}"
        );
        let schema = &t["inputSchema"];
        assert_eq!(schema["type"], "object", "{t}");
        assert_eq!(schema["additionalProperties"], false, "{t}");
        assert!(
            schema["properties"].is_object() && schema["required"].is_array(),
            "{t}"
        );
        let a = &t["annotations"];
        for hint in ["readOnlyHint", "destructiveHint", "idempotentHint"] {
            assert!(a[hint].is_boolean(), "{hint}: {t}");
        }
        assert_eq!(a["openWorldHint"], false, "{t}");
        let name = t["name"].as_str().unwrap();
        let reads = ["list", "info", "fetch", "read", "wait"];
        assert_eq!(
            a["readOnlyHint"],
            reads.iter().any(|r| name.ends_with(r)),
            "{t}"
        );
        assert_eq!(a["destructiveHint"], name == "plasmite_pool_delete", "{t}");
    }
    let feed = &list["tools"][4]["inputSchema"];
    assert_eq!(feed["properties"]["data"]["type"], "object");
    assert_eq!(feed["required"], json!(["pool", "data"]));
    assert_eq!(s.finish(), 0);
}

#[test]
fn pool_tools_create_list_describe_and_delete_pools_by_name() {
    let e = env("mcp-pools");
    let mut s = Session::open(&e);
    assert_eq!(s.ok("plasmite_pool_list", json!({})), json!({"pools": []}));
    let created = s.ok("plasmite_pool_create", json!({"name": "b", "size": "64K"}));
    assert_eq!(created["pool"]["name"], "b");
    assert_eq!(created["pool"]["file_size"], 65536);
    assert_eq!(created["pool"]["bounds"], json!({}));
    let a = s.ok("plasmite_pool_create", json!({"name": "a", "size": 131072}));
    assert_eq!(a["pool"]["file_size"], 131072);
    let dflt = s.ok("plasmite_pool_create", json!({"name": "c"}));
    assert_eq!(dflt["pool"]["file_size"], 1 << 20);
    let again = s.fail(
        "plasmite_pool_create",
        json!({"name": "a"}),
        "AlreadyExists",
    );
    assert!(str_of(&again, "hint").contains("as-is"), "{again:?}");
    let list = s.ok("plasmite_pool_list", json!({}));
    let names: Vec<&str> = list["pools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["a", "b", "c"]);
    // The info shape is the CLI's `pool info --json`, except for ages that move with time.
    let info = s.ok("plasmite_pool_info", json!({"pool": "b"}));
    assert_eq!(info["pool"], e.info("b"));
    assert_eq!(list["pools"][1], info["pool"]);
    let deleted = s.ok("plasmite_pool_delete", json!({"pool": "b"}));
    assert_eq!(deleted["deleted"]["pool"], "b");
    assert!(!e.path("b").exists());
    let gone = s.fail("plasmite_pool_info", json!({"pool": "b"}), "NotFound");
    assert!(
        str_of(&gone, "hint").contains("plasmite_pool_create"),
        "{gone:?}"
    );
    s.fail("plasmite_pool_delete", json!({"pool": "b"}), "NotFound");
    let small = s.fail(
        "plasmite_pool_create",
        json!({"name": "tiny", "size": 100}),
        "Usage",
    );
    usage_field(&small, "size");
    assert_eq!(s.finish(), 0);
}

#[test]
fn pool_list_reports_an_unreadable_pool_without_failing_the_list() {
    let e = env("mcp-list-broken");
    e.create("good", "64K");
    std::fs::write(e.path("junk"), b"not a pool").unwrap();
    let mut s = Session::open(&e);
    let list = s.ok("plasmite_pool_list", json!({}));
    let pools = list["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 2, "{list}");
    assert_eq!(pools[0]["name"], "good");
    assert!(pools[0].get("error").is_none());
    assert_eq!(pools[1]["name"], "junk");
    assert!(
        pools[1]["path"]
            .as_str()
            .unwrap()
            .ends_with("junk.plasmite")
    );
    let err = &pools[1]["error"];
    assert!(
        err["kind"].is_string() && err["message"].is_string(),
        "{err}"
    );
    assert!(err["hint"].is_string(), "{err}");
}

#[test]
fn feed_stores_an_object_with_trimmed_tags_and_fetch_returns_it() {
    let e = env("mcp-feed");
    e.create("p", "64K");
    let mut s = Session::open(&e);
    let data = json!({"level": "error", "n": [1, 2.5, null]});
    let fed = s.ok(
        "plasmite_feed",
        json!({"pool": "p", "data": data, "tags": [" alert ", "db"]}),
    );
    assert_envelope(&fed["message"], 1, &data, &["alert", "db"]);
    // What was stored is what the CLI reads back.
    assert_eq!(e.fetch("p", 1), fed["message"]);
    let fetched = s.ok("plasmite_fetch", json!({"pool": "p", "seq": 1}));
    assert_eq!(fetched["message"], fed["message"]);
    let missing = s.fail("plasmite_fetch", json!({"pool": "p", "seq": 9}), "NotFound");
    assert!(
        str_of(&missing, "hint").contains("plasmite_pool_info"),
        "{missing:?}"
    );
    // A missing pool is created only when asked.
    let absent = s.fail(
        "plasmite_feed",
        json!({"pool": "new", "data": {"a": 1}}),
        "NotFound",
    );
    assert!(str_of(&absent, "hint").contains("create"), "{absent:?}");
    assert!(!e.path("new").exists());
    let made = s.ok(
        "plasmite_feed",
        json!({"pool": "new", "data": {"a": 1}, "create": true}),
    );
    assert_envelope(&made["message"], 1, &json!({"a": 1}), &[]);
    assert_eq!(e.info("new")["file_size"], 1 << 20);
    assert_eq!(s.finish(), 0);
}

#[test]
fn tool_failures_are_error_results_with_a_kind_and_a_hint() {
    let e = env("mcp-tool-errors");
    e.create("p", "64K");
    let mut s = Session::open(&e);
    let missing = s.fail("plasmite_read", json!({"pool": "nope"}), "NotFound");
    assert!(
        str_of(&missing, "path").ends_with("nope.plasmite"),
        "{missing:?}"
    );
    for data in [json!(3), json!("text"), json!([1]), json!(null)] {
        let f = s.fail("plasmite_feed", json!({"pool": "p", "data": data}), "Usage");
        usage_field(&f, "data");
    }
    for count in [json!(0), json!(201), json!(-1), json!(2.5), json!("5")] {
        let f = s.fail(
            "plasmite_read",
            json!({"pool": "p", "count": count}),
            "Usage",
        );
        usage_field(&f, "count");
    }
    let f = s.fail(
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 60001}),
        "Usage",
    );
    usage_field(&f, "timeout_ms");
    let f = s.fail(
        "plasmite_read",
        json!({"pool": "p", "where": ".data.x =="}),
        "Usage",
    );
    usage_field(&f, "where");
    assert!(str_of(&f, "hint").contains(".data.x =="), "{f:?}");
    let f = s.fail(
        "plasmite_read",
        json!({"pool": "p", "since": "yesterday"}),
        "Usage",
    );
    usage_field(&f, "since");
    let f = s.fail(
        "plasmite_feed",
        json!({"pool": "p", "data": {}, "tags": [""]}),
        "Usage",
    );
    usage_field(&f, "tags");
    let f = s.fail(
        "plasmite_fetch",
        json!({"pool": "p", "sequence": 1}),
        "Usage",
    );
    usage_field(&f, "sequence");
    assert_eq!(f["detail"], "unknown argument");
    let f = s.fail("plasmite_fetch", json!({"pool": "p"}), "Usage");
    usage_field(&f, "seq");
    let f = s.fail("plasmite_pool_info", json!({"pool": 7}), "Usage");
    usage_field(&f, "pool");
    let f = s.fail("plasmite_pool_info", json!({"pool": "http://h/p"}), "Usage");
    usage_field(&f, "pool");
    let f = s.fail("plasmite_pool_info", json!({"pool": "tcp://h/p"}), "Usage");
    usage_field(&f, "pool");
    // The server is still serving after all of that.
    assert_eq!(s.request("ping", json!({}))["result"], json!({}));
    assert_eq!(s.finish(), 0);
}

/// Feeds `{"i": i}` for each `i` with the given tags through the CLI.
fn feed_all(e: &Env, pool: &str, items: &[(u64, &[&str])]) {
    for (i, tags) in items {
        e.feed(pool, &format!("{{\"i\":{i}}}"), tags);
    }
}

fn is(batch: &Value) -> Vec<u64> {
    batch["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["data"]["i"].as_u64().expect("i"))
        .collect()
}

#[test]
fn read_returns_the_latest_matches_or_the_first_matches_after_a_cursor() {
    let e = env("mcp-read");
    e.create("p", "64K");
    let a: &[&str] = &["a"];
    let ab: &[&str] = &["a", "b"];
    feed_all(
        &e,
        "p",
        &[(1, a), (2, &[]), (3, ab), (4, a), (5, &[]), (6, ab)],
    );
    let mut s = Session::open(&e);
    let all = s.ok("plasmite_read", json!({"pool": "p"}));
    assert_eq!(is(&all), [1, 2, 3, 4, 5, 6]);
    assert_eq!(
        seqs(all["messages"].as_array().unwrap()),
        [1, 2, 3, 4, 5, 6]
    );
    assert_eq!(all["next_after_seq"], 6);
    assert_eq!(all["last_returned_seq"], 6);
    assert_eq!(all["oldest_available_seq"], 1);
    assert_eq!(all["newest_available_seq"], 6);
    assert_eq!(all["fell_behind"], false);
    // Without a cursor: the latest `count` matches.
    let last2 = s.ok("plasmite_read", json!({"pool": "p", "count": 2}));
    assert_eq!(is(&last2), [5, 6]);
    let tagged = s.ok(
        "plasmite_read",
        json!({"pool": "p", "count": 2, "tags": ["a"]}),
    );
    assert_eq!(is(&tagged), [4, 6]);
    let both = s.ok("plasmite_read", json!({"pool": "p", "tags": ["b", "a"]}));
    assert_eq!(is(&both), [3, 6]);
    let odd = s.ok(
        "plasmite_read",
        json!({"pool": "p", "where": ".data.i % 2 == 1"}),
    );
    assert_eq!(is(&odd), [1, 3, 5]);
    // With a cursor: the first `count` matches after it, and where to continue.
    let page = s.ok(
        "plasmite_read",
        json!({"pool": "p", "after_seq": 1, "count": 2}),
    );
    assert_eq!(is(&page), [2, 3]);
    assert_eq!(page["next_after_seq"], 3);
    let next = s.ok(
        "plasmite_read",
        json!({"pool": "p", "after_seq": 3, "tags": ["a"], "where": ".data.i > 4"}),
    );
    assert_eq!(is(&next), [6]);
    let end = s.ok("plasmite_read", json!({"pool": "p", "after_seq": 6}));
    assert_eq!(is(&end), Vec::<u64>::new());
    assert_eq!(end["next_after_seq"], 6);
    assert_eq!(end["last_returned_seq"], Value::Null);
    // Examined but unmatched messages still move the cursor.
    let none = s.ok(
        "plasmite_read",
        json!({"pool": "p", "after_seq": 4, "tags": ["zzz"]}),
    );
    assert_eq!(is(&none), Vec::<u64>::new());
    assert_eq!(none["next_after_seq"], 6);
    // `since` intersects with everything else.
    let recent = s.ok(
        "plasmite_read",
        json!({"pool": "p", "since": "1h", "after_seq": 4}),
    );
    assert_eq!(is(&recent), [5, 6]);
    let future = s.ok(
        "plasmite_read",
        json!({"pool": "p", "since": "2500-01-01T00:00:00Z"}),
    );
    assert_eq!(is(&future), Vec::<u64>::new());
    assert_eq!(s.finish(), 0);
}

#[test]
fn read_after_an_evicted_cursor_reports_falling_behind() {
    let e = env("mcp-behind");
    e.create("p", "64K");
    let big = "x".repeat(2000);
    let records: String = (0..100)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{big}\"}}\n"))
        .collect();
    e.pls_in(&["feed", "p"], records).code(0);
    let mut s = Session::open(&e);
    let b = s.ok(
        "plasmite_read",
        json!({"pool": "p", "after_seq": 0, "count": 1}),
    );
    let oldest = b["oldest_available_seq"].as_u64().unwrap();
    assert!(oldest > 1, "the ring should have wrapped: {b}");
    assert_eq!(b["fell_behind"], true);
    assert_eq!(seqs(b["messages"].as_array().unwrap()), [oldest]);
    let fresh = s.ok(
        "plasmite_read",
        json!({"pool": "p", "after_seq": oldest - 1, "count": 1}),
    );
    assert_eq!(fresh["fell_behind"], false);
}

#[test]
fn wait_returns_a_message_appended_while_waiting() {
    let e = env("mcp-wait");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1}"#, &[]);
    let mut s = Session::open(&e);
    s.send_raw(
        &json!({"jsonrpc": "2.0", "id": "w", "method": "tools/call", "params": {
            "name": "plasmite_wait",
            "arguments": {"pool": "p", "after_seq": 1, "timeout_ms": 10000, "tags": ["go"]}}})
        .to_string(),
    );
    std::thread::sleep(Duration::from_millis(300));
    // A non-matching message does not end the wait; the matching one does.
    e.feed("p", r#"{"i":2}"#, &[]);
    e.feed("p", r#"{"i":3}"#, &["go"]);
    let r = s.recv();
    assert_eq!(r["id"], "w", "{r}");
    let b = &r["result"]["structuredContent"];
    assert_eq!(b["timed_out"], false, "{r}");
    assert_eq!(is(b), [3]);
    assert_eq!(b["next_after_seq"], 3);
    assert_eq!(b["last_returned_seq"], 3);
    // Messages already there after the cursor are returned at once, up to `count`.
    let ready = s.ok(
        "plasmite_wait",
        json!({"pool": "p", "after_seq": 0, "count": 2}),
    );
    assert_eq!(is(&ready), [1, 2]);
    assert_eq!(ready["timed_out"], false);
    assert_eq!(s.finish(), 0);
}

#[test]
fn wait_without_a_cursor_ignores_history_and_times_out_empty() {
    let e = env("mcp-wait-timeout");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1}"#, &[]);
    e.feed("p", r#"{"i":2}"#, &[]);
    let mut s = Session::open(&e);
    let b = s.ok("plasmite_wait", json!({"pool": "p", "timeout_ms": 200}));
    assert_eq!(b["timed_out"], true, "{b}");
    assert_eq!(b["messages"], json!([]));
    assert_eq!(b["next_after_seq"], 2);
    assert_eq!(b["last_returned_seq"], Value::Null);
    assert_eq!(b["newest_available_seq"], 2);
    let zero = s.ok(
        "plasmite_wait",
        json!({"pool": "p", "after_seq": 2, "timeout_ms": 0}),
    );
    assert_eq!(zero["timed_out"], true, "{zero}");
    assert_eq!(s.finish(), 0);
}

#[test]
fn resources_list_every_pool_and_read_its_latest_messages() {
    let e = env("mcp-resources");
    e.create("p", "64K");
    e.create("q r", "64K");
    for i in 0..25 {
        e.feed("p", &format!("{{\"i\":{i}}}"), &[]);
    }
    let mut s = Session::open(&e);
    let list = s.request("resources/list", json!({}))["result"].clone();
    let res = list["resources"].as_array().unwrap();
    assert_eq!(res.len(), 2, "{list}");
    assert_eq!(res[0]["uri"], "plasmite:///pools/p");
    assert_eq!(res[0]["name"], "p");
    assert_eq!(res[0]["mimeType"], "application/json");
    assert!(
        res[0]["description"].as_str().unwrap().contains("ring"),
        "{list}"
    );
    assert_eq!(res[1]["name"], "q r");
    let read = s.request("resources/read", json!({"uri": "plasmite:///pools/p"}));
    let c = &read["result"]["contents"][0];
    assert_eq!(c["uri"], "plasmite:///pools/p");
    assert_eq!(c["mimeType"], "application/json");
    let batch: Value = serde_json::from_str(c["text"].as_str().unwrap()).unwrap();
    assert_eq!(is(&batch), (5..25).collect::<Vec<u64>>());
    assert_eq!(batch["next_after_seq"], 25);
    let spaced = s.request("resources/read", json!({"uri": res[1]["uri"]}));
    assert!(spaced.get("result").is_some(), "{spaced}");
    let missing = s.request("resources/read", json!({"uri": "plasmite:///pools/nope"}));
    assert_eq!(missing["error"]["code"], -32000, "{missing}");
    assert_eq!(missing["error"]["data"]["error_kind"], "NotFound");
    assert!(missing["error"]["data"]["hint"].is_string(), "{missing}");
    for uri in [
        json!("file:///etc/passwd"),
        json!("plasmite:///pools/a/b"),
        json!(3),
    ] {
        let bad = s.request("resources/read", json!({ "uri": uri }));
        assert_eq!(bad["error"]["code"], -32602, "{bad}");
    }
    assert_eq!(s.finish(), 0);
}

#[test]
fn unparseable_lines_get_a_parse_error_with_a_null_id() {
    let e = env("mcp-parse");
    let out = one_shot(
        &e,
        &[
            "{not json",
            "",
            "   ",
            r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#,
        ],
    );
    assert_eq!(
        out,
        [
            json!({"error": {"code": -32700, "message": "invalid JSON"}, "id": null,
                   "jsonrpc": "2.0"}),
            json!({"id": 1, "jsonrpc": "2.0", "result": {}}),
        ]
    );
}

#[test]
fn malformed_requests_are_invalid_requests() {
    let e = env("mcp-invalid");
    let out = one_shot(
        &e,
        &[
            "[1,2]",
            r#""ping""#,
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"id":2,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":3}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":["ping"]}"#,
            r#"{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
        ],
    );
    let ids: Vec<&Value> = out.iter().map(|r| &r["id"]).collect();
    assert_eq!(
        ids,
        [
            &Value::Null,
            &Value::Null,
            &json!(1),
            &json!(2),
            &json!(3),
            &json!(4),
            &Value::Null,
            &Value::Null
        ]
    );
    for r in &out {
        assert_eq!(r["error"]["code"], -32600, "{r}");
        assert!(r["error"]["message"].is_string(), "{r}");
    }
}

#[test]
fn unknown_methods_bad_params_and_unknown_tools_are_json_rpc_errors() {
    let e = env("mcp-rpc-errors");
    let out = one_shot(
        &e,
        &[
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/frobnicate"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list","params":[1]}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"plasmite_nope"}}"#,
            r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{}}"#,
            r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"plasmite_pool_list","arguments":[]}}"#,
            r#"{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{}}"#,
        ],
    );
    let codes: Vec<i64> = out
        .iter()
        .map(|r| r["error"]["code"].as_i64().unwrap())
        .collect();
    assert_eq!(codes, [-32601, -32602, -32602, -32602, -32602, -32602]);
    for (i, r) in out.iter().enumerate() {
        assert_eq!(r["id"], i + 1, "{r}");
        assert!(r["error"]["data"]["hint"].is_string(), "{r}");
    }
}

#[test]
fn notifications_and_stray_responses_get_no_response() {
    let e = env("mcp-notify");
    let out = one_shot(
        &e,
        &[
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#,
            r#"{"jsonrpc":"2.0","method":"no/such/thing"}"#,
            r#"{"jsonrpc":"2.0","method":"tools/call","params":{"name":"plasmite_pool_create","arguments":{"name":"n"}}}"#,
            r#"{"jsonrpc":"2.0","id":9,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#,
        ],
    );
    assert_eq!(out, [json!({"id": 7, "jsonrpc": "2.0", "result": {}})]);
}

#[test]
fn mcp_dir_overrides_the_global_dir() {
    let e = env("mcp-dir");
    let other = e.root.join("other");
    let mut s = Session::start(e.cmd(&["mcp", "--dir", other.to_str().unwrap()]));
    s.ok(
        "plasmite_pool_create",
        json!({"name": "here", "size": "64K"}),
    );
    assert!(other.join("here.plasmite").exists());
    assert!(!e.path("here").exists());
    assert_eq!(s.finish(), 0);
}

#[test]
fn end_of_input_ends_the_server_with_exit_0_and_nothing_else_on_stdout() {
    let e = env("mcp-eof");
    let out = e.pls_in(&["mcp"], "");
    out.code(0);
    assert_eq!(out.stdout, "");
    // A last line without a newline is still answered.
    let out = e.pls_in(&["mcp"], r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#);
    out.code(0);
    assert_eq!(out.stdout, "{\"id\":1,\"jsonrpc\":\"2.0\",\"result\":{}}\n");
}

#[test]
fn pool_arguments_are_names_never_paths() {
    let e = env("mcp-no-paths");
    e.create("p", "64K");
    std::fs::create_dir_all(&e.root).unwrap();
    let outside = e.root.join("outside.txt");
    std::fs::write(&outside, "keep me").unwrap();
    let outside = outside.to_str().unwrap().to_owned();
    let mut s = Session::open(&e);
    let f = s.fail("plasmite_pool_delete", json!({"pool": outside}), "Usage");
    usage_field(&f, "pool");
    assert_eq!(std::fs::read_to_string(&outside).unwrap(), "keep me");
    let f = s.fail(
        "plasmite_pool_create",
        json!({"name": "../escaped"}),
        "Usage",
    );
    usage_field(&f, "name");
    assert!(!e.root.join("escaped.plasmite").exists());
    let f = s.fail(
        "plasmite_feed",
        json!({"pool": "./p", "data": {}, "create": true}),
        "Usage",
    );
    usage_field(&f, "pool");
    // Names still work, with or without the extension.
    s.ok("plasmite_pool_info", json!({"pool": "p.plasmite"}));
}

/// `tools/call` as one request line.
fn call_line(id: &str, tool: &str, args: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
        "params": {"name": tool, "arguments": args}})
    .to_string()
}

#[test]
fn where_that_never_ends_or_crashes_fails_alone_and_the_server_keeps_serving() {
    let e = env("mcp-where-runaway");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1}"#, &[]);
    let mut s = Session::open(&e);
    // Without the watchdog this call would never be answered (`recv` gives up after 15 s).
    let f = s.fail(
        "plasmite_read",
        json!({"pool": "p", "where": "last(range(1e15)) > 0"}),
        "Usage",
    );
    usage_field(&f, "where");
    assert!(
        f["detail"].as_str().unwrap().contains("more than 2 s"),
        "{f:?}"
    );
    // Unbounded recursion overflows the evaluator's stack, not the server's.
    let f = s.fail(
        "plasmite_read",
        json!({"pool": "p", "where": "def f: 1 + f; f > 0"}),
        "Usage",
    );
    usage_field(&f, "where");
    assert!(
        f["detail"]
            .as_str()
            .unwrap()
            .contains("ended its evaluator"),
        "{f:?}"
    );
    // Unbounded memory meets the evaluator's heap cap (or its time budget first).
    let f = s.fail(
        "plasmite_wait",
        json!({"pool": "p", "after_seq": 0, "where": "[range(1e12)] | length > 0"}),
        "Usage",
    );
    usage_field(&f, "where");
    // The next calls are served, with and without where.
    let b = s.ok(
        "plasmite_read",
        json!({"pool": "p", "where": ".data.i == 1"}),
    );
    assert_eq!(is(&b), [1]);
    assert_eq!(s.request("ping", json!({}))["result"], json!({}));
    assert_eq!(s.finish(), 0);
}

#[test]
fn a_wait_does_not_hold_up_the_requests_after_it() {
    let e = env("mcp-wait-beside");
    e.create("p", "64K");
    let mut s = Session::open(&e);
    s.send_raw(&call_line(
        "w",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 20000, "tags": ["go"]}),
    ));
    s.send_raw(&call_line(
        "ww",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 20000, "where": ".data.go"}),
    ));
    // Answered while both waits run: a read, and another read with where.
    s.ok(
        "plasmite_feed",
        json!({"pool": "p", "data": {"i": 1, "go": false}}),
    );
    let b = s.ok(
        "plasmite_read",
        json!({"pool": "p", "where": ".data.go == false"}),
    );
    assert_eq!(is(&b), [1]);
    e.feed("p", r#"{"i":2,"go":true}"#, &["go"]);
    let mut ids: Vec<String> = (0..2)
        .map(|_| {
            let r = s.recv();
            let b = &r["result"]["structuredContent"];
            assert_eq!(b["timed_out"], false, "{r}");
            assert_eq!(is(b), [2], "{r}");
            r["id"].as_str().unwrap().to_owned()
        })
        .collect();
    ids.sort();
    assert_eq!(ids, ["w", "ww"]);
    assert_eq!(s.finish(), 0);
}

#[test]
fn a_wait_without_a_cursor_starts_after_the_newest_message_when_it_is_read() {
    let e = env("mcp-wait-pinned");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1}"#, &[]);
    let mut s = Session::open(&e);
    // The feed right behind the wait is read after it: the wait must see its message, however
    // late the wait gets to run.
    s.send_raw(&call_line(
        "w",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 5000}),
    ));
    s.send_raw(&call_line(
        "f",
        "plasmite_feed",
        json!({"pool": "p", "data": {"i": 2}}),
    ));
    let mut got = [s.recv(), s.recv()];
    got.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_owned());
    assert_eq!(got[0]["id"], "f", "{got:?}");
    let b = &got[1]["result"]["structuredContent"];
    assert_eq!(got[1]["id"], "w", "{got:?}");
    assert_eq!(b["timed_out"], false, "{b}");
    assert_eq!(is(b), [2]);
    assert_eq!(s.finish(), 0);
}

#[test]
fn a_cancelled_call_is_never_answered_and_stops_at_once() {
    let e = env("mcp-cancel");
    e.create("p", "64K");
    let mut s = Session::open(&e);
    s.send_raw(&call_line(
        "w",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 30000}),
    ));
    s.send_raw(&call_line(
        "ww",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 30000, "where": ".data.go"}),
    ));
    // Give the second wait time to reach its evaluator, then cancel both.
    std::thread::sleep(Duration::from_millis(300));
    for id in ["w", "ww"] {
        s.send_raw(
            &json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": id, "reason": "test"}})
            .to_string(),
        );
    }
    // Cancelling an id that is not running changes nothing.
    s.send_raw(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":99}}"#);
    assert_eq!(s.request("ping", json!({}))["result"], json!({}));
    // End of input waits for running calls: both have stopped — uncancelled, they would run
    // for 30 s, past `finish`'s 15 s — and neither is answered.
    let (code, rest) = s.finish_with_rest();
    assert_eq!(code, 0);
    assert!(rest.is_empty(), "cancelled calls were answered: {rest:?}");
}

#[test]
fn end_of_input_waits_for_running_calls_and_answers_them() {
    let e = env("mcp-eof-waits");
    e.create("p", "64K");
    // More `where` waits than there may be evaluators at once: the last ones wait their turn.
    let mut input = vec![call_line(
        "w",
        "plasmite_wait",
        json!({"pool": "p", "timeout_ms": 300}),
    )];
    for i in 0..11 {
        input.push(call_line(
            &format!("ww{i:02}"),
            "plasmite_wait",
            json!({"pool": "p", "timeout_ms": 300, "where": ".data.go"}),
        ));
    }
    let lines: Vec<&str> = input.iter().map(String::as_str).collect();
    let mut responses = one_shot(&e, &lines);
    responses.sort_by_key(|r| r["id"].as_str().unwrap_or("").to_owned());
    assert_eq!(responses.len(), 12, "{responses:?}");
    let mut want = vec!["w".to_owned()];
    want.extend((0..11).map(|i| format!("ww{i:02}")));
    for (r, id) in responses.iter().zip(want) {
        assert_eq!(r["id"], id.as_str(), "{r}");
        assert_eq!(r["result"]["structuredContent"]["timed_out"], true, "{r}");
    }
}

/// A small deterministic generator (xorshift64*), so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

#[test]
fn mangled_requests_never_end_the_server_and_every_answer_is_one_json_line() {
    let e = env("mcp-mangled");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1,"level":"error"}"#, &["a"]);
    let valid = [
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25"}}"#,
        r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"plasmite_read","arguments":{"pool":"p","where":".data.level == \"error\"","tags":["a"]}}}"#,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"plasmite_wait","arguments":{"pool":"p","after_seq":0,"timeout_ms":5,"where":".seq > 0"}}}"#,
        r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"plasmite_feed","arguments":{"pool":"p","data":{"i":2},"tags":["b"]}}}"#,
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"plasmite_fetch","arguments":{"pool":"p","seq":1}}}"#,
        r#"{"jsonrpc":"2.0","id":6,"method":"resources/read","params":{"uri":"plasmite:///pools/p"}}"#,
        r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3}}"#,
        r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"plasmite_pool_info","arguments":{"pool":"p"}}}"#,
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut input = Vec::new();
    for _ in 0..400 {
        let mut line = valid[rng.below(valid.len())].as_bytes().to_vec();
        // A third of the lines stay valid, so the calls behind them run too.
        for _ in 0..rng.below(3) {
            let at = rng.below(line.len());
            match rng.below(4) {
                0 => {
                    line[at] = b"{}[]\":,\\0-e9 "
                        .get(rng.below(14))
                        .copied()
                        .unwrap_or(b'x')
                }
                1 => line.truncate(at),
                2 => line.insert(at, u8::try_from(rng.below(256)).unwrap_or(0)),
                _ => {
                    line.remove(at);
                }
            }
            if line.is_empty() {
                break;
            }
        }
        // A mangled line must stay one line.
        line.retain(|&b| b != b'\n');
        input.extend_from_slice(&line);
        input.push(b'\n');
    }
    let out = e.pls_in(&["mcp"], input);
    out.code(0);
    let answers = out.json_lines();
    assert!(answers.len() > 100, "{} answers", answers.len());
    let batches = answers
        .iter()
        .filter(|a| a["result"]["structuredContent"]["messages"].is_array())
        .count();
    assert!(batches > 10, "{batches} reads or waits answered");
    for a in &answers {
        assert_eq!(a["jsonrpc"], "2.0", "{a}");
        assert!(a.get("result").is_some() != a.get("error").is_some(), "{a}");
    }
    // The pool is intact and the server still serves it.
    e.pls(&["pool", "info", "p", "--json"]).code(0);
    let b = one_shot(&e, &[valid[1]]);
    assert_eq!(b[0]["result"]["structuredContent"]["messages"][0]["seq"], 1);
}

/// The processes whose parent is `pid` (from `/proc/*/stat`).
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after
        // the last `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(pid) {
            out.push(child);
        }
    }
    out
}

#[test]
fn an_evaluator_killed_while_idle_is_replaced_without_failing_a_call() {
    let e = env("mcp-evaluator-killed");
    e.create("p", "64K");
    e.feed("p", r#"{"i":1}"#, &[]);
    let mut s = Session::open(&e);
    let args = json!({"pool": "p", "where": ".data.i == 1"});
    assert_eq!(is(&s.ok("plasmite_read", args.clone())), [1]);
    let evaluators = children_of(s.child.id());
    assert_eq!(evaluators.len(), 1, "{evaluators:?}");
    let pid = rustix::process::Pid::from_raw(i32::try_from(evaluators[0]).unwrap()).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::KILL).expect("kill");
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(is(&s.ok("plasmite_read", args)), [1]);
    assert_eq!(s.finish(), 0);
}

/// Damages message `seq` of pool `p` in place: one payload byte flipped, so its CRC fails
/// (`crc`), or the CRC dropped and the payload's first bytes garbled so that nothing of it —
/// tags included — decodes.
fn damage(e: &Env, pool: &str, seq: u64, crc: bool) {
    let path = e.path(pool);
    let mut bytes = std::fs::read(&path).unwrap();
    let ring = e.info(pool)["ring_offset"].as_u64().unwrap() as usize;
    // Frames from the start of a ring that never wrapped: seq at +16, payload length at +32,
    // each frame 64 bytes of header, its payload and an 8-byte commit marker, 8-aligned.
    let word = |at: usize, n: usize| {
        let mut b = [0u8; 8];
        b[..n].copy_from_slice(&bytes[at..at + n]);
        u64::from_le_bytes(b) as usize
    };
    let mut at = ring;
    while word(at + 16, 8) as u64 != seq {
        at += (64 + word(at + 32, 4) + 8).div_ceil(8) * 8;
    }
    if crc {
        bytes[at + 64 + 20] ^= 0x40;
    } else {
        bytes[at + 8..at + 12].copy_from_slice(&0u32.to_le_bytes());
        bytes[at + 40..at + 44].copy_from_slice(&0u32.to_le_bytes());
        for b in &mut bytes[at + 64..at + 72] {
            *b = 0xff;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
}

#[test]
fn follow_and_read_agree_on_a_pool_with_damaged_payloads_under_tags_since_and_where() {
    let e = env("mcp-damaged");
    e.create("p", "64K");
    let a: &[&str] = &["a"];
    feed_all(
        &e,
        "p",
        &[
            (1, a),
            (2, &[]),
            (3, a),
            (4, a),
            (5, &[]),
            (6, a),
            (7, a),
            (8, &[]),
        ],
    );
    damage(&e, "p", 3, true);
    damage(&e, "p", 6, false);
    let mut s = Session::open(&e);
    let cases: [(&[&str], Value); 4] = [
        (&[], json!({})),
        (&["--tag", "a"], json!({"tags": ["a"]})),
        (&["--since", "1h"], json!({"since": "1h"})),
        (
            &["--tag", "a", "--where", ".data.i > 3"],
            json!({"tags": ["a"], "where": ".data.i > 3"}),
        ),
    ];
    for (flags, filters) in cases {
        // Everything after a cursor, and the last 3.
        for (follow_start, read_start) in [
            (
                &["--since", "1970-01-01T00:00:00Z"][..],
                json!({"after_seq": 0}),
            ),
            (&["--tail", "3"][..], json!({"count": 3})),
        ] {
            if flags.contains(&"--since") && follow_start.contains(&"--tail") {
                continue;
            }
            let since_flags: Vec<&str> = if flags.contains(&"--since") {
                Vec::new()
            } else {
                follow_start.to_vec()
            };
            let mut args = vec!["follow", "p", "--jsonl", "--timeout", "200ms"];
            args.extend_from_slice(&since_flags);
            args.extend_from_slice(flags);
            let out = e.pls(&args);
            out.code(124);
            let printed = seqs(&out.json_lines());
            let noticed: Vec<u64> = out
                .stderr_json()
                .iter()
                .filter(|n| n["notice"]["kind"] == "corrupt")
                .map(|n| n["notice"]["details"]["seq"].as_u64().unwrap())
                .collect();
            let mut req = json!({"pool": "p"});
            for (k, v) in filters
                .as_object()
                .unwrap()
                .iter()
                .chain(read_start.as_object().unwrap())
            {
                req[k] = v.clone();
            }
            let batch = s.ok("plasmite_read", req.clone());
            let returned = seqs(batch["messages"].as_array().unwrap());
            let errors: Vec<u64> = batch["errors"]
                .as_array()
                .map(|a| a.iter().map(|x| x["seq"].as_u64().unwrap()).collect())
                .unwrap_or_default();
            assert_eq!(printed, returned, "{args:?} vs {req}: {}", out.show());
            assert_eq!(noticed, errors, "{args:?} vs {req}: {batch}");
            assert!(!errors.is_empty(), "{args:?}: damage is never silent");
            if let Some(err) = batch["errors"].as_array().and_then(|a| a.first()) {
                assert_eq!(err["kind"], "Corrupt", "{err}");
                assert!(err["offset"].is_u64() && err["hint"].is_string(), "{err}");
            }
        }
    }
    assert_eq!(s.finish(), 0);
}
