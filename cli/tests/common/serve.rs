//! A running `pls serve` for black-box tests, and a small HTTP/1.1 client over a plain socket
//! (so tests control every byte: raw paths, slow clients, half-read tails).
#![allow(dead_code, unreachable_pub)]

use super::{Env, PLS};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
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
        if !args.contains(&"--bind") {
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
