//! Black-box tests of `pls tap POOL -- CMD…`: the wrapped programs are small `sh` scripts; what
//! tap stored is read back with `pls follow --tail … --timeout`.
//!
//! Contract: `spec/CLI.md` §2.11.
//!
//! Nothing here can hang: every child runs under the harness's hard deadline, every `follow`
//! has `--timeout`, and every wait on a condition is bounded.

mod common;

use common::*;

use serde_json::{Value, json};
use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

/// Every message in `pool`, oldest first.
#[track_caller]
fn messages(e: &Env, pool: &str) -> Vec<Value> {
    e.pls(&[
        "follow",
        pool,
        "--tail",
        "100000",
        "--jsonl",
        "--timeout",
        "200ms",
    ])
    .code(124)
    .json_lines()
}

/// `pls --dir DIR tap ARGS…`.
fn tap(e: &Env, args: &[&str]) -> Out {
    let mut all = vec!["tap"];
    all.extend_from_slice(args);
    e.pls(&all)
}

/// The `data` of each line message, per stream.
fn lines_of(msgs: &[Value], stream: &str) -> Vec<String> {
    msgs.iter()
        .filter(|m| m["data"]["kind"] == "line" && m["data"]["stream"] == stream)
        .map(|m| m["data"]["line"].as_str().unwrap().to_owned())
        .collect()
}

/// Checks the first and last messages are the lifecycle pair; returns the exit message's data.
#[track_caller]
fn lifecycle(msgs: &[Value], cmd: &[&str]) -> Value {
    let first = msgs.first().expect("a start message");
    assert_eq!(
        first["data"],
        json!({"kind": "start", "cmd": cmd}),
        "{first}"
    );
    assert_eq!(first["meta"]["tags"], json!(["lifecycle"]), "{first}");
    let last = msgs.last().unwrap();
    assert_eq!(last["data"]["kind"], "exit", "{last}");
    assert_eq!(last["meta"]["tags"], json!(["lifecycle"]), "{last}");
    assert!(last["data"]["elapsed_ms"].is_u64(), "{last}");
    last["data"].clone()
}

