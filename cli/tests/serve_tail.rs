//! `pls serve` tails, black-box: JSON Lines (`/tail`), server-sent events (`/v0/ui/…/events`)
//! and Lite³ frames (`/tail_lite3`) read over real sockets as they come — where they start,
//! what ends them, gaps on wrapped pools, live delivery, resumption, the tail limits, and what
//! a client that leaves, never reads, or a server that stops does to them.
//!
//! Streams are read with `common/serve.rs`'s [`Streamed`], which decodes the chunked body
//! piece by piece and records whether its terminator arrived (a clean end) or the connection
//! broke.
//!
//! Spec: `spec/HTTP.md` §4.3, §5 (the reference's CLI-HTTP-MCP-V0 §4).

mod common;
use common::serve::{Served, Streamed};
use common::*;

use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A pool `name` of 64 KiB that wrapped: 300 messages of about 150 bytes, the first ones
/// evicted. Its `(oldest, newest)`.
fn wrapped(s: &Served, name: &str) -> (u64, u64) {
    s.create_pool(name, Some(64 * 1024));
    let pad = "x".repeat(100);
    let body: String = (1..=300)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{pad}\"}}\n"))
        .collect();
    let v = s.append_jsonl(name, "", &body);
    assert_eq!(v["appended"], 300, "{v}");
    let info = s.get(&format!("/v0/pools/{name}/info")).json();
    let b = &info["pool"]["bounds"];
    let (oldest, newest) = (
        b["oldest"].as_u64().expect("oldest"),
        b["newest"].as_u64().expect("newest"),
    );
    assert_eq!(newest, 300);
    assert!(oldest > 10, "the pool wrapped: {info}");
    (oldest, newest)
}

/// Every JSON line of a tail until it ends; checks that it ended cleanly.
#[track_caller]
fn jsonl_to_end(t: &mut Streamed) -> Vec<Value> {
    let mut out = Vec::new();
    while let Some(v) = t.json_line() {
        out.push(v);
    }
    assert!(t.ended, "the tail ended cleanly: {:?}", t.broken);
    out
}

/// Every SSE event of a tail until it ends; checks that it ended cleanly.
#[track_caller]
fn events_to_end(t: &mut Streamed) -> Vec<common::serve::SseEvent> {
    let mut out = Vec::new();
    while let Some(e) = t.event() {
        out.push(e);
    }
    assert!(t.ended, "the stream ended cleanly: {:?}", t.broken);
    out
}

/// A whole JSON Lines tail of `path`: status 200, every envelope.
#[track_caller]
fn tail(s: &Served, path: &str) -> Vec<Value> {
    let mut t = s.open(path, &[]);
    if t.status != 200 {
        let status = t.status;
        panic!("{path}: {status} {}", String::from_utf8_lossy(&t.rest()));
    }
    jsonl_to_end(&mut t)
}

/// Pool `p` with messages `{"i":1}`…`{"i":n}`.
fn numbered(s: &Served, n: usize) {
    s.create_pool("p", None);
    let v = s.append_jsonl("p", "", &jsonl_from_one(n));
    assert_eq!(v["appended"], n, "{v}");
}

fn jsonl_from_one(n: usize) -> String {
    (1..=n).map(|i| format!("{{\"i\":{i}}}\n")).collect()
}

#[track_caller]
fn assert_tail_error(s: &Served, path: &str, status: u16, kind: &str) -> Value {
    let r = s.get(path);
    assert_eq!(r.header("plasmite-version"), Some("0"));
    r.error(status, kind)
}

// ---------------------------------------------------------------------------------------------
// Where a tail starts and what ends it

#[test]
fn a_tail_without_since_seq_replays_from_the_oldest_message_and_ends_at_its_timeout() {
    let e = env("tail-oldest");
    let s = e.serve(&[]);
    numbered(&s, 3);
    let started = Instant::now();
    let mut t = s.open("/v0/pools/p/tail?timeout_ms=300", &[]);
    assert_eq!(t.status, 200);
    assert_eq!(t.header("content-type"), Some("application/jsonl"));
    assert_eq!(t.header("plasmite-version"), Some("0"));
    let got = jsonl_to_end(&mut t);
    let elapsed = started.elapsed();
    assert_eq!(seqs(&got), [1, 2, 3]);
    for (i, m) in got.iter().enumerate() {
        assert_envelope(m, i as u64 + 1, &json!({ "i": i + 1 }), &[]);
    }
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(5),
        "ends at its timeout: {elapsed:?}"
    );
}

