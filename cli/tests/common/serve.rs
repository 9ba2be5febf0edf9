//! A running `pls serve` for black-box tests, and a small HTTP/1.1 client over a plain socket
//! (so tests control every byte: raw paths, slow clients, half-read tails).
#![allow(dead_code, unreachable_pub)]

use super::{Env, PLS};
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A server started by a test; killed when dropped.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    pub ready_file: PathBuf,
    pub stderr_file: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Env {
    /// `pls --dir DIR serve --bind 127.0.0.1:0 ARGS…`, waiting until it listens.
    pub fn serve(&self, args: &[&str]) -> Served {
        self.serve_with(args, &[])
    }

    /// [`Env::serve`] with extra environment variables.
    pub fn serve_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Served {
        let stamp = format!("{}-{:x}", std::process::id(), rand_ish());
        let ready_file = self.root.join(format!("ready-{stamp}"));
        let stderr_file = self.root.join(format!("serve-{stamp}.log"));
        let _ = std::fs::remove_file(&ready_file);
        let mut c = Command::new(PLS);
        c.arg("--dir").arg(&self.dir).arg("serve");
        if !args.contains(&"--bind") && !args.contains(&"--port") {
            c.args(["--bind", "127.0.0.1:0"]);
        }
        c.args(args)
            .env("HOME", &self.home)
            .env("PLASMITE_SERVE_READY_FILE", &ready_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&stderr_file).expect("log file"));
        for (k, v) in vars {
            c.env(k, v);
        }
        let mut child = c.spawn().expect("pls serve starts");
        let started = Instant::now();
        loop {
            if let Ok(s) = std::fs::read_to_string(&ready_file)
                && let Ok(addr) = s.trim().parse()
            {
                return Served {
                    child,
                    addr,
                    ready_file,
                    stderr_file,
                };
            }
            if let Ok(Some(status)) = child.try_wait() {
                let log = std::fs::read_to_string(&stderr_file).unwrap_or_default();
                panic!("pls serve {args:?} exited with {status} before listening:\n{log}");
            }
            assert!(
                started.elapsed() < Duration::from_secs(15),
                "pls serve did not listen within 15 s"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn rand_ish() -> u128 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u8(0);
    u128::from(h.finish())
}

/// An answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    /// Header names in lowercase.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}): {} {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Every non-empty line as JSON.
    pub fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .filter(|l| !l.is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect()
    }

    /// The JSON error object, checking the status.
    pub fn error(&self, status: u16, kind: &str) -> Value {
        assert_eq!(self.status, status, "{}", self.text());
        let v = self.json();
        assert_eq!(v["error"]["kind"], kind, "{v}");
        assert!(v["error"]["message"].is_string(), "{v}");
        v["error"].clone()
    }
}

impl Served {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Sends one request (`Connection: close`) and reads the whole answer.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        let mut s = self.send(method, path, headers, body);
        read_response(&mut s)
    }

    pub fn get(&self, path: &str) -> Resp {
        self.request("GET", path, &[], b"")
    }

    pub fn post_json(&self, path: &str, body: &Value) -> Resp {
        self.request(
            "POST",
            path,
            &[("content-type", "application/json")],
            body.to_string().as_bytes(),
        )
    }

    /// Writes a request and returns the socket, for reading the answer bit by bit.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> TcpStream {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).ok();
        let mut req = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\n",
            self.addr
        );
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("content-length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        s.write_all(req.as_bytes()).expect("write");
        s.write_all(body).expect("write body");
        s
    }
}

/// Reads a whole HTTP/1.1 answer (content-length, chunked, or until close).
pub fn read_response(s: &mut TcpStream) -> Resp {
    let mut r = BufReader::new(s);
    let (status, headers) = read_head(&mut r);
    let body = read_body(&mut r, &headers);
    Resp {
        status,
        headers,
        body,
    }
}

/// Reads the status line and headers.
pub fn read_head(r: &mut impl BufRead) -> (u16, Vec<(String, String)>) {
    let mut line = String::new();
    r.read_line(&mut line).expect("status line");
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {line:?}"));
    let mut headers = Vec::new();
    loop {
        line.clear();
        r.read_line(&mut line).expect("header");
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (status, headers)
}

fn read_body(r: &mut impl BufRead, headers: &[(String, String)]) -> Vec<u8> {
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if get("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        while let Some(chunk) = read_chunk(r) {
            body.extend_from_slice(&chunk);
        }
    } else if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body).expect("body");
    } else {
        let _ = r.read_to_end(&mut body);
    }
    body
}

