//! The command-line surface: every op is a `pls` process; errors are read from the one-line
//! JSON error on stderr. With a server, pool references become its URLs (`cli-remote`).

use crate::http::Server;
use crate::manifest::{pls_path, wait_mapped};
use crate::surface::{
    Failure, Hook, Msg, Outcome, PoolInfo, R, Start, Surface, TailResult, TailSpec,
};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

pub(crate) struct Cli {
    dir: PathBuf,
    pls: PathBuf,
    server: Option<Server>,
}

impl Cli {
    pub(crate) fn new(dir: &Path, server: Option<Server>) -> Result<Cli, String> {
        Ok(Cli {
            dir: dir.to_path_buf(),
            pls: pls_path()?,
            server,
        })
    }

    fn command(&self) -> Command {
        let mut c = Command::new(&self.pls);
        c.arg("--dir").arg(&self.dir);
        c
    }

    /// The reference `pool` as this surface names it.
    fn target(&self, pool: &str) -> R<String> {
        match &self.server {
            None => Ok(pool.to_owned()),
            Some(_) if pool.contains('/') => Err(Outcome::Unsupported(
                "pool_path".into(),
                "a pool path cannot be reached through a server".into(),
            )),
            Some(s) => Ok(format!("{}/{pool}", s.base)),
        }
    }

    fn run(&self, c: &mut Command) -> R<Output> {
        let out = c
            .stdin(Stdio::null())
            .output()
            .map_err(|e| Outcome::Broken(format!("cannot run pls: {e}")))?;
        if out.status.success() {
            return Ok(out);
        }
        Err(Outcome::Error(error_of(&out.stderr)))
    }

    fn json(&self, c: &mut Command) -> R<Value> {
        let out = self.run(c)?;
        serde_json::from_slice(&out.stdout)
            .map_err(|e| Outcome::Broken(format!("pls printed no JSON: {e}")))
    }
}

/// The JSON error `pls` prints on stderr when it is not a terminal.
fn error_of(stderr: &[u8]) -> Failure {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v.get("error").map(Failure::from_json))
        .unwrap_or_else(|| Failure {
            kind: "Internal".into(),
            message: text.trim().to_owned(),
            ..Failure::default()
        })
}

impl Surface for Cli {
    fn supports(&self, op: &str) -> bool {
        // The command line has no gap policy (`follow` reports a gap and goes on). Pool
        // administration is local in either case (the served directory).
        !matches!(op, "retention_gap" | "tail.gap_error")
    }

    fn create_pool(&mut self, pool: &str, size: u64) -> R<()> {
        self.run(
            self.command()
                .args(["pool", "create", pool, "--size"])
                .arg(size.to_string()),
        )?;
        Ok(())
    }

    fn append(&mut self, pool: &str, data: &Value, tags: &[String]) -> R<u64> {
        let mut c = self.command();
        c.arg("feed").arg(self.target(pool)?).arg(data.to_string());
        for t in tags {
            c.arg("--tag").arg(t);
        }
        let receipt = self.json(&mut c)?;
        receipt["seq"]
            .as_u64()
            .ok_or_else(|| Outcome::Broken(format!("no seq in the receipt {receipt}")))
    }