#[test]
fn a_tail_that_receives_nothing_ends_with_200_and_an_empty_body_at_its_timeout() {
    let e = env("tail-empty");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    for path in [
        "/v0/pools/p/tail?timeout_ms=200",
        "/v0/ui/pools/p/events?timeout_ms=200",
        "/v0/pools/p/tail_lite3?timeout_ms=200",
    ] {
        let started = Instant::now();
        let mut t = s.open(path, &[]);
        assert_eq!(t.status, 200, "{path}");
        let body = t.rest();
        assert!(t.ended, "{path}: {:?}", t.broken);
        assert!(
            body.is_empty(),
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
        let elapsed = started.elapsed();
        assert!(
            elapsed >= Duration::from_millis(150) && elapsed < Duration::from_secs(5),
            "{path}: {elapsed:?}"
        );
    }
}

#[test]
fn the_server_limit_is_also_the_default_tail_timeout() {
    let e = env("tail-default-timeout");
    let s = e.serve(&["--max-tail-timeout-ms", "300"]);
    s.create_pool("p", None);
    let started = Instant::now();
    assert!(tail(&s, "/v0/pools/p/tail").is_empty());
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    let e400 = assert_tail_error(&s, "/v0/pools/p/tail?timeout_ms=301", 400, "Usage");
    assert_eq!(e400["message"], "tail timeout exceeds server limit");
    assert!(tail(&s, "/v0/pools/p/tail?timeout_ms=300").is_empty());
}

#[test]
fn since_seq_starts_at_that_seq_and_max_ends_the_tail_before_its_timeout() {
    let e = env("tail-since-max");
    let s = e.serve(&[]);
    numbered(&s, 5);
    let started = Instant::now();
    let got = tail(&s, "/v0/pools/p/tail?since_seq=2&max=2&timeout_ms=20000");
    assert_eq!(seqs(&got), [2, 3]);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "max ends it: {:?}",
        started.elapsed()
    );
    assert_eq!(
        seqs(&tail(&s, "/v0/pools/p/tail?since_seq=4&timeout_ms=200")),
        [4, 5]
    );
    // A since_seq before the oldest of an unwrapped pool starts at the oldest.
    assert_eq!(
        seqs(&tail(
            &s,
            "/v0/pools/p/tail?since_seq=0&max=1&timeout_ms=200"
        )),
        [1]
    );
    // A since_seq past the newest waits for it.
    assert!(tail(&s, "/v0/pools/p/tail?since_seq=9&timeout_ms=200").is_empty());
    // max=0 delivers nothing.
    assert!(tail(&s, "/v0/pools/p/tail?max=0&timeout_ms=200").is_empty());
}

#[test]
fn repeated_tags_must_all_be_present_and_commas_are_literal() {
    let e = env("tail-tags");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"n": 1}), &["a"]);
    s.append("p", &json!({"n": 2}), &["b"]);
    s.append("p", &json!({"n": 3}), &["a", "b"]);
    s.append("p", &json!({"n": 4}), &["a,b"]);
    s.append("p", &json!({"n": 5}), &["b", "c", "a"]);
    let q = |query: &str| {
        seqs(&tail(
            &s,
            &format!("/v0/pools/p/tail?timeout_ms=100&{query}"),
        ))
    };
    assert_eq!(q("tag=a"), [1, 3, 5]);
    assert_eq!(q("tag=a&tag=b"), [3, 5]);
    assert_eq!(q("tag=a&tag=b&tag=c"), [5]);
    assert_eq!(q("tag=a%2Cb"), [4]);
    assert_eq!(q("tag=+a+&tag="), [1, 3, 5], "trimmed, empties dropped");
    assert!(q("tag=z").is_empty());
    let ev: Vec<u64> = {
        let mut t = s.open("/v0/ui/pools/p/events?timeout_ms=100&tag=b&tag=a", &[]);
        events_to_end(&mut t).iter().filter_map(|e| e.id).collect()
    };
    assert_eq!(ev, [3, 5]);
}