/// Waits (bounded) until `pool` holds a message that satisfies `pred`.
#[track_caller]
fn wait_for(e: &Env, pool: &str, pred: impl Fn(&Value) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(10) {
        if e.path(pool).exists() && messages(e, pool).iter().any(&pred) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("no such message in {pool} within 10s");
}

const BOTH: &str = "echo o1; echo e1 >&2; echo o2; echo e2 >&2; echo o3";

#[test]
fn both_streams_are_captured_in_order_and_passed_through() {
    let e = env("tap_both");
    let cmd = ["sh", "-c", BOTH];
    let out = tap(
        &e,
        &[
            "p", "--create", "--tag", "build", "--tag", "ci", "--", cmd[0], cmd[1], cmd[2],
        ],
    );
    out.code(0);
    assert_eq!(out.stdout, "o1\no2\no3\n", "{}", out.show());
    assert_eq!(out.stderr, "e1\ne2\n", "{}", out.show());
    let msgs = messages(&e, "p");
    assert_eq!(msgs.len(), 7, "{msgs:?}");
    assert_eq!(
        lifecycle(&msgs, &cmd),
        json!({"kind": "exit", "code": 0,
        "elapsed_ms": msgs[6]["data"]["elapsed_ms"]})
    );
    assert_eq!(lines_of(&msgs, "stdout"), ["o1", "o2", "o3"]);
    assert_eq!(lines_of(&msgs, "stderr"), ["e1", "e2"]);
    for m in &msgs[1..6] {
        assert_eq!(m["meta"]["tags"], json!(["build", "ci"]), "{m}");
        assert_eq!(keys(&m["data"]), ["kind", "line", "stream"], "{m}");
    }
    assert_eq!(seqs(&msgs), (1..=7).collect::<Vec<u64>>());
}

#[test]
fn quiet_passes_nothing_through_but_captures_everything() {
    let e = env("tap_quiet");
    let out = tap(&e, &["p", "--create", "-q", "--", "sh", "-c", BOTH]);
    out.code(0);
    assert_eq!(out.stdout, "", "{}", out.show());
    assert_eq!(out.stderr, "", "{}", out.show());
    let msgs = messages(&e, "p");
    assert_eq!(lines_of(&msgs, "stdout"), ["o1", "o2", "o3"]);
    assert_eq!(lines_of(&msgs, "stderr"), ["e1", "e2"]);
}

#[test]
fn nonzero_exit_code_becomes_taps_exit_code_and_is_recorded() {
    let e = env("tap_exit_code");
    tap(&e, &["p", "--create", "--", "sh", "-c", "echo bye; exit 7"]).code(7);
    let msgs = messages(&e, "p");
    let exit = lifecycle(&msgs, &["sh", "-c", "echo bye; exit 7"]);
    assert_eq!(exit["code"], 7);
    assert_eq!(keys(&exit), ["code", "elapsed_ms", "kind"]);
}

#[test]
fn command_killed_by_a_signal_exits_128_plus_signal_and_records_its_name() {
    let e = env("tap_killed");
    let script = "echo before; kill -TERM $$";
    tap(&e, &["p", "--create", "--", "sh", "-c", script]).code(143);
    let msgs = messages(&e, "p");
    let exit = lifecycle(&msgs, &["sh", "-c", script]);
    assert_eq!(exit["signal"], "SIGTERM");
    assert_eq!(keys(&exit), ["elapsed_ms", "kind", "signal"]);
    assert_eq!(lines_of(&msgs, "stdout"), ["before"]);
}

#[test]
fn sigterm_sent_to_tap_is_forwarded_to_the_command() {
    let e = env("tap_forward");
    let script = "echo ready; exec sleep 30";
    let (child, started) = spawn(
        e.cmd(&["tap", "p", "--create", "--", "sh", "-c", script]),
        false,
    );
    let pid = child.id().to_string();
    wait_for(&e, "p", |m| m["data"]["line"] == "ready");
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let out = finish(child, None, "tap … sleep".to_owned(), started);
    out.code(143);
    assert!(out.elapsed < Duration::from_secs(15), "{}", out.show());
    let msgs = messages(&e, "p");
    let exit = lifecycle(&msgs, &["sh", "-c", script]);
    assert_eq!(exit["signal"], "SIGTERM", "{msgs:?}");
}

#[test]
fn lines_reach_the_pool_while_the_command_runs() {
    let e = env("tap_live");
    std::fs::create_dir_all(&e.root).unwrap();
    let flag = e.root.join("go");
    let script = format!(
        "echo first; while [ ! -e {} ]; do sleep 0.02; done; echo second",
        sh_quote(flag.to_str().unwrap())
    );
    let (child, started) = spawn(
        e.cmd(&["tap", "p", "--create", "--", "sh", "-c", &script]),
        false,
    );
    // The command cannot end before the flag exists, so "first" was stored while it ran.
    wait_for(&e, "p", |m| m["data"]["line"] == "first");
    let msgs = messages(&e, "p");
    assert!(msgs.iter().all(|m| m["data"]["kind"] != "exit"), "{msgs:?}");
    std::fs::write(&flag, b"").unwrap();
    finish(child, None, "tap live".to_owned(), started).code(0);
    assert_eq!(lines_of(&messages(&e, "p"), "stdout"), ["first", "second"]);
}

#[test]
fn one_mib_line_is_stored_exactly_as_printed() {
    let e = env("tap_long_line");
    std::fs::create_dir_all(&e.root).unwrap();
    let line: String = (0..1 << 20)
        .map(|i: u32| char::from(b'!' + (i % 90) as u8))
        .collect();
    let file = e.root.join("line.txt");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let out = tap(
        &e,
        &[
            "p",
            "--create",
            "--create-size",
            "8M",
            "--quiet",
            "--",
            "cat",
            file.to_str().unwrap(),
        ],
    );
    out.code(0);
    let stored = lines_of(&messages(&e, "p"), "stdout");
    assert_eq!(stored.len(), 1);
    assert!(stored[0] == line, "stored {} bytes", stored[0].len());
}

#[test]
fn unterminated_last_line_is_captured_whole() {
    let e = env("tap_unterminated");
    let out = tap(
        &e,
        &[
            "p",
            "--create",
            "--",
            "sh",
            "-c",
            "printf 'a\\r\\nlast line'",
        ],
    );
    out.code(0);
    assert_eq!(out.stdout, "a\r\nlast line", "passthrough is byte for byte");
    assert_eq!(lines_of(&messages(&e, "p"), "stdout"), ["a", "last line"]);
}

#[test]
fn invalid_utf8_is_stored_lossily_and_passed_through_unchanged() {
    let e = env("tap_lossy");
    std::fs::create_dir_all(&e.root).unwrap();
    let file = e.root.join("out.bin");
    // tap's stdout goes to a file so the raw bytes can be compared.
    let mut c = Command::new("sh");
    c.args([
        "-c",
        r#""$0" --dir "$1" tap p --create -- printf 'ok\377bad\nnext\n' > "$2""#,
        PLS,
        e.dir_str(),
        file.to_str().unwrap(),
    ]);
    run(c, None).code(0);
    assert_eq!(std::fs::read(&file).unwrap(), b"ok\xffbad\nnext\n");
    assert_eq!(
        lines_of(&messages(&e, "p"), "stdout"),
        ["ok\u{fffd}bad", "next"]
    );
}

#[test]
fn oversized_line_is_split_into_ordered_parts_of_the_original() {
    let e = env("tap_split");
    std::fs::create_dir_all(&e.root).unwrap();
    // 200 KB of 1- to 4-byte characters into a 64 KiB pool: at least four parts.
    let line: String = "ab€é😀".repeat(200_000 / 11);
    let file = e.root.join("big.txt");
    std::fs::write(&file, format!("{line}\n")).unwrap();
    let out = tap(
        &e,
        &[
            "p",
            "--create",
            "--create-size",
            "64K",
            "--quiet",
            "--",
            "cat",
            file.to_str().unwrap(),
        ],
    );
    out.code(0);
    // The ring holds less than the line, so only the newest parts are still there: they must
    // be consecutive, end with part == parts, and spell the end of the line.
    let msgs = messages(&e, "p");
    let parts: Vec<&Value> = msgs
        .iter()
        .filter(|m| m["data"]["kind"] == "line")
        .map(|m| &m["data"])
        .collect();
    assert!(!parts.is_empty(), "{msgs:?}");
    let n = parts[0]["parts"].as_u64().unwrap();
    assert!(n >= 4, "{n} parts");
    let last = parts.last().unwrap();
    assert_eq!(last["part"], n);
    let mut tail = String::new();
    for (i, p) in parts.iter().enumerate() {
        assert_eq!(p["parts"], n);
        assert_eq!(p["part"], n - (parts.len() - 1 - i) as u64, "{p}");
        assert_eq!(p["stream"], "stdout");
        tail.push_str(p["line"].as_str().unwrap());
    }
    assert!(line.ends_with(&tail), "the parts are the end of the line");
    let exit = &msgs.last().unwrap()["data"];
    assert_eq!((&exit["kind"], &exit["code"]), (&json!("exit"), &json!(0)));
}

#[test]
fn missing_program_is_a_usage_error_and_appends_nothing() {
    let e = env("tap_missing");
    e.create("p", "1M");
    let out = tap(&e, &["p", "--", "no-such-program-for-tap"]);
    let err = out.fails(2, "Usage");
    assert!(str_of(&err, "message").contains("command not found: no-such-program-for-tap"));
    assert!(str_of(&err, "hint").contains("PATH"));
    assert!(messages(&e, "p").is_empty());
}

#[test]
fn program_that_is_not_executable_is_refused_and_appends_nothing() {
    let e = env("tap_not_exec");
    e.create("p", "1M");
    let file = e.root.join("script.sh");
    std::fs::write(&file, "echo hi\n").unwrap();
    let out = tap(&e, &["p", "--", file.to_str().unwrap()]);
    let err = out.fails(6, "Permission");
    assert!(str_of(&err, "message").contains("not executable"));
    assert!(messages(&e, "p").is_empty());
}

#[test]
fn create_size_without_create_is_a_usage_error() {
    let e = env("tap_create_size");
    let out = tap(&e, &["p", "--create-size", "1M", "--", "true"]);
    let err = out.fails(2, "Usage");
    assert!(str_of(&err, "message").contains("--create-size requires --create"));
    assert!(!e.path("p").exists());
}

#[test]
fn missing_pool_hint_puts_create_before_the_command() {
    let e = env("tap_missing_pool");
    let out = tap(&e, &["p", "--", "echo", "hi"]);
    let err = out.fails(3, "NotFound");
    assert!(
        str_of(&err, "hint").ends_with("tap p --create -- echo hi"),
        "{err:?}"
    );
}

#[test]
fn closed_stdout_stops_passthrough_but_not_the_capture() {
    let e = env("tap_epipe");
    // More output than a pipe holds, so tap writes after `head` has gone.
    let mut c = Command::new("sh");
    c.args([
        "-c",
        r#"{ "$0" --dir "$1" tap p --create --create-size 32M -- seq 1 20000; echo "tap exit $?" >&2; } | head -n 1"#,
        PLS,
        e.dir_str(),
    ]);
    let out = run(c, None);
    out.code(0);
    assert_eq!(out.stdout, "1\n");
    // tap's own exit code (the pipeline's is head's): the closed pipe is not an error.
    assert!(out.stderr.contains("tap exit 0"), "{}", out.show());
    let msgs = messages(&e, "p");
    let lines = lines_of(&msgs, "stdout");
    assert_eq!(lines.len(), 20_000);
    assert_eq!(lines.last().unwrap(), "20000");
    assert_eq!(lifecycle(&msgs, &["seq", "1", "20000"])["code"], 0);
}

#[test]
fn terminal_shows_tapping_and_tapped_lines() {
    let e = env("tap_tty");
    let out = e.tty(
        &["tap", "p", "--create", "--", "sh", "-c", "echo hi; exit 3"],
        &[],
    );
    out.code(3);
    let text = &out.stdout;
    assert!(
        text.contains("tapping p <- sh -c echo hi; exit 3\n"),
        "{text}"
    );
    assert!(text.contains("hi\n"), "{text}");
    let end = text.lines().last().unwrap();
    assert!(end.starts_with("tapped 1 lines ("), "{text}");
    assert!(end.ends_with("s) -> p exit 3"), "{text}");

    let out = e.tty(&["tap", "p", "--", "sh", "-c", "kill -TERM $$"], &[]);
    out.code(143);
    assert!(
        out.stdout.trim_end().ends_with("-> p signal SIGTERM"),
        "{}",
        out.stdout
    );
}

#[test]
fn piped_stderr_gets_no_status_lines() {
    let e = env("tap_piped_status");
    let out = tap(&e, &["p", "--create", "--", "true"]);
    out.code(0);
    assert_eq!(out.stderr, "");
    assert_eq!(messages(&e, "p").len(), 2, "start and exit only");
}

#[test]
fn help_puts_the_wrapped_command_after_dashes() {
    let e = env("tap_help");
    let out = e.pls(&["tap", "--help"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("Usage: pls tap <POOL> [OPTIONS] -- <COMMAND>..."),
        "{}",
        out.show()
    );
}

#[test]
fn terminal_ctrl_c_reaches_the_command_once() {
    let python = Command::new("python3")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !python {
        eprintln!("python3 is not installed: skipped");
        return;
    }
    let e = env("tap_ctrl_c");
    // Counts SIGINTs; its handler is slow, so a second delivery during it is counted too.
    let counter = "import signal, time\n\
        n = 0\n\
        def h(s, f):\n    global n\n    n += 1\n    time.sleep(0.3)\n\
        signal.signal(signal.SIGINT, h)\n\
        print('ready', flush=True)\n\
        end = time.time() + 1.5\n\
        while time.time() < end:\n    time.sleep(0.02)\n\
        print('ints', n, flush=True)\n";
    let (mut child, started) = spawn(
        e.tty_cmd(
            &["tap", "p", "--create", "--", "python3", "-c", counter],
            &[],
        ),
        true,
    );
    let mut stdin = child.stdin.take().unwrap();
    // Ctrl-C only once the handler is installed: when `ready` has reached the pool.
    let ready = Instant::now();
    loop {
        let out = e.pls(&["follow", "p", "--tail", "5", "--jsonl", "--timeout", "20ms"]);
        if out.stdout.contains(r#""line":"ready""#) {
            break;
        }
        assert!(ready.elapsed() < Duration::from_secs(10), "never ready");
        std::thread::sleep(Duration::from_millis(20));
    }
    stdin.write_all(b"\x03").unwrap();
    stdin.flush().unwrap();
    let out = finish(child, None, "tap under ctrl-c".into(), started);
    drop(stdin);
    out.code(0);
    assert!(out.stdout.contains("ints 1"), "{}", out.show());
}

#[test]
fn lines_read_before_one_that_cannot_be_stored_are_kept() {
    let e = env("tap_unstorable");
    e.create("p", "64K");
    // The tag leaves room for short lines only; the third line fits in no message at all.
    let tag = "t".repeat(56_800);
    let out = tap(
        &e,
        &[
            "p",
            "--tag",
            &tag,
            "--quiet",
            "--",
            "sh",
            "-c",
            "printf 'a\\nb\\n%0300d\\n' 0",
        ],
    );
    out.code(2);
    // Each message nearly fills the ring, so only the newest is retained: `start`, `a` and `b`
    // were appended when it is seq 3 and holds `b`.
    assert_eq!(e.info("p")["bounds"]["newest"], 3, "{}", out.show());
    let msgs = messages(&e, "p");
    assert_eq!(lines_of(&msgs, "stdout"), ["b"], "{msgs:?}");
}