/// The next chunk of a chunked body (`None` at its end).
pub fn read_chunk(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut line = String::new();
    if r.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let n = usize::from_str_radix(line.trim().split(';').next()?, 16).ok()?;
    if n == 0 {
        let mut end = String::new();
        let _ = r.read_line(&mut end);
        return None;
    }
    let mut chunk = vec![0; n + 2];
    r.read_exact(&mut chunk).ok()?;
    chunk.truncate(n);
    Some(chunk)
}

impl Served {
    /// Sends `request` exactly as given (head and body) and reads the whole answer.
    pub fn raw(&self, request: &[u8]) -> Resp {
        let mut s = TcpStream::connect(self.addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).ok();
        s.write_all(request).expect("write");
        read_response(&mut s)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a request and reads only the answer's head: the body is then read bit by bit
    /// (a tail).
    pub fn open(&self, path: &str, headers: &[(&str, &str)]) -> Streamed {
        Streamed::new(self.send("GET", path, headers, b""))
    }

    /// Sends SIGTERM (through `kill(1)`: the tests have no libc).
    pub fn terminate(&self) {
        let st = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(st.success(), "kill -TERM failed: {st}");
    }

    /// Waits up to `limit` for the server to exit; its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let started = Instant::now();
        loop {
            if let Ok(Some(s)) = self.child.try_wait() {
                return Some(s);
            }
            if started.elapsed() > limit {
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The server's resident set size in KiB (`VmRSS` of /proc/PID/status).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("/proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS line")
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_file).unwrap_or_default()
    }
}

/// How a read of a streamed body went.
#[derive(Debug)]
pub enum Fill {
    /// More body bytes are buffered.
    Data,
    /// The chunked terminator (or, without chunking, end of file) arrived: the body ended
    /// cleanly.
    End,
    /// The read failed or timed out, or the connection closed without a terminator.
    Broken(String),
}

/// One server-sent event.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SseEvent {
    pub id: Option<u64>,
    pub event: String,
    pub data: String,
}

impl SseEvent {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data)
            .unwrap_or_else(|e| panic!("SSE data is not JSON ({e}): {self:?}"))
    }
}

/// One frame of a Lite³ tail: `[u64be seq][u64be ts_ns][u32be len][payload]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lite3Frame {
    pub seq: u64,
    pub timestamp_ns: u64,
    pub payload: Vec<u8>,
}

/// An answer whose head was read and whose body is read as it comes (chunk by chunk).
pub struct Streamed {
    r: BufReader<TcpStream>,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    chunked: bool,
    /// Body bytes read but not consumed yet.
    buf: Vec<u8>,
    /// Whether the body ended cleanly.
    pub ended: bool,
    /// Why the body stopped without ending cleanly.
    pub broken: Option<String>,
}