#[test]
fn where_keeps_the_messages_its_predicates_match_and_a_bad_expression_is_400() {
    let e = env("tail-where");
    let s = e.serve(&[]);
    numbered(&s, 5);
    s.append("p", &json!({"i": 6, "level": "error"}), &["x"]);
    let q = |query: &str| {
        seqs(&tail(
            &s,
            &format!("/v0/pools/p/tail?timeout_ms=200&{query}"),
        ))
    };
    assert_eq!(q("where=.data.i+%3E+3"), [4, 5, 6]);
    assert_eq!(q("where=.data.i+%3E+1&where=.data.i+%3C+4"), [2, 3], "AND");
    assert_eq!(q("where=.data.level+%3D%3D+%22error%22"), [6]);
    assert_eq!(q("where=.seq+%3E%3D+5&max=1"), [5]);
    assert!(q("where=false").is_empty());
    // SSE and Lite³ tails filter the same way.
    let mut t = s.open(
        "/v0/ui/pools/p/events?timeout_ms=200&where=.data.i+%3E+4",
        &[],
    );
    let ids: Vec<u64> = events_to_end(&mut t).iter().filter_map(|e| e.id).collect();
    assert_eq!(ids, [5, 6]);
    let mut t = s.open(
        "/v0/pools/p/tail_lite3?timeout_ms=200&where=.data.i+%3C+3",
        &[],
    );
    let mut frames = Vec::new();
    while let Some(f) = t.frame() {
        frames.push(f.seq);
    }
    assert!(t.ended, "{:?}", t.broken);
    assert_eq!(frames, [1, 2]);
    // A bad expression is refused before the stream starts.
    for bad in [
        "where=.data.i+%3E%3E+3",
        "where=.data.(",
        "where=nosuchfn(1)",
    ] {
        for route in [
            "/v0/pools/p/tail",
            "/v0/ui/pools/p/events",
            "/v0/pools/p/tail_lite3",
        ] {
            let err = assert_tail_error(&s, &format!("{route}?timeout_ms=100&{bad}"), 400, "Usage");
            assert!(err["message"].is_string(), "{err}");
        }
    }
}

#[test]
fn last_n_starts_at_the_n_newest_messages_then_goes_live() {
    let e = env("tail-last");
    let s = e.serve(&[]);
    numbered(&s, 5);
    assert_eq!(
        seqs(&tail(&s, "/v0/pools/p/tail?last=2&timeout_ms=200")),
        [4, 5]
    );
    assert_eq!(
        seqs(&tail(&s, "/v0/pools/p/tail?last=50&timeout_ms=200")),
        [1, 2, 3, 4, 5]
    );
    assert!(tail(&s, "/v0/pools/p/tail?last=0&timeout_ms=200").is_empty());
    // With tags, the last N matching.
    s.append("p", &json!({"t": 1}), &["t"]);
    s.append("p", &json!({"u": 1}), &[]);
    s.append("p", &json!({"t": 2}), &["t"]);
    assert_eq!(
        seqs(&tail(&s, "/v0/pools/p/tail?last=1&tag=t&timeout_ms=200")),
        [8]
    );
    // Then live.
    let mut t = s.open("/v0/pools/p/tail?last=1&timeout_ms=5000&max=2", &[]);
    assert_eq!(t.json_line().expect("the newest")["seq"], 8);
    s.append("p", &json!({"live": true}), &[]);
    assert_eq!(seqs(&jsonl_to_end(&mut t)), [9]);
    // last and since_seq do not mix.
    assert_tail_error(&s, "/v0/pools/p/tail?last=1&since_seq=1", 400, "Usage");
}

// ---------------------------------------------------------------------------------------------
// Wrapped pools and gaps

#[test]
fn a_tail_without_since_seq_on_a_wrapped_pool_starts_at_the_oldest_retained_message_without_a_gap()
{
    let e = env("tail-wrapped");
    let s = e.serve(&[]);
    let (oldest, newest) = wrapped(&s, "w");
    let want: Vec<u64> = (oldest..=newest).collect();
    // JSON Lines, even under gap_policy=error: nothing was skipped.
    for q in ["timeout_ms=200", "timeout_ms=200&gap_policy=error"] {
        let got = tail(&s, &format!("/v0/pools/w/tail?{q}"));
        assert!(
            got.iter().all(|v| v.get("error").is_none()),
            "{q}: no error line"
        );
        assert_eq!(seqs(&got), want, "{q}");
    }
    // SSE: no gap event.
    let mut t = s.open("/v0/ui/pools/w/events?timeout_ms=200&gap_policy=error", &[]);
    let events = events_to_end(&mut t);
    assert!(
        events.iter().all(|e| e.event == "message"),
        "only messages: {:?}",
        events.iter().find(|e| e.event != "message")
    );
    let ids: Vec<u64> = events.iter().filter_map(|e| e.id).collect();
    assert_eq!(ids, want);
    // Lite³.
    let mut t = s.open("/v0/pools/w/tail_lite3?timeout_ms=200", &[]);
    let mut frames = Vec::new();
    while let Some(f) = t.frame() {
        frames.push(f.seq);
    }
    assert!(t.ended, "{:?}", t.broken);
    assert_eq!(frames, want);
}

