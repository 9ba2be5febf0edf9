//! `bridge in`: a durable JetStream consumer appending a stream's messages to a pool, in
//! batches, acknowledging after each batch is appended.
//!
//! Role: pulls messages in stream order, maps each to a pool message (data from the JSON body,
//! tags from the `Plasmite-Tags` header plus [`BRIDGED_TAG`]), appends them through a
//! [`Batcher`] (one lock acquisition per batch), then acknowledges the batch's last message
//! (the consumer acknowledges everything up to it).
//!
//! # Invariants
//! - Nothing is acknowledged before it is appended: a crash loses no message (at worst a batch
//!   appended but not yet acknowledged is delivered again and appended again).
//! - Within a run a message is appended once: redeliveries at or below the last appended stream
//!   sequence are skipped.
//! - Where to resume is the durable consumer's: the server keeps it, the bridge keeps no file.
//! - A message that cannot be a pool message (too large for the pool) is reported and skipped;
//!   it never stops the messages after it.
//!
//! Spec: `spec/BRIDGE.md` §3.

use super::{BRIDGED_TAG, Connect, H_TAGS, Reconnect, Report, nats_error};
use async_nats::jetstream::{self, consumer};
use futures_util::{FutureExt, StreamExt};
use plasmite_os::message::{base64, encode};
use plasmite_os::{Batcher, Durability, Error, ErrorKind, Pool};
use serde_json::{Map, Value};
use std::time::Duration;

/// What `bridge in` was asked to do.
#[derive(Clone, Debug)]
pub struct Config {
    /// The server and credentials.
    pub connect: Connect,
    /// The stream's name.
    pub stream: String,
    /// Only messages on subjects matching this.
    pub filter_subject: Option<String>,
    /// The durable consumer's name.
    pub durable: String,
    /// Append what the stream holds when the bridge starts, then stop.
    pub catch_up: bool,
    /// Messages per pull request, at most.
    pub batch: usize,
}

/// What a finished `bridge in` did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Messages appended to the pool.
    pub appended: u64,
    /// The last stream sequence appended or skipped.
    pub last_stream_seq: Option<u64>,
}

/// Runs `bridge in` into `pool` until it fails (or, with `catch_up`, is done).
pub fn run(pool: &Pool, cfg: &Config, report: &mut dyn FnMut(Report)) -> Result<Summary, Error> {
    let rt = super::runtime()?;
    let out = rt.block_on(consume(pool, cfg, report));
    rt.shutdown_background();
    out
}

async fn consume(
    pool: &Pool,
    cfg: &Config,
    report: &mut dyn FnMut(Report),
) -> Result<Summary, Error> {
    let client = cfg.connect.connect(Reconnect::Auto).await?;
    let js = jetstream::new(client.clone());
    let stream = match js.get_stream(&cfg.stream).await {
        Ok(s) => s,
        Err(e) => {
            use jetstream::context::GetStreamErrorKind as K;
            let missing = matches!(e.kind(), K::JetStream(ref j) if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND);
            return Err(if missing {
                Error::new(
                    ErrorKind::NotFound,
                    format!("stream {} not found", cfg.stream),
                )
                .with_hint("Create the stream first (bridging a pool out can create it).")
            } else {
                nats_error(
                    ErrorKind::Io,
                    &format!("failed to look up stream {}", cfg.stream),
                    e,
                )
                .with_hint("Check that the server runs with JetStream enabled.")
            });
        }
    };
    let batch = cfg.batch.max(1);
    let config = consumer::pull::Config {
        durable_name: Some(cfg.durable.clone()),
        filter_subject: cfg.filter_subject.clone().unwrap_or_default(),
        ack_policy: consumer::AckPolicy::All,
        deliver_policy: consumer::DeliverPolicy::All,
        ack_wait: Duration::from_secs(30),
        max_ack_pending: i64::try_from(batch * 8).unwrap_or(i64::MAX).max(10_000),
        ..Default::default()
    };
    let mut consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(&cfg.durable, config)
        .await
        .map_err(|e| {
            nats_error(
                ErrorKind::Io,
                &format!(
                    "failed to open consumer {} on stream {}",
                    cfg.durable, cfg.stream
                ),
                e,
            )
            .with_hint(
                "A consumer of that name may exist with another configuration: use another \
                 consumer name, or delete the old consumer.",
            )
        })?;
    let info = consumer
        .info()
        .await
        .map_err(|e| nats_error(ErrorKind::Io, "failed to read the consumer's state", e))?;
    let mut summary = Summary::default();
    let mut done = info.ack_floor.stream_sequence;
    report(Report::Resumed {
        at: done,
        reconnect: false,
    });
    if cfg.catch_up && info.num_pending == 0 && info.num_ack_pending == 0 {
        return Ok(summary);
    }
    let mut batcher = Batcher::new(pool, Durability::Fast).without_receipts();
    let max = batcher.max_payload_len();
    let mut messages = open_messages(&consumer, batch, report).await;
    loop {
        // The first message of a batch is waited for; the rest are those already here.
        let first = match messages.next().await {
            Some(Ok(m)) => m,
            Some(Err(e)) => {
                report(Report::Disconnected {
                    reason: format!("pulling messages failed: {e}"),
                });
                tokio::time::sleep(Duration::from_millis(200)).await;
                messages = open_messages(&consumer, batch, report).await;
                continue;
            }
            None => {
                messages = open_messages(&consumer, batch, report).await;
                continue;
            }
        };
        let mut got = vec![first];
        while got.len() < batch {
            match messages.next().now_or_never() {
                Some(Some(Ok(m))) => got.push(m),
                _ => break,
            }
        }
        let mut last: Option<(jetstream::Message, u64)> = None;
        for m in got {
            let Ok(info) = m.info() else { continue };
            let (seq, pending) = (info.stream_sequence, info.pending);
            if seq > done {
                match incoming(&m, max) {
                    Ok(payload) => {
                        batcher.push(payload)?;
                        summary.appended += 1;
                    }
                    Err(reason) => report(Report::Refused {
                        stream_seq: seq,
                        reason,
                    }),
                }
                done = seq;
                summary.last_stream_seq = Some(seq);
            }
            last = Some((m, pending));
        }
        batcher.flush()?;
        if let Some((m, pending)) = last {
            if let Err(e) = m.ack().await {
                report(Report::Disconnected {
                    reason: format!("acknowledgement failed: {e}"),
                });
            }
            if cfg.catch_up && pending == 0 {
                let _ = client.flush().await;
                // The consumer's acknowledgement floor has moved when the server answers.
                let _ = consumer.info().await;
                return Ok(summary);
            }
        }
    }
}

