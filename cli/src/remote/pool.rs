//! A pool on a plasmite server: the remote counterpart of [`plasmite_os::Pool`].
//!
//! Role: pool management on a server ([`RemoteClient`]: create, open, list, delete), and on one
//! pool ([`RemotePool`]): info, appends (one, in bulk through `append_jsonl`, Lite³), gets and
//! tails. [`RemoteSink`] is the [`Sink`] of remote appends, so `feed` and `duplex` hand their
//! batches to a [`plasmite_os::Batcher`] whichever side the pool is on; remote messages are
//! turned into [`Message`]s, so followers print and filter them as they do local ones.
//!
//! # Invariants
//! - A batch is sent in bodies below the server's default body limit, through `append_jsonl`
//!   when the server has it (one request per body, never one per message), else one `append`
//!   per message; receipts come back in order, one per appended message.
//! - A message fetched or tailed prints exactly as the server's JSON: `data` and tags are
//!   re-encoded losslessly, the time keeps its nanoseconds.
//!
//! Spec: `spec/CLI.md` §3.2 (remote pools), `spec/HTTP.md` §4.

use super::client::{Options, RemoteClient, read_json};
use plasmite_os::append::Sink;
use plasmite_os::message::{Printed, Style, encode, print_data};
use plasmite_os::time::{parse_rfc3339, saturating_ns};
use plasmite_os::{Appended, Durability, Error, ErrorKind, Message, RemoteRef};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// Bytes of JSON Lines sent in one `append_jsonl` request: under the server's default body
/// limit (1 MiB) with room to spare.
const BULK_BODY: usize = 900 << 10;

impl RemoteClient {
    /// Creates pool `name` of `size_bytes` (the server's default when `None`).
    pub fn create_pool(&self, name: &str, size_bytes: Option<u64>) -> Result<Value, Error> {
        let body = serde_json::to_vec(&json!({"pool": name, "size_bytes": size_bytes}))
            .unwrap_or_default();
        let mut a = self.request("POST", "/v0/pools", Some(("application/json", &body)), &[])?;
        Ok(read_json(&mut a, self.base())?["pool"].take())
    }

    /// The info of every pool on the server.
    pub fn list_pools(&self) -> Result<Vec<Value>, Error> {
        let mut a = self.request("GET", "/v0/pools", None, &[])?;
        match read_json(&mut a, self.base())?["pools"].take() {
            Value::Array(v) => Ok(v),
            _ => Ok(Vec::new()),
        }
    }

    /// Deletes pool `name`.
    pub fn delete_pool(&self, name: &str) -> Result<(), Error> {
        self.request("DELETE", &format!("/v0/pools/{}", segment(name)), None, &[])
            .map(drop)
    }
}

/// A pool on a server.
#[derive(Clone, Debug)]
pub struct RemotePool {
    client: RemoteClient,
    /// The pool's name, percent-encoded for paths.
    seg: String,
    /// The pool URL as the user wrote it (for messages).
    url: String,
    max_payload: usize,
}

