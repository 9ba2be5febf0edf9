//! `pls bridge` against a real JetStream server: each test starts its own `nats-server -js` on
//! a free loopback port with a store directory of its own.
//!
//! The tests check the bridge's guarantees end to end: data and tags survive a round trip;
//! killing the bridge at random moments loses and duplicates nothing; a server restart is
//! survived; a lapped pool stops with RetentionGap (or reports the gap when allowed); two-way
//! bridging does not loop; each way of logging in is accepted with the right secret and refused,
//! as a Permission error, with a wrong one.
#![cfg(feature = "bridge")]

#[path = "bridge/auth.rs"]
mod auth;
mod common;

use common::{Env, env, run, spawn};
use serde_json::{Value, json};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `nats-server -js` of one test, killed when dropped.
struct Nats {
    child: Option<Child>,
    port: u16,
    store: PathBuf,
    extra: Vec<String>,
}

impl Nats {
    /// Starts a server on a free loopback port, or `None` (after saying so loudly) when
    /// `nats-server` is not installed.
    fn start(e: &Env, extra: &[&str]) -> Option<Nats> {
        if Command::new("nats-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            eprintln!(
                "\n!!!!! SKIPPED: nats-server is not installed; the bridge tests need it \
                 (apt-get install nats-server) !!!!!\n"
            );
            return None;
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let mut n = Nats {
            child: None,
            port,
            store: e.root.join("nats-store"),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
        };
        n.launch();
        Some(n)
    }

    /// Starts a server that also reads the configuration `config` (written into the test's
    /// directory); see [`Nats::start`].
    fn start_with_config(e: &Env, config: &str) -> Option<Nats> {
        let path = e.root.join("nats.conf");
        std::fs::write(&path, config).expect("write nats.conf");
        Nats::start(e, &["-c", path.to_str().expect("a UTF-8 path")])
    }

    /// The server's log (its stderr, kept across restarts), shown when it fails to start.
    fn log(&self) -> PathBuf {
        self.store.with_file_name("nats.log")
    }

    fn launch(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log())
            .expect("open the server's log");
        let child = Command::new("nats-server")
            .args([
                "-js",
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-sd",
            ])
            .arg(&self.store)
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start nats-server");
        self.child = Some(child);
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            let exited = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && started.elapsed() < Duration::from_secs(10),
                "nats-server did not listen ({exited:?}); its log:\n{}",
                std::fs::read_to_string(self.log()).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // JetStream is ready shortly after the listener.
        std::thread::sleep(Duration::from_millis(150));
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `count` JSON lines `{"i": from..}`, tagged by `feed` with `tags`.
fn feed_many(e: &Env, pool: &str, from: u64, count: u64) {
    let mut lines = String::new();
    for i in from..from + count {
        lines.push_str(&format!("{{\"i\":{i}}}\n"));
    }
    e.pls_in(&["feed", pool], lines).code(0);
}

/// Every message of `pool`, oldest first.
fn all(e: &Env, pool: &str) -> Vec<Value> {
    let out = e.pls(&[
        "follow",
        pool,
        "-n",
        "1000000",
        "--jsonl",
        "--timeout",
        "200ms",
    ]);
    assert_eq!(out.code, 124, "{}", out.show());
    out.json_lines()
}

/// The `i` of each message of `pool`.
fn indices(e: &Env, pool: &str) -> Vec<u64> {
    all(e, pool)
        .iter()
        .map(|v| v["data"]["i"].as_u64().expect("i"))
        .collect()
}

fn out_args<'a>(pool: &'a str, url: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["bridge", "out", pool, url, "--stream", "S"];
    a.extend_from_slice(extra);
    a
}

/// Reads the whole stream (through a fresh consumer) into pool `check`.
fn stream_into(e: &Env, url: &str, check: &str) -> Vec<u64> {
    e.pls(&[
        "bridge",
        "in",
        url,
        "--stream",
        "S",
        check,
        "--create",
        "--create-size",
        "16M",
        "--catch-up",
    ])
    .code(0);
    indices(e, check)
}