#[test]
fn gap_policy_error_ends_a_jsonl_tail_from_an_evicted_seq_with_a_retention_gap_line() {
    let e = env("tail-gap-jsonl");
    let s = e.serve(&[]);
    let (oldest, newest) = wrapped(&s, "w");
    let got = tail(
        &s,
        "/v0/pools/w/tail?since_seq=2&gap_policy=error&timeout_ms=5000",
    );
    assert_eq!(got.len(), 1, "only the error line: {got:?}");
    let err = &got[0];
    assert_eq!(keys(err), ["error"], "{err}");
    assert_eq!(err["error"]["kind"], "RetentionGap", "{err}");
    assert_eq!(err["error"]["seq"], 2, "seq is the first missing: {err}");
    assert!(err["error"]["message"].is_string(), "{err}");
    // gap_policy=continue (the default) goes on from the oldest retained message.
    for q in ["", "&gap_policy=continue"] {
        let got = tail(
            &s,
            &format!("/v0/pools/w/tail?since_seq=2&timeout_ms=200{q}"),
        );
        assert_eq!(seqs(&got), (oldest..=newest).collect::<Vec<_>>(), "{q}");
    }
    // A since_seq still retained has no gap.
    let got = tail(
        &s,
        &format!("/v0/pools/w/tail?since_seq={oldest}&gap_policy=error&max=2&timeout_ms=200"),
    );
    assert_eq!(seqs(&got), [oldest, oldest + 1]);
    assert_tail_error(&s, "/v0/pools/w/tail?gap_policy=sometimes", 400, "Usage");
}

#[test]
fn gap_policy_error_ends_an_sse_tail_from_an_evicted_seq_with_an_error_event() {
    let e = env("tail-gap-sse");
    let s = e.serve(&[]);
    wrapped(&s, "w");
    let mut t = s.open(
        "/v0/ui/pools/w/events?since_seq=3&gap_policy=error&timeout_ms=5000",
        &[],
    );
    let events = events_to_end(&mut t);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0].event, "error");
    let v = events[0].json();
    assert_eq!(v["error"]["kind"], "RetentionGap", "{v}");
    assert_eq!(v["error"]["seq"], 3, "{v}");
}

#[test]
fn a_tail_with_where_reports_gaps_like_one_without() {
    let e = env("tail-gap-where");
    let s = e.serve(&[]);
    let (oldest, newest) = wrapped(&s, "w");
    let w = "where=.data.i+%3E+0";
    // No since_seq: the oldest retained, no gap.
    let got = tail(
        &s,
        &format!("/v0/pools/w/tail?timeout_ms=200&gap_policy=error&{w}"),
    );
    assert_eq!(seqs(&got), (oldest..=newest).collect::<Vec<_>>());
    // From an evicted seq under gap_policy=error: the error line.
    let got = tail(
        &s,
        &format!("/v0/pools/w/tail?since_seq=2&gap_policy=error&timeout_ms=5000&{w}"),
    );
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0]["error"]["kind"], "RetentionGap", "{got:?}");
    assert_eq!(got[0]["error"]["seq"], 2, "{got:?}");
    // SSE resuming past an eviction: the gap event, then the retained messages.
    let mut t = s.open(
        &format!("/v0/ui/pools/w/events?timeout_ms=200&{w}"),
        &[("last-event-id", "5")],
    );
    let events = events_to_end(&mut t);
    assert_eq!(events[0].event, "gap", "{:?}", events[0]);
    assert_eq!(
        events[0].json(),
        json!({"count": oldest - 6, "first_missing": 6})
    );
    assert_eq!(events[1].id, Some(oldest));
    // last=N counts matching messages.
    let even = "where=.data.i+%25+2+%3D%3D+0";
    let got = tail(
        &s,
        &format!("/v0/pools/w/tail?last=3&timeout_ms=200&{even}"),
    );
    assert_eq!(seqs(&got), [newest - 4, newest - 2, newest]);
}

#[test]
fn a_lite3_tail_refuses_gap_policy_error() {
    let e = env("tail-lite3-gap");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    assert_tail_error(&s, "/v0/pools/p/tail_lite3?gap_policy=error", 400, "Usage");
    assert_eq!(
        s.get("/v0/pools/p/tail_lite3?gap_policy=continue&timeout_ms=50")
            .status,
        200
    );
}

// ---------------------------------------------------------------------------------------------
// Live delivery

