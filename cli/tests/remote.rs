//! Remote pools, black-box: `feed`, `follow`, `fetch`, `duplex` and `pool info` on
//! `http(s)://host:port/pool` against a `pls serve` started by each test — plain and TLS,
//! tokens, access modes, follow semantics (live start, `--tail`, `--where`, `--one`,
//! `--timeout`), reconnection across a server restart with nothing lost or repeated, drop
//! notices, and bulk feeds.

mod common;

use common::serve::Served;
use common::{Out, env, finish, seqs, spawn};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::ChildStdin;
use std::time::Duration;

fn url(s: &Served, pool: &str) -> String {
    format!("http://{}/{pool}", s.addr)
}

fn https(s: &Served, pool: &str) -> String {
    format!("https://127.0.0.1:{}/{pool}", s.addr.port())
}

fn datas(out: &Out) -> Vec<Value> {
    out.json_lines().iter().map(|m| m["data"].clone()).collect()
}

fn write_line(stdin: &mut ChildStdin, line: &str) {
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
}

/// `n` records `{"n":from}`… as JSON lines.
fn records(from: usize, n: usize) -> String {
    (from..from + n)
        .map(|i| format!("{{\"n\":{i}}}\n"))
        .collect()
}

#[test]
fn the_readmes_remote_examples_work_as_written() {
    let e = env("remote_readme");
    e.create("events", "1M");
    let s = e.serve(&[]);
    let u = url(&s, "events");
    for i in 0..25 {
        // The first release's names (`poke`, `peek`), as the seed README writes them.
        let o = e.pls(&[
            "poke",
            &u,
            &format!("{{\"sensor\": \"temp\", \"value\": {i}}}"),
        ]);
        o.code(0);
        common::assert_receipt(&o.json(), i + 1, &[]);
    }
    let o = e.pls(&["peek", &u, "--tail", "20", "--jsonl", "--timeout", "300ms"]);
    o.code(124);
    assert_eq!(seqs(&o.json_lines()), (6..=25).collect::<Vec<_>>());
    // What the server stored is what a local reader sees.
    assert_eq!(
        e.fetch("events", 25)["data"],
        json!({"sensor": "temp", "value": 24})
    );
}

