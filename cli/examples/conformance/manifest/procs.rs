//! Process steps: feeding through concurrent `pls` processes (`spawn_poke`) and readers that
//! run beside the steps (`spawn_reader` / `await_reader`), with how to find `pls` and know a
//! reader has opened its pool.
//!
//! # Invariants
//! - `spawn_reader` returns only once its reader has the pool mapped (or 5 s passed), so the
//!   messages a later step appends are ones the reader must see.
//! - Every reader is killed and reaped: by `await_reader`, or when the manifest ends.
//!
//! Spec: `spec/CONFORMANCE.md` (ops `spawn_poke`, `spawn_reader`, `await_reader`).

use super::{Run, Step, check_messages, fail, messages_of, str_field, tags_of};
use crate::surface::Msg;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;
use std::time::Duration;

/// A reader process started by `spawn_reader`.
pub(super) struct Reader {
    child: Child,
    lines: JoinHandle<Vec<String>>,
}

impl Reader {
    pub(super) fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Run<'_> {
    pub(super) fn spawn_poke(&self, pool: &str, input: &Value) -> Step {
        let msgs = messages_of(input.get("messages"))?;
        let pls = self.pls()?;
        let children: Vec<_> = msgs
            .iter()
            .map(|(data, tags)| {
                let mut c = Command::new(&pls);
                c.arg("--dir").arg(self.workdir()).arg("feed").arg(pool);
                c.arg(data.to_string());
                for t in tags {
                    c.arg("--tag").arg(t);
                }
                c.stdout(Stdio::null()).spawn()
            })
            .collect();
        let mut ok = true;
        for c in children {
            match c {
                Ok(mut c) => ok &= c.wait().is_ok_and(|s| s.success()),
                Err(_) => ok = false,
            }
        }
        if ok {
            Ok(())
        } else {
            fail("feed process failed")
        }
    }

    pub(super) fn spawn_reader(&mut self, pool: &str, input: &Value) -> Step {
        let name = str_field(input, "name", "input.name")?.to_owned();
        let max = input.get("max").and_then(Value::as_u64).unwrap_or(1) as usize;
        let since = input.get("since_seq").and_then(Value::as_u64).unwrap_or(1);
        let mut c = Command::new(self.pls()?);
        c.arg("--dir").arg(self.workdir()).arg("follow").arg(pool);
        c.args(["--jsonl", "--tail", "1000000000", "--where"]);
        c.arg(format!(".seq >= {since}"));
        for t in tags_of(input.get("tags"))? {
            c.arg("--tag").arg(t);
        }
        let timeout = input
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .unwrap_or(10_000);
        c.arg("--timeout").arg(format!("{timeout}ms"));
        let mut child = c
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .or_else(|e| fail(format!("cannot start a reader: {e}")))?;
        let out = child.stdout.take();
        wait_mapped(child.id(), &self.resolve(pool));
        let lines = std::thread::spawn(move || {
            let Some(out) = out else { return Vec::new() };
            BufReader::new(out)
                .lines()
                .map_while(Result::ok)
                .take(max)
                .collect()
        });
        self.readers.insert(name, Reader { child, lines });
        Ok(())
    }

    pub(super) fn await_reader(&mut self, input: &Value, expect: &Value) -> Step {
        let name = str_field(input, "name", "input.name")?;
        let Some(r) = self.readers.remove(name) else {
            return fail(format!("no reader named {name}"));
        };
        let Reader { mut child, lines } = r;
        let lines = lines.join().unwrap_or_default();
        let _ = child.kill();
        let _ = child.wait();
        let msgs: Vec<Msg> = lines
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .filter_map(|v: Value| Msg::from_envelope(&v))
            .collect();
        check_messages(expect, &msgs, true)
    }
}

/// The `pls` binary: `$PLASMITE_BIN`, else `pls` in the target directory this program was
/// built into.
pub(crate) fn pls_path() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PLASMITE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let candidate = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("pls"))
        .filter(|p| p.exists());
    candidate.ok_or_else(|| "no pls binary: set PLASMITE_BIN".to_owned())
}

/// Waits (up to 5 s) until process `pid` has `pool` mapped: a local reader that has opened
/// its pool has fixed where it starts.
pub(crate) fn wait_mapped(pid: u32, pool: &Path) {
    let want = std::fs::canonicalize(pool).unwrap_or_else(|_| pool.to_path_buf());
    let want = want.to_string_lossy().into_owned();
    for _ in 0..500 {
        let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
        if maps.contains(&want) {
            // The position is read right after the mapping.
            std::thread::sleep(Duration::from_millis(30));
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}