#[test]
fn a_live_tail_of_every_format_gets_a_message_appended_after_it_started_promptly() {
    let e = env("tail-live");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"old": true}), &[]);
    let mut jsonl = s.open("/v0/pools/p/tail?since_seq=2&timeout_ms=10000", &[]);
    let mut sse = s.open("/v0/ui/pools/p/events?since_seq=2&timeout_ms=10000", &[]);
    let mut lite3 = s.open("/v0/pools/p/tail_lite3?since_seq=2&timeout_ms=10000", &[]);
    for t in [&jsonl, &sse, &lite3] {
        assert_eq!(t.status, 200);
    }
    // The tails are parked on the pool; a message wakes them.
    std::thread::sleep(Duration::from_millis(100));
    for round in 0..3u64 {
        let sent = Instant::now();
        let m = s.append("p", &json!({ "round": round }), &["live"]);
        let seq = m["seq"].as_u64().expect("seq");
        let got = jsonl.json_line().expect("JSON Lines message");
        assert_eq!(got, m, "the tail prints what append answered");
        let ev = sse.event().expect("SSE message");
        assert_eq!(ev.id, Some(seq));
        assert_eq!(ev.json(), m);
        let f = lite3.frame().expect("Lite³ frame");
        assert_eq!(f.seq, seq);
        let latency = sent.elapsed();
        eprintln!("round {round}: delivered to three tails in {latency:?}");
        assert!(latency < Duration::from_secs(2), "{latency:?}");
    }
}