    fn append_batch(&mut self, pool: &str, msgs: &[(Value, Vec<String>)]) -> R<(Option<u64>, u64)> {
        // One `feed` of JSON Lines: one process, batched appends. Tags are per feed, so a
        // batch with mixed tags is several feeds.
        let mut first = None;
        let mut count = 0;
        for group in msgs.chunk_by(|a, b| a.1 == b.1) {
            let mut c = self.command();
            c.arg("feed")
                .arg(self.target(pool)?)
                .args(["--in", "jsonl"]);
            for t in &group[0].1 {
                c.arg("--tag").arg(t);
            }
            let mut child = c
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| Outcome::Broken(format!("cannot run pls: {e}")))?;
            let mut input = String::new();
            for (d, _) in group {
                input.push_str(&d.to_string());
                input.push('\n');
            }
            if let Some(mut stdin) = child.stdin.take() {
                let _ = stdin.write_all(input.as_bytes());
            }
            let out = child
                .wait_with_output()
                .map_err(|e| Outcome::Broken(e.to_string()))?;
            let receipts: Vec<Value> = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            if first.is_none() {
                first = receipts.first().and_then(|r| r["seq"].as_u64());
            }
            count += receipts.len() as u64;
            if !out.status.success() {
                return Err(Outcome::Error(error_of(&out.stderr)));
            }
        }
        Ok((first, count))
    }

    fn get(&mut self, pool: &str, seq: u64) -> R<Msg> {
        let v = self.json(
            self.command()
                .arg("fetch")
                .arg(self.target(pool)?)
                .arg(seq.to_string()),
        )?;
        Msg::from_envelope(&v).ok_or_else(|| Outcome::Broken(format!("not an envelope: {v}")))
    }

    fn tail(&mut self, pool: &str, spec: &TailSpec, hook: Hook<'_>) -> R<TailResult> {
        if spec.gap_error {
            return Err(Outcome::Unsupported(
                "tail.gap_error".into(),
                "follow has no gap policy: it reports a gap and goes on".into(),
            ));
        }
        let mut c = self.command();
        c.arg("follow").arg(self.target(pool)?).arg("--jsonl");
        match (spec.start, spec.since_seq) {
            (Start::Oldest, since) => {
                c.args(["--tail", "1000000000"]);
                if let Some(s) = since {
                    c.arg("--where").arg(format!(".seq >= {s}"));
                }
            }
            (Start::Live, _) => {}
            (Start::Last(n), _) => {
                c.arg("--tail").arg(n.to_string());
            }
        }
        for t in &spec.tags {
            c.arg("--tag").arg(t);
        }
        for w in &spec.wheres {
            c.arg("--where").arg(w);
        }
        c.arg("--timeout").arg(format!("{}ms", spec.timeout_ms));
        let mut child = c
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| Outcome::Broken(format!("cannot run pls: {e}")))?;
        if spec.start == Start::Live {
            match &self.server {
                None => wait_mapped(child.id(), &plasmite::dir::resolve(&self.dir, pool)),
                // A remote follower has fixed its start once the server answered; that is
                // not visible from here, so give it a moment.
                Some(_) => std::thread::sleep(Duration::from_millis(500)),
            }
        }
        hook(0).map_err(Outcome::Broken)?;
        let mut out = TailResult::default();
        let stdout = child.stdout.take();
        if let Some(stdout) = stdout {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .map_err(|e| Outcome::Broken(format!("follow printed {line:?}: {e}")))?;
                out.messages.push(
                    Msg::from_envelope(&v)
                        .ok_or_else(|| Outcome::Broken(format!("not an envelope: {v}")))?,
                );
                hook(out.messages.len()).map_err(Outcome::Broken)?;
                if spec.max.is_some_and(|m| out.messages.len() as u64 >= m) {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(out);
                }
            }
        }
        let done = child
            .wait_with_output()
            .map_err(|e| Outcome::Broken(e.to_string()))?;
        // 124: the idle timeout ended it, which is how a tail ends here.
        if !done.status.success() && done.status.code() != Some(124) {
            out.error = Some(error_of(&done.stderr));
        }
        Ok(out)
    }

    fn list_pools(&mut self) -> R<Vec<String>> {
        let v = self.json(self.command().args(["pool", "list", "--json"]))?;
        let pools = v
            .get("pools")
            .and_then(Value::as_array)
            .ok_or_else(|| Outcome::Broken(format!("pool list printed {v}")))?;
        Ok(pools
            .iter()
            .filter_map(|p| p["name"].as_str().map(str::to_owned))
            .collect())
    }

    fn pool_info(&mut self, pool: &str) -> R<PoolInfo> {
        let v = self.json(
            self.command()
                .args(["pool", "info"])
                .arg(self.target(pool)?)
                .arg("--json"),
        )?;
        Ok(PoolInfo {
            file_size: v["file_size"].as_u64().unwrap_or(0),
            ring_size: v["ring_size"].as_u64().unwrap_or(0),
            oldest: v["bounds"]["oldest"].as_u64(),
            newest: v["bounds"]["newest"].as_u64(),
        })
    }

    fn delete_pool(&mut self, pool: &str) -> R<()> {
        // A failed delete is listed in the summary (and sets the exit code).
        let out = self
            .command()
            .args(["pool", "delete", pool, "--json"])
            .output()
            .map_err(|e| Outcome::Broken(format!("cannot run pls: {e}")))?;
        let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        match v["failed"].as_array().and_then(|f| f.first()) {
            Some(f) => Err(Outcome::Error(Failure::from_json(&f["error"]))),
            None if out.status.success() => Ok(()),
            None => Err(Outcome::Error(error_of(&out.stderr))),
        }
    }
}