impl RemotePool {
    /// Opens the pool `r` names (connecting to its server first); NotFound when missing.
    pub fn open(r: &RemoteRef, opts: &Options) -> Result<RemotePool, Error> {
        let client = RemoteClient::connect(r, opts)?;
        let mut pool = RemotePool {
            client,
            seg: segment(r.pool.as_str()),
            url: r.to_string(),
            max_payload: 1 << 20,
        };
        let info = pool.info().map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                let name = r.pool.as_str();
                e.with_hint(format!(
                    "Remote pool not found. Create it on the server first: pls pool create \
                     {name} there (or POST /v0/pools)."
                ))
            } else {
                e
            }
        })?;
        if let Some(ring) = info.get("ring_size").and_then(Value::as_u64) {
            pool.max_payload = usize::try_from(plasmite_os::core::frame::max_payload(ring))
                .unwrap_or(usize::MAX)
                .min(1 << 20);
        }
        Ok(pool)
    }

    /// The server.
    pub fn client(&self) -> &RemoteClient {
        &self.client
    }

    /// The pool's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The largest payload one message may carry (what the server's pool accepts, at most the
    /// 1 MiB a record may have).
    pub fn max_payload_len(&self) -> usize {
        self.max_payload
    }

    fn path(&self, rest: &str) -> String {
        format!("/v0/pools/{}{rest}", self.seg)
    }

    /// The pool's info: the server's JSON (`spec/HTTP.md` §1).
    pub fn info(&self) -> Result<Value, Error> {
        let mut a = self.client.request("GET", &self.path("/info"), None, &[])?;
        Ok(read_json(&mut a, self.client.base())?["pool"].take())
    }

    /// `(oldest, newest)`, or `None` for an empty pool.
    pub fn bounds(&self) -> Result<Option<(u64, u64)>, Error> {
        let info = self.info()?;
        let b = &info["bounds"];
        Ok(b["oldest"].as_u64().zip(b["newest"].as_u64()))
    }

    /// Appends one message; its envelope.
    pub fn append_json(
        &self,
        data: &Value,
        tags: &[&str],
        durability: Durability,
    ) -> Result<Message, Error> {
        let body = json!({"data": data, "durability": durability_name(durability), "tags": tags});
        self.append_body(&serde_json::to_vec(&body).unwrap_or_default())
    }

    fn append_body(&self, body: &[u8]) -> Result<Message, Error> {
        let mut a = self.client.request(
            "POST",
            &self.path("/append"),
            Some(("application/json", body)),
            &[],
        )?;
        to_message(&read_json(&mut a, self.client.base())?["message"])
    }

    /// Appends an encoded Lite³ envelope as it is.
    pub fn append_lite3(&self, payload: &[u8], durability: Durability) -> Result<Message, Error> {
        let q = [("durability", durability_name(durability).to_owned())];
        let mut a = self.client.request(
            "POST",
            &self.path("/append_lite3"),
            Some(("application/x-plasmite-lite3", payload)),
            &q,
        )?;
        to_message(&read_json(&mut a, self.client.base())?["message"])
    }

    /// Appends JSON Lines in bulk (`append_jsonl`, stopping at the first bad line), tagging
    /// every message with `tags`; a receipt per appended message is pushed onto `out`, then
    /// the first bad line is the error.
    pub fn append_jsonl(
        &self,
        body: &[u8],
        tags: &[String],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error> {
        let mut q: Vec<(&str, String)> = vec![
            ("errors", "stop".to_owned()),
            ("receipts", "true".to_owned()),
            ("durability", durability_name(durability).to_owned()),
        ];
        q.extend(tags.iter().map(|t| ("tag", t.clone())));
        let mut a = self.client.request(
            "POST",
            &self.path("/append_jsonl"),
            Some(("application/jsonl", body)),
            &q,
        )?;
        let v = read_json(&mut a, self.client.base())?;
        let receipts = v["receipts"].as_array();
        match receipts {
            Some(r) => {
                for m in r {
                    out.push(Appended {
                        seq: m["seq"].as_u64().unwrap_or_default(),
                        timestamp_ns: time_ns(&m["time"]).unwrap_or_default(),
                    });
                }
            }
            None => {
                // A server without receipts: the sequences from the range, times unknown.
                if let (Some(first), Some(n)) = (v["first_seq"].as_u64(), v["appended"].as_u64()) {
                    for seq in first..first + n {
                        out.push(Appended {
                            seq,
                            timestamp_ns: 0,
                        });
                    }
                }
            }
        }
        if let Some(e) = v["errors"].as_array().and_then(|e| e.first()) {
            let kind = e["kind"]
                .as_str()
                .and_then(|k| super::client::error_from_json(&json!({"kind": k})))
                .map_or(ErrorKind::Usage, |e| e.kind());
            let message = e["message"].as_str().unwrap_or("record rejected");
            return Err(Error::new(kind, message.to_owned())
                .with_hint("The server refused this record; check it against the pool's limits."));
        }
        Ok(())
    }

    /// Message `seq`.
    pub fn get(&self, seq: u64) -> Result<Message, Error> {
        let mut a =
            self.client
                .request("GET", &self.path(&format!("/messages/{seq}")), None, &[])?;
        to_message(&read_json(&mut a, self.client.base())?["message"])
    }

    /// Message `seq` as stored (its Lite³ payload), with its time.
    pub fn get_lite3(&self, seq: u64) -> Result<Message, Error> {
        let mut a = self.client.request(
            "GET",
            &self.path(&format!("/messages/{seq}/lite3")),
            None,
            &[],
        )?;
        let header = |name: &str| {
            a.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
        };
        let (seq, timestamp_ns) = (
            header("plasmite-seq").unwrap_or(seq),
            header("plasmite-time-ns"),
        );
        let payload = a
            .body_mut()
            .with_config()
            .limit(64 << 20)
            .read_to_vec()
            .map_err(|e| {
                Error::new(ErrorKind::Io, format!("failed to read message {seq}: {e}"))
                    .with_hint("The connection broke; retry.")
            })?;
        Ok(Message {
            seq,
            timestamp_ns: timestamp_ns.unwrap_or_default(),
            payload,
            offset: 0,
        })
    }

    /// A tail of this pool (`spec/HTTP.md` §4.3): `query` as pairs (`since_seq`, `last`, `tag`,
    /// `where`, `gap_policy`, `timeout_ms`, `max`), read line by line.
    pub fn tail(&self, query: &[(&str, String)]) -> Result<super::tail::Lines, Error> {
        let a = self
            .client
            .request("GET", &self.path("/tail"), None, query)?;
        Ok(super::tail::Lines::new(a))
    }

    /// The [`Sink`] that appends to this pool with `tags` on every message; its payloads
    /// are Lite³ envelopes (their tags are not used: `tags` are).
    pub fn sink(&self, tags: &[&str]) -> RemoteSink<'_> {
        RemoteSink {
            pool: self,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            json: false,
        }
    }

    /// A [`Sink`] like [`RemotePool::sink`] whose payloads are each message's `data` as
    /// compact JSON text (an object), sent as they are.
    pub fn json_sink(&self, tags: &[&str]) -> RemoteSink<'_> {
        RemoteSink {
            json: true,
            ..self.sink(tags)
        }
    }
}