#[test]
fn a_live_tail_gets_messages_appended_by_another_process() {
    let e = env("tail-live-cli");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    let mut t = s.open("/v0/pools/p/tail?timeout_ms=10000&max=2", &[]);
    assert_eq!(t.status, 200);
    std::thread::sleep(Duration::from_millis(100));
    let sent = Instant::now();
    e.feed("p", r#"{"from":"cli"}"#, &["c"]);
    let got = t.json_line().expect("message");
    assert_envelope(&got, 1, &json!({"from": "cli"}), &["c"]);
    let latency = sent.elapsed();
    eprintln!("a CLI append reached the tail in {latency:?}");
    assert!(latency < Duration::from_secs(3), "{latency:?}");
}

// ---------------------------------------------------------------------------------------------
// Server-sent events

#[test]
fn sse_events_carry_their_seq_as_id_and_the_envelope_as_data() {
    let e = env("tail-sse");
    let s = e.serve(&[]);
    numbered(&s, 3);
    let mut t = s.open("/v0/ui/pools/p/events?timeout_ms=200", &[]);
    assert_eq!(t.status, 200);
    assert_eq!(t.header("content-type"), Some("text/event-stream"));
    assert_eq!(t.header("cache-control"), Some("no-cache, no-transform"));
    assert_eq!(t.header("plasmite-version"), Some("0"));
    let events = events_to_end(&mut t);
    assert_eq!(events.len(), 3, "{events:?}");
    for (i, ev) in events.iter().enumerate() {
        let seq = i as u64 + 1;
        assert_eq!(ev.event, "message");
        assert_eq!(ev.id, Some(seq));
        assert_envelope(&ev.json(), seq, &json!({ "i": seq }), &[]);
    }
}

#[test]
fn an_sse_reconnect_with_last_event_id_resumes_right_after_it() {
    let e = env("tail-sse-resume");
    let s = e.serve(&[]);
    numbered(&s, 5);
    let ids = |headers: &[(&str, &str)], query: &str| -> Vec<u64> {
        let mut t = s.open(
            &format!("/v0/ui/pools/p/events?timeout_ms=200{query}"),
            headers,
        );
        assert_eq!(t.status, 200);
        events_to_end(&mut t).iter().filter_map(|e| e.id).collect()
    };
    assert_eq!(ids(&[("last-event-id", "2")], ""), [3, 4, 5]);
    assert_eq!(ids(&[("last-event-id", " 4 ")], ""), [5]);
    assert!(ids(&[("last-event-id", "5")], "").is_empty());
    // The header wins over since_seq: it is where the client really is.
    assert_eq!(ids(&[("last-event-id", "3")], "&since_seq=1"), [4, 5]);
    // Then live.
    let mut t = s.open(
        "/v0/ui/pools/p/events?timeout_ms=5000&max=2",
        &[("last-event-id", "4")],
    );
    assert_eq!(t.event().expect("event").id, Some(5));
    s.append("p", &json!({"i": 6}), &[]);
    assert_eq!(t.event().expect("event").id, Some(6));
    assert_tail_error_with(&s, "/v0/ui/pools/p/events", &[("last-event-id", "x")]);
}

#[track_caller]
fn assert_tail_error_with(s: &Served, path: &str, headers: &[(&str, &str)]) {
    let r = s.request("GET", path, headers, b"");
    r.error(400, "Usage");
}

#[test]
fn an_sse_reconnect_after_the_pool_wrapped_past_its_id_gets_a_gap_event_first() {
    let e = env("tail-sse-gap");
    let s = e.serve(&[]);
    let (oldest, newest) = wrapped(&s, "w");
    let mut t = s.open(
        "/v0/ui/pools/w/events?timeout_ms=200",
        &[("last-event-id", "5")],
    );
    let events = events_to_end(&mut t);
    assert_eq!(events[0].event, "gap", "{:?}", events[0]);
    assert_eq!(
        events[0].json(),
        json!({"count": oldest - 6, "first_missing": 6}),
        "the gap covers 6 to the oldest retained"
    );
    let ids: Vec<u64> = events[1..].iter().filter_map(|e| e.id).collect();
    assert_eq!(ids, (oldest..=newest).collect::<Vec<_>>());
    assert!(events[1..].iter().all(|e| e.event == "message"));
}

// ---------------------------------------------------------------------------------------------
// Lite³ frames

#[test]
fn lite3_tail_frames_carry_the_seqs_times_and_payloads_of_the_stored_messages() {
    let e = env("tail-lite3");
    let s = e.serve(&[]);
    s.create_pool("p", None);
    s.append("p", &json!({"a": 1}), &["x"]);
    s.append("p", &json!({"b": "two", "n": [1, 2, 3]}), &[]);
    s.append("p", &json!({"c": {"deep": true}}), &["y", "z"]);
    let mut t = s.open("/v0/pools/p/tail_lite3?timeout_ms=200", &[]);
    assert_eq!(t.status, 200);
    assert_eq!(
        t.header("content-type"),
        Some("application/x-plasmite-lite3-stream")
    );
    let mut frames = Vec::new();
    while let Some(f) = t.frame() {
        frames.push(f);
    }
    assert!(t.ended, "{:?}", t.broken);
    assert!(t.leftover().is_empty(), "no partial frame");
    assert_eq!(frames.iter().map(|f| f.seq).collect::<Vec<_>>(), [1, 2, 3]);
    for f in &frames {
        let r = s.get(&format!("/v0/pools/p/messages/{}/lite3", f.seq));
        assert_eq!(f.payload, r.body, "seq {}", f.seq);
        assert_eq!(
            r.header("plasmite-time-ns").map(str::to_owned),
            Some(f.timestamp_ns.to_string()),
            "seq {}",
            f.seq
        );
    }
    // The JSON Lines tail lists the same messages.
    let jsonl = tail(&s, "/v0/pools/p/tail?timeout_ms=100");
    assert_eq!(seqs(&jsonl), [1, 2, 3]);
    // since_seq, max and tags apply.
    let mut t = s.open(
        "/v0/pools/p/tail_lite3?since_seq=2&max=1&timeout_ms=5000",
        &[],
    );
    assert_eq!(t.frame().map(|f| f.seq), Some(2));
    assert!(t.frame().is_none() && t.ended);
    let mut t = s.open("/v0/pools/p/tail_lite3?tag=z&timeout_ms=100", &[]);
    assert_eq!(t.frame().map(|f| f.seq), Some(3));
    assert!(t.frame().is_none() && t.ended);
}

// ---------------------------------------------------------------------------------------------
// Parameters and limits

#[test]
fn tail_parameters_are_checked_before_the_stream_starts() {
    let e = env("tail-params");
    let s = e.serve(&["--max-tail-timeout-ms", "1000"]);
    s.create_pool("p", None);
    for route in [
        "/v0/pools/p/tail",
        "/v0/ui/pools/p/events",
        "/v0/pools/p/tail_lite3",
    ] {
        let err = assert_tail_error(&s, &format!("{route}?timeout_ms=1001"), 400, "Usage");
        assert_eq!(
            err["message"], "tail timeout exceeds server limit",
            "{route}"
        );
        for bad in [
            "since_seq=x",
            "since_seq=-1",
            "max=many",
            "timeout_ms=1s",
            "last=x",
            "since_seq=1&last=1",
            "tag=%zz",
        ] {
            assert_tail_error(&s, &format!("{route}?{bad}"), 400, "Usage");
        }
        assert_tail_error(
            &s,
            &route.replace("/p/", "/nope/").to_string(),
            404,
            "NotFound",
        );
    }
}

#[test]
fn a_tail_beyond_max_tail_concurrency_is_refused_with_423_busy() {
    let e = env("tail-busy");
    let s = e.serve(&["--max-tail-concurrency", "1"]);
    s.create_pool("p", None);
    let mut first = s.open("/v0/pools/p/tail?timeout_ms=1500", &[]);
    assert_eq!(first.status, 200);
    for route in [
        "/v0/pools/p/tail",
        "/v0/ui/pools/p/events",
        "/v0/pools/p/tail_lite3",
    ] {
        let err = assert_tail_error(&s, &format!("{route}?timeout_ms=100"), 423, "Busy");
        assert_eq!(
            err["message"], "too many concurrent tail requests",
            "{route}"
        );
    }
    // Ordinary requests are not tails.
    assert_eq!(s.get("/v0/pools/p/info").status, 200);
    assert_eq!(s.append("p", &json!({"x": 1}), &[])["seq"], 1);
    // Once the first tail ends, its place is free again.
    assert_eq!(seqs(&jsonl_to_end(&mut first)), [1]);
    let started = Instant::now();
    loop {
        let r = s.get("/v0/pools/p/tail?timeout_ms=50");
        if r.status == 200 {
            break;
        }
        assert_eq!(r.status, 423, "{}", r.text());
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "the ended tail's place was not released"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Waits until a new tail is admitted; how long that took.
fn until_a_tail_is_admitted(s: &Served, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let r = s.get("/v0/pools/p/tail?timeout_ms=20");
        if r.status == 200 {
            return started.elapsed();
        }
        assert_eq!(r.status, 423, "{}", r.text());
        assert!(
            started.elapsed() < limit,
            "the tail's place was not released within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_client_that_disconnects_mid_tail_releases_its_place_among_the_tails() {
    let e = env("tail-disconnect");
    let s = e.serve(&["--max-tail-concurrency", "1"]);
    numbered(&s, 3);
    for path in [
        // Idle: waiting for a message that never comes.
        "/v0/pools/p/tail?since_seq=100&timeout_ms=30000",
        "/v0/ui/pools/p/events?since_seq=100&timeout_ms=30000",
        // Mid-stream: one message read, then gone.
        "/v0/pools/p/tail?timeout_ms=30000",
        "/v0/pools/p/tail_lite3?timeout_ms=30000",
        // With an evaluator running for `where`.
        "/v0/pools/p/tail?timeout_ms=30000&where=.data.i+%3E+100",
    ] {
        let mut t = s.open(path, &[]);
        assert_eq!(t.status, 200, "{path}");
        if !path.contains("since_seq") && !path.contains("where") {
            let _ = t.fill();
        }
        assert_eq!(
            s.get("/v0/pools/p/tail?timeout_ms=20").status,
            423,
            "{path}: the tail holds the only place"
        );
        drop(t);
        let took = until_a_tail_is_admitted(&s, Duration::from_secs(3));
        eprintln!("{path}: place released {took:?} after the client left");
    }
}

// ---------------------------------------------------------------------------------------------
// Shutdown and slow clients

#[test]
fn sigterm_ends_100_open_tails_cleanly_and_the_server_exits_0_promptly() {
    let e = env("tail-sigterm");
    let mut s = e.serve(&["--max-tail-concurrency", "128"]);
    numbered(&s, 2);
    let mut tails: Vec<Streamed> = (0..100)
        .map(|i| {
            let path = match i % 4 {
                0 => "/v0/pools/p/tail?timeout_ms=30000",
                1 => "/v0/ui/pools/p/events?timeout_ms=30000",
                2 => "/v0/pools/p/tail_lite3?timeout_ms=30000",
                // An evaluator runs these: it must stop too.
                _ => "/v0/pools/p/tail?timeout_ms=30000&where=.data.i+%3E%3D+1",
            };
            let t = s.open(path, &[]);
            assert_eq!(t.status, 200, "tail {i}");
            t
        })
        .collect();
    // Every tail got its history: they are all live and parked.
    for t in &mut tails {
        assert!(matches!(t.fill(), common::serve::Fill::Data));
    }
    let started = Instant::now();
    s.terminate();
    let status = s.wait_exit(Duration::from_secs(15));
    let took = started.elapsed();
    eprintln!("with 100 open tails, SIGTERM to exit took {took:?}");
    let status = status.unwrap_or_else(|| panic!("still running after {took:?}:\n{}", s.log()));
    assert_eq!(status.code(), Some(0), "{}", s.log());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    for (i, t) in tails.iter_mut().enumerate() {
        t.set_timeout(Duration::from_secs(5));
        t.rest();
        assert!(
            t.ended,
            "tail {i} ended with the chunked terminator: {:?}",
            t.broken
        );
    }
}

#[test]
fn a_client_that_never_reads_its_tail_keeps_the_server_small_and_responsive() {
    let e = env("tail-slow-client");
    let s = e.serve(&[]);
    s.create_pool("p", Some(4 << 20));
    // Opened and never read: the server can send only what the socket buffers hold.
    let stalled = s.send("GET", "/v0/pools/p/tail?timeout_ms=30000", &[], b"");
    let also = s.open("/v0/ui/pools/p/events?timeout_ms=30000", &[]);
    assert_eq!(also.status, 200);
    let baseline = s.rss_kib();
    let pad = "y".repeat(1000);
    let batch: String = (0..500)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{pad}\"}}\n"))
        .collect();
    let mut peak = baseline;
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let v = s.append_jsonl("p", "", &batch);
        assert_eq!(v["appended"], 500, "{v}");
        let asked = Instant::now();
        let r = s.get("/v0/pools/p/info");
        assert_eq!(r.status, 200);
        slowest = slowest.max(asked.elapsed());
        peak = peak.max(s.rss_kib());
    }
    eprintln!(
        "20000 messages of 1 KB past two stalled tails: RSS {baseline} KiB -> peak {peak} KiB, \
         slowest info {slowest:?}"
    );
    assert!(peak < 100 * 1024, "RSS grew to {peak} KiB");
    assert!(slowest < Duration::from_secs(2), "{slowest:?}");
    assert_eq!(s.get("/healthz").status, 200);
    // The stalled tail is still alive and picks up where the socket let it.
    let mut t = Streamed::new(stalled);
    assert_eq!(t.status, 200);
    let first = t.json_line().expect("a message");
    assert!(first["seq"].is_u64(), "{first}");
    drop(t);
    drop(also);
}

/// The first line a `curl` child prints (its tail's first message, once the tail is live).
fn first_line(
    child: &mut std::process::Child,
) -> (Value, std::io::BufReader<std::process::ChildStdout>) {
    use std::io::BufRead;
    let mut r = std::io::BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    r.read_line(&mut line).expect("curl output");
    let v: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("curl's first line is not a message ({e}): {line:?}"));
    assert!(v["seq"].is_u64(), "curl's tail did not start: {v}");
    (v, r)
}

