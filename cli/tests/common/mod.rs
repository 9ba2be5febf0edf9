//! The black-box harness shared by the CLI test files: runs the built `pls` with a private
//! pool directory and HOME, under a hard deadline, and parses what it printed.
#![allow(dead_code, unreachable_pub)]

#[path = "../../../core/tests/support/mod.rs"]
pub mod support;

pub mod serve;

use serde_json::{Map, Value, json};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PLS: &str = env!("CARGO_BIN_EXE_pls");
/// The same program under the reference's name.
pub const PLASMITE: &str = env!("CARGO_BIN_EXE_plasmite");
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// A child still running after this is killed and the test fails.
pub const DEADLINE: Duration = Duration::from_secs(15);

pub fn reference_dir() -> PathBuf {
    support::reference_dir().join("pools")
}

/// A reference pool's `*.expected.json`.
pub fn expected(name: &str) -> Value {
    support::reference_pool(name).1
}

/// What a finished child left behind.
#[derive(Debug)]
pub struct Out {
    pub what: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl Out {
    pub fn show(&self) -> String {
        format!(
            "`{}` exited {} after {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.what, self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    #[track_caller]
    pub fn code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "unexpected exit code\n{}", self.show());
        self
    }

    /// Non-empty stdout lines.
    pub fn lines(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// Every stdout line parsed as one JSON value.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.lines()
            .into_iter()
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("stdout line is not JSON ({e}): {l}\n{}", self.show())
                })
            })
            .collect()
    }

    /// stdout as exactly one compact JSON line.
    #[track_caller]
    pub fn json(&self) -> Value {
        let lines = self.json_lines();
        assert_eq!(lines.len(), 1, "expected one JSON line\n{}", self.show());
        lines.into_iter().next().unwrap()
    }

    /// Every JSON value in stdout, however it is laid out (pretty output).
    #[track_caller]
    pub fn json_stream(&self) -> Vec<Value> {
        serde_json::Deserializer::from_str(&self.stdout)
            .into_iter::<Value>()
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("stdout is not a JSON stream ({e})\n{}", self.show()))
    }

    /// Every stderr line parsed as JSON.
    #[track_caller]
    pub fn stderr_json(&self) -> Vec<Value> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str(l).unwrap_or_else(|e| {
                    panic!("stderr line is not JSON ({e}): {l}\n{}", self.show())
                })
            })
            .collect()
    }

    /// The inner object of the one-line error envelope on stderr, after checking its shape.
    #[track_caller]
    pub fn error(&self) -> Map<String, Value> {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected a one-line error on stderr\n{}",
            self.show()
        );
        let v: Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e})\n{}", self.show()));
        let top = v.as_object().expect("error envelope is an object");
        assert_eq!(top.len(), 1, "envelope has only `error`: {v}");
        let e = top["error"]
            .as_object()
            .expect("`error` is an object")
            .clone();
        assert!(e["kind"].is_string(), "error.kind is a string: {v}");
        assert!(e["message"].is_string(), "error.message is a string: {v}");
        if let Some(h) = e.get("hint") {
            assert!(h.is_string(), "error.hint is a string: {v}");
        }
        e
    }

    /// Checks exit code and error kind; returns the error object.
    #[track_caller]
    pub fn fails(&self, code: i32, kind: &str) -> Map<String, Value> {
        self.code(code);
        let e = self.error();
        assert_eq!(e["kind"], kind, "error kind\n{}", self.show());
        e
    }

    pub fn stdout_no_cr(&self) -> String {
        self.stdout.replace('\r', "")
    }
}

pub fn str_of<'a>(e: &'a Map<String, Value>, key: &str) -> &'a str {
    e.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string `{key}` in {e:?}"))
}