/// Batches for a remote pool (see the module invariants).
#[derive(Debug)]
pub struct RemoteSink<'a> {
    pool: &'a RemotePool,
    tags: Vec<String>,
    /// Payloads are JSON text rather than Lite³.
    json: bool,
}

impl Sink for RemoteSink<'_> {
    fn max_payload_len(&self) -> usize {
        self.pool.max_payload
    }

    fn append_batch(
        &self,
        payloads: &[Vec<u8>],
        durability: Durability,
        out: &mut Vec<Appended>,
    ) -> Result<(), Error> {
        let bulk = self.pool.client.health().has("append_jsonl");
        let mut body: Vec<u8> = Vec::with_capacity(BULK_BODY + 4096);
        let tags_json = serde_json::to_string(&self.tags).unwrap_or_else(|_| "[]".into());
        for p in payloads {
            let printed = Printed {
                seq: 0,
                timestamp_ns: 0,
                payload: p,
            };
            if bulk {
                if self.json {
                    body.extend_from_slice(p);
                } else {
                    print_data(&mut body, &printed, Style::Compact)?;
                }
                body.push(b'\n');
                if body.len() >= BULK_BODY {
                    self.pool.append_jsonl(&body, &self.tags, durability, out)?;
                    body.clear();
                }
            } else {
                body.clear();
                body.extend_from_slice(b"{\"data\":");
                if self.json {
                    body.extend_from_slice(p);
                } else {
                    print_data(&mut body, &printed, Style::Compact)?;
                }
                let mut tail = String::new();
                let _ = write!(
                    tail,
                    ",\"durability\":\"{}\",\"tags\":{tags_json}}}",
                    durability_name(durability)
                );
                body.extend_from_slice(tail.as_bytes());
                let m = self.pool.append_body(&body)?;
                out.push(Appended {
                    seq: m.seq,
                    timestamp_ns: m.timestamp_ns,
                });
            }
        }
        if bulk && !body.is_empty() {
            self.pool.append_jsonl(&body, &self.tags, durability, out)?;
        }
        Ok(())
    }
}

fn durability_name(d: Durability) -> &'static str {
    match d {
        Durability::Flush => "flush",
        _ => "fast",
    }
}

/// An RFC 3339 time as Unix nanoseconds.
fn time_ns(v: &Value) -> Option<u64> {
    v.as_str().and_then(parse_rfc3339).map(saturating_ns)
}

/// A message envelope `{"data", "meta": {"tags"}, "seq", "time"}` as a [`Message`].
pub fn to_message(v: &Value) -> Result<Message, Error> {
    let bad = || {
        Error::new(
            ErrorKind::Io,
            "the server sent a message that is not an envelope",
        )
        .with_hint("Check that the URL names a plasmite server.")
    };
    let seq = v["seq"].as_u64().ok_or_else(bad)?;
    let timestamp_ns = time_ns(&v["time"]).ok_or_else(bad)?;
    let tags: Vec<&str> = v["meta"]["tags"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let payload = encode(&v["data"], &tags, usize::MAX)?;
    Ok(Message {
        seq,
        timestamp_ns,
        payload,
        offset: 0,
    })
}

/// `name` percent-encoded as one path segment.
fn segment(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(char::from(b));
        } else {
            let _ = write!(s, "%{b:02X}");
        }
    }
    s
}