impl Streamed {
    pub fn new(s: TcpStream) -> Streamed {
        let mut r = BufReader::new(s);
        let (status, headers) = read_head(&mut r);
        let chunked = headers
            .iter()
            .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
        Streamed {
            r,
            status,
            headers,
            chunked,
            buf: Vec::new(),
            ended: false,
            broken: None,
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Bounds each socket read.
    pub fn set_timeout(&self, d: Duration) {
        self.r.get_ref().set_read_timeout(Some(d)).ok();
    }

    /// Reads the next piece of the body into the buffer.
    pub fn fill(&mut self) -> Fill {
        if self.ended {
            return Fill::End;
        }
        if let Some(b) = &self.broken {
            return Fill::Broken(b.clone());
        }
        let got = if self.chunked {
            read_chunk_strict(&mut self.r)
        } else {
            let mut b = vec![0; 64 * 1024];
            match self.r.read(&mut b) {
                Ok(0) => Ok(None),
                Ok(n) => {
                    b.truncate(n);
                    Ok(Some(b))
                }
                Err(e) => Err(e.to_string()),
            }
        };
        match got {
            Ok(Some(b)) => {
                self.buf.extend_from_slice(&b);
                Fill::Data
            }
            Ok(None) => {
                self.ended = true;
                Fill::End
            }
            Err(e) => {
                self.broken = Some(e.clone());
                Fill::Broken(e)
            }
        }
    }

    /// Reads the whole rest of the body; whether it ended cleanly is in [`Streamed::ended`].
    pub fn rest(&mut self) -> Vec<u8> {
        while let Fill::Data = self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// The next line of the body (without its `\n`); `None` once the body stops.
    pub fn line(&mut self) -> Option<String> {
        loop {
            if let Some(i) = self.buf.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=i).collect();
                return Some(String::from_utf8_lossy(&line[..i]).into_owned());
            }
            if !matches!(self.fill(), Fill::Data) {
                return None;
            }
        }
    }

    /// The next non-empty line as JSON.
    pub fn json_line(&mut self) -> Option<Value> {
        loop {
            let l = self.line()?;
            if !l.trim().is_empty() {
                return Some(
                    serde_json::from_str(&l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")),
                );
            }
        }
    }

    /// The next server-sent event (comments skipped); `None` once the body stops.
    pub fn event(&mut self) -> Option<SseEvent> {
        let mut ev = SseEvent::default();
        let mut any = false;
        let mut data: Vec<String> = Vec::new();
        loop {
            let l = self.line()?;
            if l.is_empty() {
                if any {
                    ev.data = data.join("\n");
                    if ev.event.is_empty() {
                        ev.event = "message".into();
                    }
                    return Some(ev);
                }
                continue;
            }
            if l.starts_with(':') {
                continue;
            }
            any = true;
            let (k, v) = l.split_once(':').unwrap_or((&l, ""));
            let v = v.strip_prefix(' ').unwrap_or(v);
            match k {
                "id" => ev.id = Some(v.parse().unwrap_or_else(|_| panic!("SSE id {v:?}"))),
                "event" => ev.event = v.to_owned(),
                "data" => data.push(v.to_owned()),
                _ => {}
            }
        }
    }

    /// The next Lite³ frame; `None` once the body stops (a partial frame left over is kept).
    pub fn frame(&mut self) -> Option<Lite3Frame> {
        loop {
            if self.buf.len() >= 20 {
                let be64 = |b: &[u8]| u64::from_be_bytes(b.try_into().expect("8 bytes"));
                let len = u32::from_be_bytes(self.buf[16..20].try_into().expect("4 bytes"));
                let len = len as usize;
                if self.buf.len() >= 20 + len {
                    let f = Lite3Frame {
                        seq: be64(&self.buf[0..8]),
                        timestamp_ns: be64(&self.buf[8..16]),
                        payload: self.buf[20..20 + len].to_vec(),
                    };
                    self.buf.drain(..20 + len);
                    return Some(f);
                }
            }
            if !matches!(self.fill(), Fill::Data) {
                return None;
            }
        }
    }

    /// Bytes read but not consumed.
    pub fn leftover(&self) -> &[u8] {
        &self.buf
    }
}

/// The next chunk of a chunked body: `Ok(None)` at the terminator, `Err` when the connection
/// fails or closes before it.
fn read_chunk_strict(r: &mut impl BufRead) -> Result<Option<Vec<u8>>, String> {
    let mut line = String::new();
    match r.read_line(&mut line) {
        Ok(0) => return Err("connection closed before the chunked terminator".into()),
        Ok(_) => {}
        Err(e) => return Err(e.to_string()),
    }
    let size = line.trim().split(';').next().unwrap_or("");
    let n = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {line:?}"))?;
    if n == 0 {
        let mut end = String::new();
        r.read_line(&mut end).map_err(|e| e.to_string())?;
        return Ok(None);
    }
    let mut chunk = vec![0; n + 2];
    r.read_exact(&mut chunk).map_err(|e| e.to_string())?;
    chunk.truncate(n);
    Ok(Some(chunk))
}

/// `curl` when it is installed (tests of h2 and TLS skip without it).
pub fn curl() -> Option<Command> {
    let ok = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| {
        let mut c = Command::new("curl");
        c.args(["--silent", "--show-error", "--max-time", "10"]);
        c
    })
}

impl Served {
    /// `POST /v0/pools` (200 expected); the pool's info.
    #[track_caller]
    pub fn create_pool(&self, pool: &str, size_bytes: Option<u64>) -> Value {
        let mut body = serde_json::json!({ "pool": pool });
        if let Some(n) = size_bytes {
            body["size_bytes"] = n.into();
        }
        let r = self.post_json("/v0/pools", &body);
        assert_eq!(r.status, 200, "create {pool}: {}", r.text());
        r.json()["pool"].clone()
    }

    /// `POST /v0/pools/{pool}/append` (200 expected); the envelope.
    #[track_caller]
    pub fn append(&self, pool: &str, data: &Value, tags: &[&str]) -> Value {
        let r = self.post_json(
            &format!("/v0/pools/{pool}/append"),
            &serde_json::json!({ "data": data, "tags": tags }),
        );
        assert_eq!(r.status, 200, "append to {pool}: {}", r.text());
        r.json()["message"].clone()
    }

    /// `POST /v0/pools/{pool}/append_jsonl` of `body` (200 expected); the summary.
    #[track_caller]
    pub fn append_jsonl(&self, pool: &str, query: &str, body: &str) -> Value {
        let r = self.request(
            "POST",
            &format!("/v0/pools/{pool}/append_jsonl{query}"),
            &[("content-type", "application/jsonl")],
            body.as_bytes(),
        );
        assert_eq!(r.status, 200, "append_jsonl to {pool}: {}", r.text());
        r.json()
    }
}