#[test]
fn fetch_and_pool_info_answer_as_for_a_local_pool() {
    let e = env("remote_fetch_info");
    e.create("p", "1M");
    e.feed("p", r#"{"a":1}"#, &["x"]);
    let s = e.serve(&[]);
    let u = url(&s, "p");
    let o = e.pls(&["fetch", &u, "1"]);
    o.code(0);
    assert_eq!(o.json(), e.fetch("p", 1));
    e.pls(&["fetch", &u, "9"]).fails(3, "NotFound");
    let o = e.pls(&["pool", "info", &u, "--json"]);
    o.code(0);
    let v = o.json();
    assert_eq!(v["name"], u);
    assert_eq!(v["bounds"], json!({"oldest": 1, "newest": 1}));
    let o = e.pls(&["pool", "info", &u]);
    o.code(0);
    assert!(
        o.stdout.contains("Bounds: oldest=1 newest=1 count=1"),
        "{}",
        o.show()
    );
    let err = e.pls(&["follow", &url(&s, "missing")]).fails(3, "NotFound");
    assert!(
        common::str_of(&err, "hint").contains("Remote pool not found"),
        "{err:?}"
    );
}

#[test]
fn remote_follow_starts_live_and_prints_only_new_messages() {
    let e = env("remote_live");
    e.create("p", "1M");
    for i in 0..5 {
        e.feed("p", &format!("{{\"old\":{i}}}"), &[]);
    }
    let s = e.serve(&[]);
    let u = url(&s, "p");
    let (child, started) = spawn(
        e.cmd(&["follow", &u, "--jsonl", "--one", "--timeout", "10s"]),
        false,
    );
    std::thread::sleep(Duration::from_millis(700));
    e.pls(&["feed", &u, r#"{"new":true}"#]).code(0);
    let o = finish(child, None, "follow".into(), started);
    o.code(0);
    assert_eq!(datas(&o), [json!({"new": true})], "{}", o.show());
    assert_eq!(seqs(&o.json_lines()), [6]);
}

#[test]
fn remote_tail_where_tag_one_and_timeout_follow_local_semantics() {
    let e = env("remote_filters");
    e.create("p", "1M");
    let s = e.serve(&[]);
    let u = url(&s, "p");
    let input: String = (1..=30)
        .map(|i| format!("{{\"i\":{i},\"odd\":{}}}\n", i % 2 == 1))
        .collect();
    e.pls_in(&["feed", &u, "--tag", "t"], input).code(0);
    e.pls(&["feed", &u, r#"{"i":31,"odd":true}"#]).code(0);
    // --tail N is exactly the last N *matching*.
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "3",
        "--where",
        ".data.odd",
        "--jsonl",
        "--timeout",
        "300ms",
    ]);
    o.code(124);
    assert_eq!(seqs(&o.json_lines()), [27, 29, 31], "{}", o.show());
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "3",
        "--tag",
        "t",
        "--where",
        ".data.odd",
        "--jsonl",
        "--timeout",
        "300ms",
    ]);
    o.code(124);
    assert_eq!(seqs(&o.json_lines()), [25, 27, 29], "{}", o.show());
    // --one --tail N: the newest of the last N matching.
    let o = e.pls(&[
        "follow", &u, "--tail", "3", "--one", "--tag", "t", "--jsonl",
    ]);
    o.code(0);
    assert_eq!(seqs(&o.json_lines()), [30]);
    // --data-only and --template format as locally.
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "1",
        "--data-only",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(o.stdout.trim(), r#"{"i":31,"odd":true}"#);
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "1",
        "--template",
        "{{ seq }}:{{ data.i }}",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(o.stdout.trim(), "31:31");
    // Nothing new: --timeout exits 124 with nothing printed.
    let o = e.pls(&["follow", &u, "--timeout", "300ms"]);
    o.code(124);
    assert!(o.stdout.is_empty(), "{}", o.show());
    // A bad expression is the server's Usage error.
    e.pls(&["follow", &u, "--where", ".data.i >"])
        .fails(2, "Usage");
}

/// A follower keeps following across a server restart: everything appended before, during
/// and after arrives exactly once, in order.
#[test]
fn remote_follow_survives_a_server_restart_without_loss_or_duplicates() {
    let e = env("remote_restart");
    e.create("p", "4M");
    let mut s = e.serve(&[]);
    let addr = s.addr.to_string();
    let u = url(&s, "p");
    let (child, started) = spawn(e.cmd(&["follow", &u, "--jsonl", "--timeout", "4s"]), false);
    std::thread::sleep(Duration::from_millis(600));
    e.pls_in(&["feed", &u], records(0, 50)).code(0);
    std::thread::sleep(Duration::from_millis(200));
    let _ = s.child.kill();
    let _ = s.child.wait();
    // While the server is down, writers keep appending locally.
    e.pls_in(&["feed", "p"], records(50, 50)).code(0);
    std::thread::sleep(Duration::from_millis(300));
    let s2 = e.serve(&["--bind", &addr]);
    e.pls_in(&["feed", &u], records(100, 50)).code(0);
    let o = finish(child, None, "follow".into(), started);
    o.code(124);
    let got: Vec<u64> = datas(&o).iter().map(|d| d["n"].as_u64().unwrap()).collect();
    assert_eq!(got, (0..150).collect::<Vec<_>>(), "{}", o.show());
    assert_eq!(seqs(&o.json_lines()), (1..=150).collect::<Vec<_>>());
    drop(s2);
}

#[test]
fn a_follower_overtaken_while_disconnected_reports_the_drop() {
    let e = env("remote_drop");
    e.create("p", "64K");
    let mut s = e.serve(&[]);
    let addr = s.addr.to_string();
    let u = url(&s, "p");
    let (child, started) = spawn(e.cmd(&["follow", &u, "--jsonl", "--timeout", "4s"]), false);
    std::thread::sleep(Duration::from_millis(600));
    e.pls(&["feed", &u, r#"{"n":0}"#]).code(0);
    std::thread::sleep(Duration::from_millis(200));
    let _ = s.child.kill();
    let _ = s.child.wait();
    // Far more than the pool holds: the follower's next message is evicted.
    e.pls_in(&["feed", "p"], records(1, 5000)).code(0);
    let s2 = e.serve(&["--bind", &addr]);
    e.pls(&["feed", &u, r#"{"n":"last"}"#]).code(0);
    let o = finish(child, None, "follow".into(), started);
    o.code(124);
    let got = seqs(&o.json_lines());
    assert_eq!(got.first(), Some(&1), "{}", o.show());
    assert_eq!(got.last(), Some(&5002), "{}", o.show());
    assert!(got.windows(2).all(|w| w[0] < w[1]), "{}", o.show());
    let notices = o.stderr_json();
    let first = notices
        .iter()
        .find(|n| n["notice"]["kind"] == "drop")
        .unwrap_or_else(|| panic!("no drop notice\n{}", o.show()));
    let d = &first["notice"]["details"];
    assert_eq!(d["last_seen_seq"], 1, "{first}");
    let dropped: u64 = notices
        .iter()
        .filter(|n| n["notice"]["kind"] == "drop")
        .map(|n| n["notice"]["details"]["dropped_count"].as_u64().unwrap())
        .sum();
    // Every sequence is either printed or reported dropped.
    assert_eq!(dropped + got.len() as u64, 5002, "{}", o.show());
    drop(s2);
}

#[test]
fn tokens_are_required_when_the_server_has_one() {
    let e = env("remote_token");
    e.create("p", "1M");
    let s = e.serve(&["--token", "sesame"]);
    let u = url(&s, "p");
    let err = e.pls(&["feed", &u, "{}"]).fails(6, "Permission");
    assert!(common::str_of(&err, "hint").contains("--token"), "{err:?}");
    e.pls(&["feed", &u, "{}", "--token", "wrong"])
        .fails(6, "Permission");
    e.pls(&["feed", &u, r#"{"ok":1}"#, "--token", "sesame"])
        .code(0);
    let file = e.root.join("token");
    std::fs::write(&file, "sesame\n").unwrap();
    let f = file.to_str().unwrap();
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "1",
        "--jsonl",
        "--one",
        "--token-file",
        f,
    ]);
    o.code(0);
    assert_eq!(datas(&o), [json!({"ok": 1})]);
    e.pls(&["fetch", &u, "1", "--token", "sesame"]).code(0);
    e.pls(&["pool", "info", &u, "--token-file", f]).code(0);
    e.pls(&["follow", &u, "--token", "a", "--token-file", f])
        .fails(2, "Usage");
}

#[test]
fn a_read_only_server_refuses_feed() {
    let e = env("remote_read_only");
    e.create("p", "1M");
    let s = e.serve(&["--access", "read-only"]);
    let u = url(&s, "p");
    let err = e.pls(&["feed", &u, "{}"]).fails(6, "Permission");
    assert!(
        common::str_of(&err, "message").starts_with("forbidden"),
        "{err:?}"
    );
    e.pls(&["pool", "info", &u]).code(0);
}

#[test]
fn remote_only_flags_and_create_are_usage_errors_where_they_do_not_apply() {
    let e = env("remote_usage");
    e.create("p", "1M");
    let s = e.serve(&[]);
    let u = url(&s, "p");
    e.pls(&["feed", &u, "{}", "--create"]).fails(2, "Usage");
    e.pls(&["follow", &u, "--create"]).fails(2, "Usage");
    e.pls(&["follow", "p", "--token", "t"]).fails(2, "Usage");
    e.pls(&["fetch", "p", "1", "--tls-skip-verify"])
        .fails(2, "Usage");
    // Commands without remote support say so instead of treating the URL as a file.
    let o = e.pls(&["pool", "delete", &u]);
    o.code(2);
    assert!(o.stdout.contains("local pools only"), "{}", o.show());
}

#[test]
fn unreachable_servers_and_other_http_servers_are_io_errors_naming_the_url() {
    let e = env("remote_unreachable");
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let err = e
        .pls(&["follow", &format!("http://127.0.0.1:{port}/p")])
        .fails(8, "Io");
    assert!(
        common::str_of(&err, "hint").contains(&format!("127.0.0.1:{port}")),
        "{err:?}"
    );
    // Something that answers HTTP but is not a plasmite server.
    let other = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = other.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in other.incoming().flatten() {
            let mut c = c;
            let mut buf = [0u8; 4096];
            let _ = c.read(&mut buf);
            let _ = c.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: 5\r\n\r\nhello",
            );
        }
    });
    let err = e
        .pls(&["feed", &format!("http://{addr}/p"), "{}"])
        .fails(8, "Io");
    assert!(
        common::str_of(&err, "message").contains("not a plasmite server"),
        "{err:?}"
    );
}

#[test]
fn tls_with_a_trusted_certificate_or_skipped_verification() {
    let e = env("remote_tls");
    e.create("p", "1M");
    let keys = e.root.join("keys");
    let o = e.pls(&[
        "serve",
        "init",
        "--output-dir",
        keys.to_str().unwrap(),
        "--bind",
        "127.0.0.1:9700",
    ]);
    o.code(0);
    let cert = keys.join("plasmite-tls-cert.pem");
    let key = keys.join("plasmite-tls-key.pem");
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    let s = e.serve(&["--tls-cert", cert, "--tls-key", key]);
    let u = https(&s, "p");
    e.pls(&["feed", &u, r#"{"tls":1}"#, "--tls-ca", cert])
        .code(0);
    let o = e.pls(&[
        "follow", &u, "--tail", "1", "--one", "--jsonl", "--tls-ca", cert,
    ]);
    o.code(0);
    assert_eq!(datas(&o), [json!({"tls": 1})]);
    e.pls(&["fetch", &u, "1", "--tls-ca", cert]).code(0);
    e.pls(&["pool", "info", &u, "--tls-ca", cert]).code(0);
    // Without the certificate the server is not trusted.
    let err = e.pls(&["feed", &u, "{}"]).fails(8, "Io");
    assert!(common::str_of(&err, "hint").contains("--tls-ca"), "{err:?}");
    // A --tls-ca without a certificate is a usage error.
    e.pls(&["feed", &u, "{}", "--tls-ca", key])
        .fails(2, "Usage");
    // Plain HTTP to a TLS server is not a plasmite answer either.
    e.pls(&["feed", &url(&s, "p"), "{}"]).fails(8, "Io");

    let s2 = e.serve(&["--tls-self-signed"]);
    let u2 = https(&s2, "p");
    e.pls(&["feed", &u2, "{}"]).fails(8, "Io");
    let o = e.pls(&["feed", &u2, r#"{"skip":1}"#, "--tls-skip-verify"]);
    o.code(0);
    assert!(o.stderr.contains("tls-skip-verify"), "{}", o.show());
    let o = e.pls(&[
        "follow",
        &u2,
        "--tail",
        "1",
        "--one",
        "--jsonl",
        "--tls-skip-verify",
    ]);
    o.code(0);
    assert_eq!(datas(&o), [json!({"skip": 1})]);
}

#[test]
fn remote_duplex_sends_and_follows_through_the_server() {
    let e = env("remote_duplex");
    e.create("chat", "64K");
    let s = e.serve(&[]);
    let u = url(&s, "chat");
    let (mut alice, started) = spawn(
        e.cmd(&["duplex", &u, "--me", "alice", "--jsonl", "--timeout", "2s"]),
        true,
    );
    let mut a_in = alice.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(600));
    write_line(&mut a_in, r#"{"from":"alice","msg":"hi"}"#);
    std::thread::sleep(Duration::from_millis(300));
    e.pls(&["feed", &u, r#"{"from":"bob","msg":"hello"}"#])
        .code(0);
    let o = finish(alice, None, "alice".into(), started);
    drop(a_in);
    o.code(124);
    assert_eq!(
        datas(&o),
        [json!({"from": "bob", "msg": "hello"})],
        "{}",
        o.show()
    );
    let all = e.pls(&[
        "follow",
        "chat",
        "--tail",
        "10",
        "--jsonl",
        "--timeout",
        "100ms",
    ]);
    assert_eq!(all.json_lines().len(), 2, "{}", all.show());
}

#[test]
fn feed_of_200000_json_lines_to_a_remote_pool() {
    let e = env("remote_bulk");
    e.create("big", "64M");
    let s = e.serve(&[]);
    let u = url(&s, "big");
    let file = e.root.join("in.jsonl");
    std::fs::write(&file, records(0, 200_000)).unwrap();
    let o = e.pls(&[
        "feed",
        &u,
        "--file",
        file.to_str().unwrap(),
        "--tag",
        "bulk",
    ]);
    o.code(0);
    let receipts = o.json_lines();
    assert_eq!(receipts.len(), 200_000);
    assert_eq!(seqs(&receipts), (1..=200_000).collect::<Vec<_>>());
    common::assert_receipt(&receipts[199_999], 200_000, &["bulk"]);
    let info = e.info("big");
    assert_eq!(info["bounds"]["newest"], 200_000);
    assert_eq!(e.fetch("big", 200_000)["data"], json!({"n": 199_999}));
    // A bad line stops the feed after the records before it, with its kind and line.
    let err = e
        .pls_in(&["feed", &u], "{\"a\":1}\n[1]\n{\"a\":2}\n")
        .fails(2, "Usage");
    assert!(
        common::str_of(&err, "message").contains("line 2"),
        "{err:?}"
    );
    assert_eq!(e.info("big")["bounds"]["newest"], 200_001);
}

#[test]
fn ctrl_c_ends_a_remote_follow_at_once() {
    let e = env("remote_ctrl_c");
    e.create("p", "1M");
    let s = e.serve(&[]);
    let (child, started) = spawn(e.cmd(&["follow", &url(&s, "p")]), false);
    std::thread::sleep(Duration::from_millis(500));
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let o = finish(child, None, "follow".into(), started);
    assert!(o.elapsed < Duration::from_secs(3), "{}", o.show());
    assert!(o.stdout.is_empty(), "{}", o.show());
}

#[test]
fn bulk_appends_list_receipts_on_request() {
    let e = env("remote_receipts");
    e.create("p", "1M");
    let s = e.serve(&[]);
    let r = s.request(
        "POST",
        "/v0/pools/p/append_jsonl?receipts=true",
        &[],
        b"{\"a\":1}\n{\"a\":2}\n",
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    let receipts = v["receipts"].as_array().unwrap();
    assert_eq!(seqs(receipts), [1, 2]);
    common::assert_time(&receipts[1]["time"]);
    assert_eq!(receipts[1]["time"], e.fetch("p", 2)["time"]);
    let r = s.request("POST", "/v0/pools/p/append_jsonl", &[], b"{\"a\":3}\n");
    assert!(r.json().get("receipts").is_none(), "{}", r.text());
    s.request(
        "POST",
        "/v0/pools/p/append_jsonl?receipts=maybe",
        &[],
        b"{}\n",
    )
    .error(400, "Usage");
}

/// A proxy in front of `upstream` that hides the server's extensions: its `/healthz` answers
/// only `{"ok":true}`, as the reference server does. One request per connection.
fn reference_like(upstream: std::net::SocketAddr) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || proxy_one(c, upstream));
        }
    });
    addr
}

fn proxy_one(mut c: std::net::TcpStream, upstream: std::net::SocketAddr) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if c.read(&mut byte).unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut lines = text.split("\r\n").filter(|l| !l.is_empty());
    let request_line = lines.next().unwrap_or_default().to_owned();
    let headers: Vec<&str> = lines
        .filter(|l| !l.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let length: usize = headers
        .iter()
        .find_map(|h| {
            let (k, v) = h.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    if c.read_exact(&mut body).is_err() {
        return;
    }
    if request_line.starts_with("GET /healthz ") {
        let _ = c.write_all(
            b"HTTP/1.1 200 OK\r\nplasmite-version: 0\r\ncontent-type: application/json\r\n\
              content-length: 11\r\nconnection: close\r\n\r\n{\"ok\":true}",
        );
        return;
    }
    let Ok(mut u) = std::net::TcpStream::connect(upstream) else {
        return;
    };
    let mut req = format!("{request_line}\r\n");
    for h in headers {
        req.push_str(h);
        req.push_str("\r\n");
    }
    req.push_str("connection: close\r\n\r\n");
    let _ = u.write_all(req.as_bytes());
    let _ = u.write_all(&body);
    let _ = std::io::copy(&mut u, &mut c);
}

#[test]
fn servers_without_extensions_get_per_message_appends_and_local_filters() {
    let e = env("remote_reference_like");
    e.create("p", "1M");
    let s = e.serve(&[]);
    let u = format!("http://{}/p", reference_like(s.addr));
    let input: String = (1..=20)
        .map(|i| format!("{{\"i\":{i},\"odd\":{}}}\n", i % 2 == 1))
        .collect();
    let o = e.pls_in(&["feed", &u, "--tag", "t"], input);
    o.code(0);
    assert_eq!(seqs(&o.json_lines()), (1..=20).collect::<Vec<_>>());
    common::assert_receipt(&o.json_lines()[19], 20, &["t"]);
    // --tail N is the last N messages, then filtered here.
    let o = e.pls(&[
        "follow",
        &u,
        "--tail",
        "6",
        "--where",
        ".data.odd",
        "--jsonl",
        "--timeout",
        "300ms",
    ]);
    o.code(124);
    assert_eq!(seqs(&o.json_lines()), [15, 17, 19], "{}", o.show());
    // Live, with the filter evaluated here.
    let (child, started) = spawn(
        e.cmd(&[
            "follow",
            &u,
            "--where",
            ".data.odd",
            "--one",
            "--jsonl",
            "--timeout",
            "10s",
        ]),
        false,
    );
    std::thread::sleep(Duration::from_millis(700));
    e.pls_in(
        &["feed", &u],
        "{\"i\":21,\"odd\":false}\n{\"i\":23,\"odd\":true}\n",
    )
    .code(0);
    let o = finish(child, None, "follow".into(), started);
    o.code(0);
    assert_eq!(datas(&o), [json!({"i": 23, "odd": true})], "{}", o.show());
    // --since needs the server's since_time.
    e.pls(&["follow", &u, "--since", "1m"]).fails(2, "Usage");
}
