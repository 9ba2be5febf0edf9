//! Black-box tests of `pls duplex`: two processes chatting through one pool, piped and on a
//! terminal, own messages hidden or echoed, and how each side ends the process.
//!
//! Every duplex here ends by itself: on end of input, or by `--timeout`; the harness kills
//! anything still running after its deadline.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::Write;
use std::process::ChildStdin;
use std::time::Duration;

/// `data` of each printed envelope.
fn datas(out: &Out) -> Vec<Value> {
    out.json_lines()
        .into_iter()
        .map(|m| m["data"].clone())
        .collect()
}

/// Every message in `pool`, as data.
fn pool_datas(e: &Env, pool: &str) -> Vec<Value> {
    let out = e.pls(&[
        "follow",
        pool,
        "--tail",
        "100",
        "--jsonl",
        "--timeout",
        "100ms",
    ]);
    out.code(124);
    datas(&out)
}

fn write_line(stdin: &mut ChildStdin, line: &str) {
    stdin.write_all(line.as_bytes()).unwrap();
    stdin.write_all(b"\n").unwrap();
    stdin.flush().unwrap();
}

/// Two piped duplexes, alice and bob, each sending one record while both follow.
fn chat(test: &str, alice_flags: &[&str]) -> (Out, Out, Env) {
    let e = env(test);
    e.create("chat", "64K");
    let mut a_args = vec!["duplex", "chat", "--me", "alice", "--jsonl", "--tail", "10"];
    a_args.extend_from_slice(alice_flags);
    a_args.extend_from_slice(&["--timeout", "1500ms"]);
    let b_args = [
        "duplex",
        "chat",
        "--me",
        "bob",
        "--jsonl",
        "--tail",
        "10",
        "--timeout",
        "1500ms",
    ];
    let (mut alice, a_started) = spawn(e.cmd(&a_args), true);
    let (mut bob, b_started) = spawn(e.cmd(&b_args), true);
    let mut a_in = alice.stdin.take().unwrap();
    let mut b_in = bob.stdin.take().unwrap();
    write_line(&mut a_in, r#"{"from":"alice","msg":"hi bob"}"#);
    write_line(&mut b_in, r#"{"from":"bob","msg":"hi alice"}"#);
    // Both inputs stay open: each side ends by its --timeout once the chat is quiet.
    let a = finish(alice, None, "alice".into(), a_started);
    let b = finish(bob, None, "bob".into(), b_started);
    drop((a_in, b_in));
    (a, b, e)
}

#[test]
fn piped_duplexes_see_each_other_but_not_themselves() {
    let (a, b, e) = chat("duplex_piped", &[]);
    a.code(124);
    b.code(124);
    assert_eq!(
        datas(&a),
        [json!({"from": "bob", "msg": "hi alice"})],
        "{}",
        a.show()
    );
    assert_eq!(
        datas(&b),
        [json!({"from": "alice", "msg": "hi bob"})],
        "{}",
        b.show()
    );
    let mut all = pool_datas(&e, "chat");
    all.sort_by_key(|d| d["from"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        all,
        [
            json!({"from": "alice", "msg": "hi bob"}),
            json!({"from": "bob", "msg": "hi alice"})
        ]
    );
}

#[test]
fn echo_self_prints_own_messages_too() {
    let (a, b, _e) = chat("duplex_echo_self", &["--echo-self"]);
    a.code(124);
    b.code(124);
    let mut got = datas(&a);
    got.sort_by_key(|d| d["from"].as_str().unwrap_or_default().to_owned());
    assert_eq!(
        got,
        [
            json!({"from": "alice", "msg": "hi bob"}),
            json!({"from": "bob", "msg": "hi alice"})
        ],
        "{}",
        a.show()
    );
    assert_eq!(datas(&b), [json!({"from": "alice", "msg": "hi bob"})]);
}

#[test]
fn end_of_piped_input_ends_duplex_with_0_after_appending_every_record() {
    let e = env("duplex_eof");
    let out = e.pls_in(
        &["duplex", "chat", "--create", "--jsonl"],
        "{\"n\":1}\n{\"n\":2}\n",
    );
    out.code(0);
    assert!(out.stderr.is_empty(), "{}", out.show());
    assert_eq!(pool_datas(&e, "chat"), [json!({"n": 1}), json!({"n": 2})]);
}

#[test]
fn timeout_ends_duplex_with_124_while_input_stays_open() {
    let e = env("duplex_timeout");
    e.create("chat", "64K");
    let (mut child, started) = spawn(
        e.cmd(&["duplex", "chat", "--me", "a", "--timeout", "200ms"]),
        true,
    );
    let stdin = child.stdin.take();
    let out = finish(child, None, "duplex --timeout".into(), started);
    drop(stdin);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
}

#[test]
fn piped_input_is_ingested_like_feed_without_receipts() {
    let e = env("duplex_ingest");
    e.create("chat", "64K");
    // A pretty-printed record and a one-line record: feed's auto mode.
    let out = e.pls_in(
        &["duplex", "chat", "--jsonl"],
        "{\n  \"a\": 1\n}\n{\"b\": 2}\n",
    );
    out.code(0);
    // The follower may print the records it saw arrive; receipts (no `data`) never appear.
    for line in out.json_lines() {
        assert!(line.get("data").is_some(), "a receipt was printed: {line}");
    }
    assert_eq!(pool_datas(&e, "chat"), [json!({"a": 1}), json!({"b": 2})]);
    // A bad record stops with feed's error; the record before it stays appended.
    let out = e.pls_in(&["duplex", "chat"], "{\"c\": 3}\nnot json\n{\"d\": 4}\n");
    let err = out.fails(2, "Usage");
    assert!(
        str_of(&err, "message").starts_with("invalid json input (line 2"),
        "{err:?}"
    );
    assert_eq!(
        pool_datas(&e, "chat"),
        [json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]
    );
    // No records at all is feed's "missing data input".
    let err = e.pls_in(&["duplex", "chat"], "").fails(2, "Usage");
    assert_eq!(str_of(&err, "message"), "missing data input");
}

#[test]
fn missing_pool_hint_offers_the_create_retry() {
    let e = env("duplex_missing");
    let err = e.pls_in(&["duplex", "nope"], "{}\n").fails(3, "NotFound");
    assert!(
        str_of(&err, "hint").contains("duplex nope --create"),
        "{err:?}"
    );
}

#[test]
fn a_piped_duplex_never_prints_its_own_message_whatever_the_timing() {
    let e = env("duplex_own_piped");
    e.create("chat", "64K");
    for _ in 0..8 {
        let out = e.pls_in(
            &["duplex", "chat", "--me", "healthcheck", "--timeout", "5s"],
            "{\"ping\": true}",
        );
        out.code(0);
        assert!(out.stdout.is_empty(), "{}", out.show());
    }
    // Nor when its input stays open until its own message has long been appended.
    let (mut child, started) = spawn(e.cmd(&["duplex", "chat", "--timeout", "400ms"]), true);
    let mut stdin = child.stdin.take().unwrap();
    write_line(&mut stdin, "{\"ping\": 2}");
    let out = finish(child, None, "duplex, input open".into(), started);
    drop(stdin);
    out.code(124);
    assert!(out.stdout.is_empty(), "{}", out.show());
    assert_eq!(pool_datas(&e, "chat").len(), 9);
}

#[test]
fn since_beyond_the_clock_exits_0_at_once_and_a_missing_pool_is_not_found() {
    let e = env("duplex_far_future");
    e.create("chat", "64K");
    let (mut child, started) = spawn(
        e.cmd(&["duplex", "chat", "--since", "2999-01-01T00:00:00Z"]),
        true,
    );
    let stdin = child.stdin.take();
    let out = finish(child, None, "duplex --since far future".into(), started);
    drop(stdin);
    out.code(0);
    assert!(out.stdout.is_empty(), "{}", out.show());
    e.pls_in(&["duplex", "nope", "--since", "2999-01-01T00:00:00Z"], "{}")
        .fails(3, "NotFound");
}

#[test]
fn since_in_the_future_exits_0_at_once() {
    let e = env("duplex_future");
    e.create("chat", "64K");
    let (mut child, started) = spawn(
        e.cmd(&["duplex", "chat", "--since", "2500-01-01T00:00:00Z"]),
        true,
    );
    let stdin = child.stdin.take();
    let out = finish(child, None, "duplex --since future".into(), started);
    drop(stdin);
    out.code(0);
}

#[test]
fn tty_input_requires_me() {
    let e = env("duplex_tty_me");
    e.create("chat", "64K");
    let out = e.tty(&["duplex", "chat"], &[("NO_COLOR", "1")]);
    out.code(2);
    assert!(
        out.stdout
            .contains("error: TTY input requires --me for duplex"),
        "{}",
        out.show()
    );
    assert!(
        out.stdout.contains("hint: Pass --me NAME"),
        "{}",
        out.show()
    );
}

#[test]
fn tty_lines_are_sent_as_from_and_msg_and_others_are_printed() {
    let e = env("duplex_tty");
    e.create("chat", "64K");
    e.feed("chat", r#"{"from":"bob","msg":"hello alice"}"#, &[]);
    let (mut child, started) = spawn(
        e.tty_cmd(
            &["duplex", "chat", "--me", "alice", "--tail", "5", "--jsonl"],
            &[],
        ),
        true,
    );
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // A line, a blank line (not sent), then end of input (Ctrl-D).
    stdin.write_all(b"hi bob\r\n   \r\n").unwrap();
    stdin.flush().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    stdin.write_all(b"\x04").unwrap();
    stdin.flush().unwrap();
    let mut out = finish(child, None, "duplex on a tty".into(), started);
    drop(stdin);
    out.stdout = out.stdout_no_cr();
    out.code(0);
    assert!(
        out.stdout
            .contains(r#""data":{"from":"bob","msg":"hello alice"}"#),
        "{}",
        out.show()
    );
    // Alice's own message is hidden from her.
    assert!(!out.stdout.contains(r#""msg":"hi bob""#), "{}", out.show());
    assert_eq!(
        pool_datas(&e, "chat"),
        [
            json!({"from": "bob", "msg": "hello alice"}),
            json!({"from": "alice", "msg": "hi bob"})
        ]
    );
}