#[test]
fn a_round_trip_keeps_data_and_tags_and_marks_the_copies_as_bridged() {
    let e = env("bridge-round-trip");
    let Some(nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    let messages = [
        (json!({"msg": "hi", "n": 1}), vec!["chat"]),
        (
            json!({"nested": {"list": [1, 2.5, "three", null, true], "deep": {"x": -7}}}),
            vec!["a", "b c", "dé"],
        ),
        (
            json!({"float": 1.0, "big": 9007199254740993_u64, "unicode": "日本 ✓"}),
            vec![],
        ),
        (json!({"empty": {}, "quote": "a\"b\\c\n"}), vec!["x.y*z>"]),
    ];
    for (data, tags) in &messages {
        e.feed("a", &data.to_string(), tags);
    }
    let out = e.pls(&out_args("a", &url, &["--create-stream", "--catch-up"]));
    out.code(0);
    assert_eq!(out.json()["published"], 4, "{}", out.show());
    let out = e.pls(&[
        "bridge",
        "in",
        &url,
        "--stream",
        "S",
        "b",
        "--create",
        "--catch-up",
    ]);
    out.code(0);
    assert_eq!(out.json()["appended"], 4, "{}", out.show());
    let got = all(&e, "b");
    assert_eq!(got.len(), 4);
    let sent = all(&e, "a");
    for (g, s) in got.iter().zip(&sent) {
        assert_eq!(g["data"], s["data"]);
        let mut tags = s["meta"]["tags"].as_array().unwrap().clone();
        tags.push(json!("@bridged"));
        assert_eq!(g["meta"]["tags"], Value::Array(tags));
    }
    // Bridging the copy out again publishes nothing: it came in through a bridge.
    let out = e.pls(&["bridge", "out", "b", &url, "--stream", "S", "--catch-up"]);
    out.code(0);
    assert_eq!(out.json()["published"], 0, "{}", out.show());
}

#[test]
fn subject_tags_add_one_token_per_tag_and_resume_across_them() {
    let e = env("bridge-subject-tags");
    let Some(nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    e.feed("a", r#"{"i":1}"#, &["red"]);
    e.feed("a", r#"{"i":2}"#, &[]);
    e.feed("a", r#"{"i":3}"#, &["red", "x.y"]);
    e.pls(&out_args(
        "a",
        &url,
        &["--create-stream", "--catch-up", "--subject-tags"],
    ))
    .code(0);
    e.feed("a", r#"{"i":4}"#, &["blue"]);
    let out = e.pls(&out_args("a", &url, &["--catch-up", "--subject-tags"]));
    assert_eq!(out.json()["published"], 1, "{}", out.show());
    let red = e.pls(&[
        "bridge",
        "in",
        &url,
        "--stream",
        "S",
        "red",
        "--create",
        "--catch-up",
        "--filter-subject",
        "pls.a.red.>",
    ]);
    red.code(0);
    assert_eq!(indices(&e, "red"), [3]);
    assert_eq!(stream_into(&e, &url, "check"), [1, 2, 3, 4]);
}

/// A small deterministic generator for the kill moments (the seed is printed).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

#[test]
fn a_bridge_killed_at_random_moments_publishes_every_message_once_in_order() {
    let e = env("bridge-kill");
    let Some(nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "16M");
    let total = 30_000u64;
    feed_many(&e, "a", 1, total / 2);
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("kill moments seed: {seed}");
    let mut rng = Lcg(seed);
    for round in 0..20u64 {
        let mut c = e.cmd(&out_args(
            "a",
            &url,
            &["--create-stream", "--window", "512"],
        ));
        c.stdout(Stdio::null()).stderr(Stdio::null());
        let mut child = c.spawn().expect("spawn bridge");
        std::thread::sleep(Duration::from_millis(5 + rng.next(60)));
        if round == 10 {
            // More messages while the bridge is down half-way.
            let _ = child.kill();
            let _ = child.wait();
            feed_many(&e, "a", total / 2 + 1, total / 2);
            continue;
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");
    }
    let out = e.pls(&out_args("a", &url, &["--catch-up"]));
    out.code(0);
    let got = stream_into(&e, &url, "check");
    let want: Vec<u64> = (1..=total).collect();
    assert_eq!(got.len(), want.len(), "every message once");
    assert!(got == want, "in order, each once (seed {seed})");
}

#[test]
fn a_restarted_server_loses_nothing() {
    let e = env("bridge-server-restart");
    let Some(mut nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "16M");
    let total = 20_000u64;
    feed_many(&e, "a", 1, total / 2);
    let mut c = e.cmd(&out_args(
        "a",
        &url,
        &["--create-stream", "--window", "1024"],
    ));
    c.stdout(Stdio::null()).stderr(Stdio::piped());
    let (mut bridge, _) = spawn(c, false);
    std::thread::sleep(Duration::from_millis(150));
    nats.kill();
    // Writers go on while the server is down.
    feed_many(&e, "a", total / 2 + 1, total / 2);
    std::thread::sleep(Duration::from_millis(300));
    nats.launch();
    // The bridge reconnects by itself; wait until the stream holds everything.
    let started = Instant::now();
    let mut got = Vec::new();
    while started.elapsed() < Duration::from_secs(30) {
        let _ = std::fs::remove_file(e.path("check"));
        // A fresh consumer per look: the whole stream each time.
        let out = run(
            e.cmd(&[
                "bridge",
                "in",
                &url,
                "--stream",
                "S",
                "check",
                "--create",
                "--create-size",
                "16M",
                "--catch-up",
                "--durable",
                &format!("look{}", started.elapsed().as_millis()),
            ]),
            None,
        );
        if out.code == 0 {
            got = indices(&e, "check");
            if got.len() as u64 >= total {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let _ = bridge.kill();
    let out = common::finish(bridge, None, "bridge out".into(), Instant::now());
    let want: Vec<u64> = (1..=total).collect();
    let missing: Vec<u64> = want
        .iter()
        .copied()
        .filter(|i| !got.contains(i))
        .take(20)
        .collect();
    assert_eq!(
        got.len(),
        want.len(),
        "missing {missing:?}…; bridge stderr:\n{}",
        out.stderr
    );
    assert!(got == want, "in order, each once");
    assert!(
        out.stderr.contains("bridge_disconnected"),
        "the bridge saw the restart:\n{}",
        out.stderr
    );
}

#[test]
fn a_lapped_pool_is_a_retention_gap_unless_gaps_are_allowed() {
    let e = env("bridge-gap");
    let Some(nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "64K");
    feed_many(&e, "a", 1, 10);
    e.pls(&out_args("a", &url, &["--create-stream", "--catch-up"]))
        .code(0);
    // The bridge is down while the pool wraps.
    feed_many(&e, "a", 11, 3000);
    let oldest = e.info("a")["bounds"]["oldest"].as_u64().expect("oldest");
    assert!(oldest > 11, "the pool wrapped (oldest {oldest})");
    let out = e.pls(&out_args("a", &url, &["--catch-up"]));
    let err = out.fails(9, "RetentionGap");
    assert!(
        common::str_of(&err, "hint").contains("--allow-gap"),
        "{}",
        out.show()
    );
    let out = e.pls(&out_args("a", &url, &["--catch-up", "--allow-gap"]));
    out.code(0);
    let notices = out.stderr_json();
    let drop = notices
        .iter()
        .find(|n| n["notice"]["kind"] == "drop")
        .unwrap_or_else(|| panic!("a drop notice\n{}", out.show()));
    assert_eq!(drop["notice"]["details"]["first_missing"], 11);
    assert_eq!(drop["notice"]["details"]["count"], oldest - 11);
    let got = stream_into(&e, &url, "check");
    let want: Vec<u64> = (1..=10).chain(oldest..=3010).collect();
    assert_eq!(got, want);
}

#[test]
fn two_way_bridging_between_two_pools_does_not_loop() {
    let e = env("bridge-two-way");
    let Some(nats) = Nats::start(&e, &[]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    e.create("b", "1M");
    feed_many(&e, "a", 1, 5);
    feed_many(&e, "b", 101, 7);
    let a_in = [
        "bridge",
        "in",
        &url,
        "--stream",
        "S",
        "a",
        "--filter-subject",
        "pls.b",
        "--catch-up",
    ];
    let b_in = [
        "bridge",
        "in",
        &url,
        "--stream",
        "S",
        "b",
        "--filter-subject",
        "pls.a",
        "--catch-up",
    ];
    // Run both directions several times, as a pair running side by side would.
    for _ in 0..3 {
        e.pls(&out_args("a", &url, &["--create-stream", "--catch-up"]))
            .code(0);
        e.pls(&out_args("b", &url, &["--catch-up"])).code(0);
        e.pls(&a_in).code(0);
        e.pls(&b_in).code(0);
    }
    // Both bridges running at once, too, for a moment.
    let procs: Vec<Child> = [
        out_args("a", &url, &[]),
        out_args("b", &url, &[]),
        a_in[..a_in.len() - 1].to_vec(),
        b_in[..b_in.len() - 1].to_vec(),
    ]
    .iter()
    .map(|args| {
        let mut c = e.cmd(args);
        c.stdout(Stdio::null()).stderr(Stdio::null());
        c.spawn().expect("spawn")
    })
    .collect();
    feed_many(&e, "a", 6, 1);
    let started = Instant::now();
    while !indices(&e, "b").contains(&6) && started.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(100));
    }
    // Time for a loop to show, were there one.
    std::thread::sleep(Duration::from_millis(700));
    for mut p in procs {
        let _ = p.kill();
        let _ = p.wait();
    }
    let mut a = indices(&e, "a");
    let mut b = indices(&e, "b");
    a.sort_unstable();
    b.sort_unstable();
    let want: Vec<u64> = (1..=6).chain(101..=107).collect();
    assert_eq!(a, want);
    assert_eq!(b, want);
    let mut s = stream_into(&e, &url, "check");
    s.sort_unstable();
    assert_eq!(s, want, "the stream holds each message once");
}

#[test]
fn credentials_are_required_when_the_server_asks_for_them() {
    let e = env("bridge-auth");
    let Some(nats) = Nats::start(&e, &["--user", "u", "--pass", "secret-pw"]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    e.feed("a", r#"{"i":1}"#, &[]);
    let out = e.pls(&out_args("a", &url, &["--create-stream", "--catch-up"]));
    out.fails(6, "Permission");
    std::fs::write(e.root.join("pw"), "secret-pw\n").unwrap();
    let pw = e.root.join("pw");
    let out = e.pls(&out_args(
        "a",
        &url,
        &[
            "--create-stream",
            "--catch-up",
            "--user",
            "u",
            "--password-file",
            pw.to_str().unwrap(),
        ],
    ));
    out.code(0);
    assert_eq!(out.json()["published"], 1);
}

#[test]
fn a_token_authenticates() {
    let e = env("bridge-token");
    let Some(nats) = Nats::start(&e, &["--auth", "tok3n"]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    e.feed("a", r#"{"i":1}"#, &[]);
    e.pls(&out_args(
        "a",
        &url,
        &["--create-stream", "--catch-up", "--token", "wrong"],
    ))
    .fails(6, "Permission");
    let out = e.pls(&out_args(
        "a",
        &url,
        &["--create-stream", "--catch-up", "--token", "tok3n"],
    ));
    out.code(0);
    assert_eq!(out.json()["published"], 1);
}

/// `serve init` writes a self-signed certificate for 127.0.0.1 (and its key): the server's,
/// and the CA the bridge is given.
#[test]
#[cfg(feature = "serve")]
fn tls_is_verified_against_the_given_ca() {
    let e = env("bridge-tls");
    let certs = e.root.join("certs");
    e.pls(&["serve", "init", "--output-dir", certs.to_str().unwrap()])
        .code(0);
    let cert = certs.join("plasmite-tls-cert.pem");
    let key = certs.join("plasmite-tls-key.pem");
    let Some(nats) = Nats::start(
        &e,
        &[
            "--tls",
            "--tlscert",
            cert.to_str().unwrap(),
            "--tlskey",
            key.to_str().unwrap(),
        ],
    ) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    e.feed("a", r#"{"i":1}"#, &["t"]);
    // The system's roots do not know the certificate.
    e.pls(&out_args("a", &url, &["--create-stream", "--catch-up"]))
        .fails(8, "Io");
    let out = e.pls(&out_args(
        "a",
        &url,
        &[
            "--create-stream",
            "--catch-up",
            "--tls-ca",
            cert.to_str().unwrap(),
        ],
    ));
    out.code(0);
    assert_eq!(out.json()["published"], 1);
    let out = e.pls(&[
        "bridge",
        "in",
        &url,
        "--stream",
        "S",
        "b",
        "--create",
        "--catch-up",
        "--tls-ca",
        cert.to_str().unwrap(),
    ]);
    out.code(0);
    assert_eq!(indices(&e, "b"), [1]);
}

/// Bridges two messages of a new pool `a` out to a new stream and back into a new pool `b`,
/// logging in with `login` both ways, and checks they arrived.
fn round_trip_with(e: &Env, url: &str, login: &[&str]) {
    e.create("a", "1M");
    feed_many(e, "a", 1, 2);
    let mut args = out_args("a", url, &["--create-stream", "--catch-up"]);
    args.extend_from_slice(login);
    let out = e.pls(&args);
    out.code(0);
    assert_eq!(out.json()["published"], 2, "{}", out.show());
    let mut args = vec![
        "bridge",
        "in",
        url,
        "--stream",
        "S",
        "b",
        "--create",
        "--catch-up",
    ];
    args.extend_from_slice(login);
    let out = e.pls(&args);
    out.code(0);
    assert_eq!(out.json()["appended"], 2, "{}", out.show());
    assert_eq!(indices(e, "b"), [1, 2]);
}

/// Checks that `bridge out` logging in with `login` is refused: exit 6, Permission, a message
/// naming the server and a hint about the credentials.
#[track_caller]
fn assert_refused(e: &Env, url: &str, login: &[&str]) {
    let mut args = out_args("a", url, &["--catch-up"]);
    args.extend_from_slice(login);
    let out = e.pls(&args);
    let err = out.fails(6, "Permission");
    assert!(
        common::str_of(&err, "message").contains(&format!("failed to connect to NATS at {url}")),
        "{}",
        out.show()
    );
    assert!(
        common::str_of(&err, "hint").contains("refused the credentials"),
        "{}",
        out.show()
    );
}

#[test]
fn a_wrong_password_is_refused_with_the_credentials_hint() {
    let e = env("bridge-password");
    let Some(nats) = Nats::start(&e, &["--user", "u", "--pass", "secret-pw"]) else {
        return;
    };
    let url = nats.url();
    std::fs::write(e.root.join("pw"), "secret-pw\n").unwrap();
    std::fs::write(e.root.join("wrong"), "secret-pv\n").unwrap();
    let pw = e.root.join("pw");
    let wrong = e.root.join("wrong");
    round_trip_with(
        &e,
        &url,
        &["--user", "u", "--password-file", pw.to_str().unwrap()],
    );
    assert_refused(
        &e,
        &url,
        &["--user", "u", "--password-file", wrong.to_str().unwrap()],
    );
    assert_refused(
        &e,
        &url,
        &["--user", "v", "--password-file", pw.to_str().unwrap()],
    );
}

#[test]
fn an_nkey_seed_authenticates_and_another_seed_is_refused() {
    let e = env("bridge-nkey");
    let key = nkeys::KeyPair::new_user();
    let Some(nats) = Nats::start_with_config(&e, &auth::nkey_config(&key.public_key())) else {
        return;
    };
    let url = nats.url();
    // A seed file as written by hand or by a tool: surrounding whitespace is trimmed.
    let seed = e.root.join("user.nk");
    std::fs::write(&seed, format!("{}\n", key.seed().unwrap())).unwrap();
    round_trip_with(&e, &url, &["--nkey-file", seed.to_str().unwrap()]);
    let other = e.root.join("other.nk");
    std::fs::write(&other, nkeys::KeyPair::new_user().seed().unwrap()).unwrap();
    assert_refused(&e, &url, &["--nkey-file", other.to_str().unwrap()]);
    // No key at all is refused the same way.
    assert_refused(&e, &url, &[]);
}

/// An operator-mode server trusting one operator, which signed `accounts`.
fn operator_mode(e: &Env, operator: &auth::Identity, accounts: &[&auth::Identity]) -> Option<Nats> {
    Nats::start_with_config(e, &auth::operator_config(operator, accounts))
}

#[test]
fn a_creds_file_authenticates_against_an_operator_mode_server() {
    let e = env("bridge-creds");
    let operator = auth::operator("op");
    let account = auth::account(&operator.key, "acct");
    let user = auth::user(&account.key, "bridge");
    let Some(nats) = operator_mode(&e, &operator, &[&account]) else {
        return;
    };
    let url = nats.url();
    let creds = e.root.join("bridge.creds");
    std::fs::write(&creds, auth::creds(&user)).unwrap();
    round_trip_with(&e, &url, &["--creds", creds.to_str().unwrap()]);
}

#[test]
fn a_creds_file_of_a_user_the_server_does_not_trust_is_refused() {
    let e = env("bridge-creds-refused");
    let operator = auth::operator("op");
    let account = auth::account(&operator.key, "acct");
    let Some(nats) = operator_mode(&e, &operator, &[&account]) else {
        return;
    };
    let url = nats.url();
    e.create("a", "1M");
    feed_many(&e, "a", 1, 1);
    let creds = e.root.join("bridge.creds");
    // A user of an account the operator signed but the server was never told about.
    let stranger = auth::account(&operator.key, "unknown");
    std::fs::write(&creds, auth::creds(&auth::user(&stranger.key, "u"))).unwrap();
    assert_refused(&e, &url, &["--creds", creds.to_str().unwrap()]);
    // A trusted user's JWT with a seed that is not that user's key: the server's challenge is
    // signed with the wrong key.
    let mismatched = auth::Identity {
        key: nkeys::KeyPair::new_user(),
        jwt: auth::user(&account.key, "u").jwt,
    };
    std::fs::write(&creds, auth::creds(&mismatched)).unwrap();
    assert_refused(&e, &url, &["--creds", creds.to_str().unwrap()]);
}

#[test]
fn a_malformed_seed_or_creds_file_is_a_usage_error_found_before_connecting() {
    let e = env("bridge-bad-secrets");
    // Nothing listens there: each of these fails before connecting.
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let url = format!("nats://127.0.0.1:{port}");
    e.create("a", "1M");
    let file = e.root.join("secret");
    let path = file.to_str().unwrap();
    let key = nkeys::KeyPair::new_user();
    for not_a_seed in ["SUNOTASEED".to_owned(), key.public_key()] {
        std::fs::write(&file, &not_a_seed).unwrap();
        let out = e.pls(&out_args("a", &url, &["--catch-up", "--nkey-file", path]));
        let err = out.fails(2, "Usage");
        assert!(
            common::str_of(&err, "message").starts_with("invalid NKey seed"),
            "{}",
            out.show()
        );
        assert!(
            common::str_of(&err, "hint").contains("starting with S"),
            "{}",
            out.show()
        );
    }
    // A seed alone is not a creds file.
    std::fs::write(&file, key.seed().unwrap()).unwrap();
    let out = e.pls(&out_args("a", &url, &["--catch-up", "--creds", path]));
    let err = out.fails(2, "Usage");
    assert!(
        common::str_of(&err, "message").starts_with("invalid NATS credentials file"),
        "{}",
        out.show()
    );
    assert!(
        common::str_of(&err, "hint").contains("user JWT"),
        "{}",
        out.show()
    );
    let missing = e.root.join("missing.creds");
    let out = e.pls(&out_args(
        "a",
        &url,
        &["--catch-up", "--creds", missing.to_str().unwrap()],
    ));
    let err = out.fails(3, "NotFound");
    assert!(
        common::str_of(&err, "hint").contains("creds file"),
        "{}",
        out.show()
    );
}