/// Waits for `child` with a hard deadline, feeding `stdin` and collecting stdout and stderr.
pub fn finish(mut child: Child, stdin: Option<Vec<u8>>, what: String, started: Instant) -> Out {
    if let Some(data) = stdin {
        let mut si = child.stdin.take().expect("piped stdin");
        std::thread::spawn(move || {
            let _ = si.write_all(&data);
        });
    }
    let mut so = child.stdout.take().expect("piped stdout");
    let mut se = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = so.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = se.read_to_end(&mut v);
        v
    });
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if started.elapsed() > DEADLINE {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` did not finish within {DEADLINE:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
    let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
    Out {
        what,
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
        elapsed,
    }
}

pub fn spawn(mut cmd: Command, piped_stdin: bool) -> (Child, Instant) {
    cmd.stdin(if piped_stdin {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let started = Instant::now();
    (cmd.spawn().expect("spawn"), started)
}

/// Runs `cmd` to completion (hard deadline), with `stdin` piped in when given.
pub fn run(cmd: Command, stdin: Option<Vec<u8>>) -> Out {
    let what = format!("{cmd:?}");
    let (child, started) = spawn(cmd, stdin.is_some());
    finish(child, stdin, what, started)
}

/// Single-quotes `s` for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// One test's private pool directory and HOME.
pub struct Env {
    pub root: PathBuf,
    pub dir: PathBuf,
    pub home: PathBuf,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

pub fn env(test: &str) -> Env {
    let root = std::env::temp_dir().join(format!("pls-cli-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let home = root.join("home");
    std::fs::create_dir_all(&home).unwrap();
    Env {
        dir: root.join("pools"),
        home,
        root,
    }
}

impl Env {
    pub fn dir_str(&self) -> &str {
        self.dir.to_str().unwrap()
    }

    /// `pls` with HOME set and NO_COLOR unset, no `--dir`.
    pub fn bare(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PLS);
        c.args(args).env("HOME", &self.home).env_remove("NO_COLOR");
        c
    }

    /// `pls --dir DIR ARGS…`.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(PLS);
        c.arg("--dir")
            .arg(&self.dir)
            .args(args)
            .env("HOME", &self.home)
            .env_remove("NO_COLOR");
        c
    }

    /// `BIN --dir DIR ARGS…` for another binary of the program (`PLASMITE`).
    pub fn cmd_of(&self, bin: &str, args: &[&str]) -> Command {
        let mut c = Command::new(bin);
        c.arg("--dir")
            .arg(&self.dir)
            .args(args)
            .env("HOME", &self.home)
            .env_remove("NO_COLOR");
        c
    }

    pub fn pls(&self, args: &[&str]) -> Out {
        run(self.cmd(args), None)
    }

    pub fn pls_in(&self, args: &[&str], stdin: impl Into<Vec<u8>>) -> Out {
        run(self.cmd(args), Some(stdin.into()))
    }

    /// `pls GLOBAL… ARGS…` with `--dir` after the given global flags, piped.
    pub fn pls_global(&self, global: &[&str], args: &[&str]) -> Out {
        let mut c = self.bare(global);
        c.arg("--dir").arg(&self.dir).args(args);
        run(c, None)
    }

    /// Runs `pls --dir DIR ARGS…` on a pseudo-terminal via `script`; stdout and stderr are
    /// merged there, `\r` is stripped.
    pub fn tty(&self, args: &[&str], vars: &[(&str, &str)]) -> Out {
        let mut out = run(self.tty_cmd(args, vars), None);
        out.stdout = out.stdout_no_cr();
        out
    }

    /// `pls --dir DIR ARGS…` on a pseudo-terminal via `script`: what is written to the
    /// command's stdin is typed on the terminal (`\x04` at a line start is end of input).
    /// `exec` leaves no shell between the terminal and `pls`: a shell that does not exec its
    /// last command itself (dash) would otherwise take a terminal's Ctrl-C as its own.
    pub fn tty_cmd(&self, args: &[&str], vars: &[(&str, &str)]) -> Command {
        let mut line = format!("exec {} --dir {}", sh_quote(PLS), sh_quote(self.dir_str()));
        for a in args {
            line.push(' ');
            line.push_str(&sh_quote(a));
        }
        let mut c = Command::new("script");
        c.args(["-qec", &line, "/dev/null"])
            .env("SHELL", "/bin/sh")
            .env("HOME", &self.home)
            .env_remove("NO_COLOR");
        for (k, v) in vars {
            c.env(k, v);
        }
        c
    }

    pub fn path(&self, pool: &str) -> PathBuf {
        self.dir.join(format!("{pool}.plasmite"))
    }

    /// Copies reference pool `name` into the pool directory (writable).
    pub fn copy_ref(&self, name: &str) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let dst = self.path(name);
        std::fs::copy(reference_dir().join(format!("{name}.plasmite")), &dst).unwrap();
        let mut perm = std::fs::metadata(&dst).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perm.set_readonly(false);
        std::fs::set_permissions(&dst, perm).unwrap();
    }

    pub fn create(&self, pool: &str, size: &str) {
        self.pls(&["pool", "create", pool, "--size", size]).code(0);
    }

    /// Appends one inline message; returns its receipt.
    #[track_caller]
    pub fn feed(&self, pool: &str, data: &str, tags: &[&str]) -> Value {
        let mut args = vec!["feed", pool, data];
        for t in tags {
            args.push("--tag");
            args.push(t);
        }
        self.pls(&args).code(0).json()
    }

    #[track_caller]
    pub fn info(&self, pool: &str) -> Value {
        self.pls(&["pool", "info", pool, "--json"]).code(0).json()
    }

    #[track_caller]
    pub fn fetch(&self, pool: &str, seq: u64) -> Value {
        self.pls(&["fetch", pool, &seq.to_string()]).code(0).json()
    }
}

/// `seq` of each envelope.
pub fn seqs(values: &[Value]) -> Vec<u64> {
    values
        .iter()
        .map(|v| v["seq"].as_u64().expect("seq"))
        .collect()
}

pub fn keys(v: &Value) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

/// An RFC 3339 UTC timestamp as printed (`2026-…Z`).
#[track_caller]
pub fn assert_time(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("time is not a string: {v}"));
    assert!(
        s.len() >= 20 && s.as_bytes()[4] == b'-' && s.as_bytes()[10] == b'T' && s.ends_with('Z'),
        "not an RFC 3339 UTC time: {s}"
    );
}

/// Checks a receipt line: `{"meta":{"tags":[…]},"seq":N,"time":…}`, no data.
#[track_caller]
pub fn assert_receipt(r: &Value, seq: u64, tags: &[&str]) {
    assert_eq!(keys(r), ["meta", "seq", "time"], "receipt keys: {r}");
    assert_eq!(keys(&r["meta"]), ["tags"], "receipt meta keys: {r}");
    assert_eq!(r["meta"]["tags"], json!(tags), "receipt tags: {r}");
    assert_eq!(r["seq"], seq, "receipt seq: {r}");
    assert_time(&r["time"]);
}

/// Checks an envelope: `{"data":…,"meta":{"tags":[…]},"seq":N,"time":…}`.
#[track_caller]
pub fn assert_envelope(m: &Value, seq: u64, data: &Value, tags: &[&str]) {
    assert_eq!(
        keys(m),
        ["data", "meta", "seq", "time"],
        "envelope keys: {m}"
    );
    assert_eq!(m["data"], *data, "envelope data: {m}");
    assert_eq!(m["meta"], json!({ "tags": tags }), "envelope meta: {m}");
    assert_eq!(m["seq"], seq, "envelope seq: {m}");
    assert_time(&m["time"]);
}

/// `n` JSON lines `{"i":0}`…
pub fn jsonl(n: usize) -> String {
    (0..n).map(|i| format!("{{\"i\":{i}}}\n")).collect()
}