#[test]
fn an_h2c_tail_is_released_when_its_client_goes_and_ends_cleanly_at_sigterm() {
    use std::io::Read;
    use std::process::Stdio;
    let e = env("tail-h2c");
    let mut s = e.serve(&["--max-tail-concurrency", "1"]);
    s.create_pool("p", None);
    let m1 = s.append("p", &json!({"over": "h2", "n": 1}), &[]);
    let url = s.url("/v0/pools/p/tail?timeout_ms=30000");
    let Some(mut c) = common::serve::curl() else {
        eprintln!("curl is missing: skipped");
        return;
    };
    // (With one place, the tails and the storage operations each admit one at a time: the
    // requests below are made one after another, never beside curl's.)
    let mut first = c
        .args(["--no-buffer", "--http2-prior-knowledge", &url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl starts");
    assert_eq!(first_line(&mut first).0, m1);
    assert_eq!(s.get("/v0/pools/p/tail?timeout_ms=1").status, 423);
    first.kill().expect("kill curl");
    let _ = first.wait();
    let took = until_a_tail_is_admitted(&s, Duration::from_secs(3));
    eprintln!("h2c: place released {took:?} after the client left");

    let mut c = common::serve::curl().expect("curl");
    let mut second = c
        .args([
            "--no-buffer",
            "--http2-prior-knowledge",
            "-w",
            "\n%{http_code} %{http_version}",
            &url,
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("curl starts");
    let (got, mut rest) = first_line(&mut second);
    assert_eq!(got, m1);
    let m2 = s.append("p", &json!({"over": "h2", "n": 2}), &[]);
    std::thread::sleep(Duration::from_millis(100));
    s.terminate();
    let mut text = String::new();
    rest.read_to_string(&mut text).expect("curl output");
    let status = second.wait().expect("curl ends");
    assert!(status.success(), "curl saw a clean end: {status:?} {text}");
    let mut lines = text.lines().filter(|l| !l.is_empty());
    let got: Value = serde_json::from_str(lines.next().unwrap_or("")).expect("the message");
    assert_eq!(got, m2);
    assert_eq!(lines.next(), Some("200 2"), "{text}");
    let status = s.wait_exit(Duration::from_secs(10)).expect("server exits");
    assert_eq!(status.code(), Some(0), "{}", s.log());
}

#[test]
fn sigterm_with_a_client_that_never_reads_still_exits_0_once_the_drain_period_is_over() {
    let e = env("tail-sigterm-stalled");
    let mut s = e.serve(&[]);
    s.create_pool("p", Some(4 << 20));
    let stalled = s.send("GET", "/v0/pools/p/tail?timeout_ms=30000", &[], b"");
    let pad = "y".repeat(1000);
    let batch: String = (0..500)
        .map(|i| format!("{{\"i\":{i},\"pad\":\"{pad}\"}}\n"))
        .collect();
    for _ in 0..20 {
        s.append_jsonl("p", "", &batch);
    }
    let started = Instant::now();
    s.terminate();
    let status = s.wait_exit(Duration::from_secs(20));
    let took = started.elapsed();
    eprintln!("with a stalled tail, SIGTERM to exit took {took:?}");
    let status = status.unwrap_or_else(|| panic!("still running after {took:?}:\n{}", s.log()));
    assert_eq!(status.code(), Some(0), "{}", s.log());
    // The drain period is 10 s; a response that cannot be written is cut after it.
    assert!(took < Duration::from_secs(14), "took {took:?}");
    drop(stalled);
}
