//! The HTTP surface: every op is a request to a `pls serve` of the working directory, started
//! for the manifest and stopped with it.

use crate::manifest::pls_path;
use crate::surface::{
    Failure, Hook, Msg, Outcome, PoolInfo, R, Start, Surface, TailResult, TailSpec,
};
use plasmite::remote::client::read_json;
use plasmite::remote::{Options, RemoteClient};
use plasmite::{PoolRef, RemoteRef};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A `pls serve` of one directory on a free loopback port.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
}

impl Server {
    pub(crate) fn start(dir: &Path) -> Result<Server, String> {
        let ready = std::env::temp_dir().join(format!(
            "plasmite-conformance-ready-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        let _ = std::fs::remove_file(&ready);
        let mut child = Command::new(pls_path()?)
            .arg("--dir")
            .arg(dir)
            .args(["serve", "--bind", "127.0.0.1:0"])
            .env("PLASMITE_SERVE_READY_FILE", &ready)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start pls serve: {e}"))?;
        let started = Instant::now();
        loop {
            if let Ok(addr) = std::fs::read_to_string(&ready)
                && !addr.trim().is_empty()
            {
                let _ = std::fs::remove_file(&ready);
                return Ok(Server {
                    child,
                    base: format!("http://{}", addr.trim()),
                });
            }
            if let Ok(Some(status)) = child.try_wait() {
                return Err(format!("pls serve exited with {status} before listening"));
            }
            if started.elapsed() > Duration::from_secs(15) {
                let _ = child.kill();
                return Err("pls serve did not listen within 15 s".into());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Http {
    client: RemoteClient,
    _server: Server,
}

impl Http {
    pub(crate) fn new(dir: &Path) -> Result<Http, String> {
        let server = Server::start(dir)?;
        let r = remote_ref(&format!("{}/x", server.base))?;
        let client = RemoteClient::connect(&r, &Options::default()).map_err(|e| e.to_string())?;
        Ok(Http {
            client,
            _server: server,
        })
    }

    fn path(pool: &str) -> R<String> {
        if pool.contains('/') {
            return Err(Outcome::Unsupported(
                "pool_path".into(),
                "a pool path cannot be reached through a server".into(),
            ));
        }
        Ok(format!("/v0/pools/{pool}"))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> R<Value> {
        let bytes = body.map(|b| b.to_string().into_bytes());
        let body = bytes.as_deref().map(|b| ("application/json", b));
        let mut answer = self.client.request(method, path, body, &[])?;
        Ok(read_json(&mut answer, self.client.base())?)
    }
}

fn remote_ref(url: &str) -> Result<RemoteRef, String> {
    match PoolRef::parse(url).map_err(|e| e.to_string())? {
        PoolRef::Url(r) => Ok(r),
        _ => Err(format!("{url} is not a URL")),
    }
}

fn envelope(v: &Value) -> R<Msg> {
    Msg::from_envelope(&v["message"])
        .ok_or_else(|| Outcome::Broken(format!("not a message answer: {v}")))
}

impl Surface for Http {
    fn supports(&self, _op: &str) -> bool {
        true
    }

    fn reads_ahead(&self) -> bool {
        true
    }

    fn create_pool(&mut self, pool: &str, size: u64) -> R<()> {
        self.call(
            "POST",
            "/v0/pools",
            Some(&json!({"pool": pool, "size_bytes": size})),
        )?;
        Ok(())
    }

    fn append(&mut self, pool: &str, data: &Value, tags: &[String]) -> R<u64> {
        let path = format!("{}/append", Http::path(pool)?);
        let v = self.call("POST", &path, Some(&json!({"data": data, "tags": tags})))?;
        Ok(envelope(&v)?.seq)
    }

    fn append_batch(&mut self, pool: &str, msgs: &[(Value, Vec<String>)]) -> R<(Option<u64>, u64)> {
        // `append_jsonl` tags every line alike: a batch with mixed tags is several requests.
        let mut first = None;
        let mut count = 0;
        for group in msgs.chunk_by(|a, b| a.1 == b.1) {
            let mut body = Vec::new();
            for (d, _) in group {
                body.extend_from_slice(d.to_string().as_bytes());
                body.push(b'\n');
            }
            let mut query: Vec<(&str, String)> = vec![("errors", "stop".into())];
            for t in &group[0].1 {
                query.push(("tag", t.clone()));
            }
            let path = format!("{}/append_jsonl", Http::path(pool)?);
            let mut answer =
                self.client
                    .request("POST", &path, Some(("application/jsonl", &body)), &query)?;
            let v = read_json(&mut answer, self.client.base())?;
            if first.is_none() {
                first = v["first_seq"].as_u64();
            }
            count += v["appended"].as_u64().unwrap_or(0);
            if let Some(e) = v["errors"].as_array().and_then(|e| e.first()) {
                return Err(Outcome::Error(Failure {
                    kind: e["kind"].as_str().unwrap_or("Usage").to_owned(),
                    message: e["message"].as_str().unwrap_or_default().to_owned(),
                    ..Failure::default()
                }));
            }
        }
        Ok((first, count))
    }

    fn get(&mut self, pool: &str, seq: u64) -> R<Msg> {
        let v = self.call(
            "GET",
            &format!("{}/messages/{seq}", Http::path(pool)?),
            None,
        )?;
        envelope(&v)
    }

    fn tail(&mut self, pool: &str, spec: &TailSpec, hook: Hook<'_>) -> R<TailResult> {
        let mut query: Vec<(&str, String)> = vec![("timeout_ms", spec.timeout_ms.to_string())];
        match (spec.start, spec.since_seq) {
            (Start::Oldest, Some(s)) => query.push(("since_seq", s.to_string())),
            (Start::Oldest, None) => {}
            (Start::Live, _) => query.push(("last", "0".into())),
            (Start::Last(n), _) => query.push(("last", n.to_string())),
        }
        if let Some(m) = spec.max {
            query.push(("max", m.to_string()));
        }
        for t in &spec.tags {
            query.push(("tag", t.clone()));
        }
        for w in &spec.wheres {
            query.push(("where", w.clone()));
        }
        if spec.gap_error {
            query.push(("gap_policy", "error".into()));
        }
        let path = format!("{}/tail", Http::path(pool)?);
        let answer = self.client.request("GET", &path, None, &query)?;
        hook(0).map_err(Outcome::Broken)?;
        let mut out = TailResult::default();
        let reader = BufReader::new(answer.into_body().into_reader());
        for line in reader.lines() {
            let line = line.map_err(|e| Outcome::Broken(format!("the tail broke: {e}")))?;
            if line.trim().is_empty() {
                continue;
            }
            let v: Value = serde_json::from_str(&line)
                .map_err(|e| Outcome::Broken(format!("tail sent {line:?}: {e}")))?;
            if let Some(e) = v.get("error") {
                out.error = Some(Failure::from_json(e));
                break;
            }
            out.messages.push(
                Msg::from_envelope(&v)
                    .ok_or_else(|| Outcome::Broken(format!("not an envelope: {v}")))?,
            );
            hook(out.messages.len()).map_err(Outcome::Broken)?;
        }
        Ok(out)
    }

    fn list_pools(&mut self) -> R<Vec<String>> {
        let v = self.call("GET", "/v0/pools", None)?;
        Ok(v["pools"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default())
    }

    fn pool_info(&mut self, pool: &str) -> R<PoolInfo> {
        let v = self.call("GET", &format!("{}/info", Http::path(pool)?), None)?;
        let p = &v["pool"];
        Ok(PoolInfo {
            file_size: p["file_size"].as_u64().unwrap_or(0),
            ring_size: p["ring_size"].as_u64().unwrap_or(0),
            oldest: p["bounds"]["oldest"].as_u64(),
            newest: p["bounds"]["newest"].as_u64(),
        })
    }

    fn delete_pool(&mut self, pool: &str) -> R<()> {
        self.call("DELETE", &Http::path(pool)?, None)?;
        Ok(())
    }
}