/// The consumer's message stream, retried (with a backoff) until the server answers.
async fn open_messages(
    consumer: &consumer::PullConsumer,
    batch: usize,
    report: &mut dyn FnMut(Report),
) -> consumer::pull::Stream {
    let mut backoff = Duration::from_millis(100);
    loop {
        match consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(30))
            .messages()
            .await
        {
            Ok(s) => return s,
            Err(e) => {
                report(Report::Disconnected {
                    reason: format!("failed to pull messages: {e}"),
                });
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// The stream message `m` as a pool payload of at most `max` bytes, or why not.
///
/// The body is the data when it is a JSON object; another JSON value becomes `{"value": v}`,
/// other UTF-8 text `{"text": s}`, other bytes `{"base64": s}`. The tags are the
/// `Plasmite-Tags` header's, plus [`BRIDGED_TAG`].
pub fn incoming(m: &async_nats::Message, max: usize) -> Result<Vec<u8>, String> {
    let mut tags: Vec<String> = match m.headers.as_ref().and_then(|h| h.get(H_TAGS)) {
        Some(v) => serde_json::from_str(v.as_str())
            .map_err(|e| format!("its {H_TAGS} header is not a JSON array of strings: {e}"))?,
        None => Vec::new(),
    };
    if !tags.iter().any(|t| t == BRIDGED_TAG) {
        tags.push(BRIDGED_TAG.to_owned());
    }
    let data = match serde_json::from_slice::<Value>(&m.payload) {
        Ok(v @ Value::Object(_)) => v,
        Ok(v) => wrap("value", v),
        Err(_) => match std::str::from_utf8(&m.payload) {
            Ok(s) => wrap("text", Value::String(s.to_owned())),
            Err(_) => wrap("base64", Value::String(base64(&m.payload))),
        },
    };
    let tags: Vec<&str> = tags.iter().map(String::as_str).collect();
    encode(&data, &tags, max).map_err(|e| e.message().to_owned())
}

fn wrap(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_owned(), v);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plasmite_os::message::{Printed, to_value};
    use serde_json::json;

    fn message(body: &[u8], tags: Option<&str>) -> async_nats::Message {
        let headers = tags.map(|t| {
            let mut h = async_nats::HeaderMap::new();
            h.insert(H_TAGS, t);
            h
        });
        async_nats::Message {
            subject: "pls.a".into(),
            reply: None,
            payload: bytes::Bytes::copy_from_slice(body),
            headers,
            status: None,
            description: None,
            length: body.len(),
        }
    }

    fn decoded(payload: &[u8]) -> Value {
        let v = to_value(&Printed {
            seq: 1,
            timestamp_ns: 0,
            payload,
        })
        .expect("a valid payload");
        json!({"data": v["data"], "tags": v["meta"]["tags"]})
    }

    #[test]
    fn an_object_body_is_the_data_and_the_tags_header_gains_the_bridged_tag() {
        let p = incoming(
            &message(br#"{"a":[1,2.5]}"#, Some(r#"["x","y z"]"#)),
            1 << 20,
        );
        assert_eq!(
            decoded(&p.expect("mapped")),
            json!({"data": {"a": [1, 2.5]}, "tags": ["x", "y z", BRIDGED_TAG]})
        );
    }

    #[test]
    fn other_bodies_are_wrapped_by_what_they_are() {
        let data = |body: &[u8]| {
            decoded(&incoming(&message(body, None), 1 << 20).unwrap())["data"].clone()
        };
        assert_eq!(data(b"[1,2]"), json!({"value": [1, 2]}));
        assert_eq!(data(b"plain text"), json!({"text": "plain text"}));
        assert_eq!(data(&[0xff, 0x00]), json!({"base64": "/wA="}));
        assert_eq!(
            decoded(&incoming(&message(b"{}", None), 1 << 20).unwrap())["tags"],
            json!([BRIDGED_TAG])
        );
    }

    #[test]
    fn a_malformed_tags_header_or_an_oversized_message_is_refused() {
        assert!(incoming(&message(b"{}", Some("not json")), 1 << 20).is_err());
        let big = format!("{{\"s\":\"{}\"}}", "x".repeat(4096));
        assert!(incoming(&message(big.as_bytes(), None), 1024).is_err());
    }
}
