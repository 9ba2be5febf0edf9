//! The pool routes: create, list, open, info, delete, append (JSON, Lite³, JSON Lines in bulk)
//! and get (JSON, Lite³). Each parses its request, runs the engine on a blocking thread within
//! the storage limit, and formats the answer.
//!
//! # Invariants
//! - Nothing blocking runs on the async runtime: every file operation goes through
//!   [`State::storage`].
//! - A bulk append never loses a good record to a bad one beside it: rejected lines are
//!   reported by line number and the others are appended, in order.
//!
//! Spec: `spec/HTTP.md` §4.

use super::appender::Payload;
use super::http::{self, Body, Rejection, bad_field, usage};
use super::router::{Captures, Handler, bad_request, pool_name};
use super::state::State;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Request, Response, StatusCode};
use plasmite_os::append::Batcher;
use plasmite_os::ingest::{Ingest, Item, Mode, Policy};
use plasmite_os::message::{check, encode, to_value};
use plasmite_os::pool::now_ns;
use plasmite_os::{CreateOptions, Durability, Error, ErrorKind, Pool, PoolName, dir};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// A pool created without `size_bytes`.
pub const DEFAULT_POOL_SIZE: u64 = 1 << 20;
/// Per-record errors a bulk append lists (the count covers them all).
pub const BULK_ERRORS_LISTED: usize = 100;

/// Runs a pool route.
pub async fn handle(
    handler: Handler,
    req: Request<Incoming>,
    caps: Captures,
    state: &Arc<State>,
) -> Result<Response<Body>, Rejection> {
    let limit = state.config.max_body_bytes;
    let st = Arc::clone(state);
    let ok = |v: Value| Ok(http::json_response(StatusCode::OK, &v));
    match handler {
        Handler::CreatePool => {
            let body = http::read_json(req, limit).await?;
            let name = body_pool(&body)?;
            let size = match body.get("size_bytes") {
                None | Some(Value::Null) => DEFAULT_POOL_SIZE,
                Some(v) => v
                    .as_u64()
                    .ok_or_else(|| bad_field("size_bytes", "must be a non-negative integer"))?,
            };
            let info = state
                .storage(move || {
                    let path = name.path_in(st.pools.dir());
                    std::fs::create_dir_all(st.pools.dir()).map_err(|e| {
                        Error::io(e, "failed to create pool directory", st.pools.dir())
                    })?;
                    let pool = Pool::create(
                        &path,
                        CreateOptions {
                            size,
                            index_capacity: None,
                        },
                    )?;
                    pool.info().map(|i| i.to_json(name.as_str(), now_ns()))
                })
                .await?;
            ok(json!({ "pool": info }))
        }
        Handler::ListPools | Handler::UiPools => {
            let pools = state.storage(move || list(&st)).await?;
            ok(json!({ "pools": pools }))
        }
        Handler::OpenPool => {
            let body = http::read_json(req, limit).await?;
            let name = body_pool(&body)?;
            ok(json!({ "pool": state.storage(move || info(&st, &name)).await? }))
        }
        Handler::PoolInfo | Handler::UiInfo => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            ok(json!({ "pool": state.storage(move || info(&st, &name)).await? }))
        }
        Handler::DeletePool => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            state
                .storage(move || {
                    st.pools.forget(&name);
                    dir::delete(&name.path_in(st.pools.dir()))
                })
                .await?;
            ok(json!({ "ok": true }))
        }
        Handler::Append => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            let body = http::read_json(req, limit).await?;
            let data = body
                .get("data")
                .cloned()
                .ok_or_else(|| bad_field("data", "missing"))?;
            let tags = tags_field(body.get("tags"))?;
            let durability = match body.get("durability") {
                None | Some(Value::Null) => Durability::Fast,
                Some(Value::String(s)) if s == "flush" => Durability::Flush,
                Some(Value::String(_)) => Durability::Fast,
                Some(_) => return Err(bad_field("durability", "must be \"fast\" or \"flush\"")),
            };
            let message = state
                .appenders
                .append(
                    &state.pools,
                    &name,
                    Payload::Json { data, tags },
                    durability,
                )
                .await?;
            ok(json!({ "message": message }))
        }
        Handler::AppendLite3 => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            let durability = durability_param(req.uri().query())?;
            if let Some(m) = http::media_type(&req)
                && !m.starts_with("application/x-plasmite-lite3")
            {
                return Err(Rejection(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    usage(
                        format!("unsupported content type '{m}'"),
                        "Send the payload with Content-Type: application/x-plasmite-lite3.",
                    ),
                ));
            }
            let payload = http::read_body(req, limit).await?;
            if payload.is_empty() {
                return Err(bad_request(usage(
                    "the Lite³ payload is empty",
                    "Send one Lite³ message envelope as the body.",
                )));
            }
            check(&payload).map_err(|e| {
                bad_request(usage(
                    format!("the body is not a valid Lite³ envelope: {e}"),
                    "Send one encoded message envelope ({\"meta\":{\"tags\":[…]},\"data\":{…}}).",
                ))
            })?;
            let message = state
                .appenders
                .append(&state.pools, &name, Payload::Lite3(payload), durability)
                .await?;
            ok(json!({ "message": message }))
        }
        Handler::AppendJsonl => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            let params = BulkParams::parse(req.uri().query())?;
            let body = http::read_body(req, limit).await?;
            let summary = state
                .storage(move || {
                    let pool = st.pools.get(&name)?;
                    bulk(&pool, &body, &params)
                })
                .await?;
            ok(summary)
        }
        Handler::Get | Handler::GetLite3 => {
            let name = pool_name(caps.pool.as_deref()).map_err(bad_request)?;
            let raw = caps.seq.unwrap_or_default();
            let seq = raw.parse::<u64>().map_err(|_| {
                bad_request(usage(
                    format!("invalid seq '{raw}'"),
                    "Give the message's sequence number (a non-negative integer).",
                ))
            })?;
            let msg = state.storage(move || st.pools.get(&name)?.get(seq)).await?;
            if handler == Handler::GetLite3 {
                let mut r = http::response(
                    StatusCode::OK,
                    "application/x-plasmite-lite3",
                    http::full(Bytes::from(msg.payload.clone())),
                );
                r.headers_mut()
                    .insert("plasmite-seq", HeaderValue::from(msg.seq));
                r.headers_mut()
                    .insert("plasmite-time-ns", HeaderValue::from(msg.timestamp_ns));
                return Ok(r);
            }
            ok(json!({ "message": to_value(&msg.printed())? }))
        }
        _ => Err(Rejection(
            StatusCode::INTERNAL_SERVER_ERROR,
            Error::new(ErrorKind::Internal, "route without a handler"),
        )),
    }
}

/// The `pool` field of a request body.
fn body_pool(body: &Map<String, Value>) -> Result<PoolName, Rejection> {
    match body.get("pool") {
        Some(Value::String(s)) => PoolName::new(s).map_err(bad_request),
        Some(_) => Err(bad_field("pool", "must be a string")),
        None => Err(bad_field("pool", "missing")),
    }
}

/// The `tags` field: an array of strings (trimmed, empties dropped).
fn tags_field(v: Option<&Value>) -> Result<Vec<String>, Rejection> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| match t {
                Value::String(s) => Ok(s.trim().to_owned()),
                _ => Err(bad_field("tags", "must be an array of strings")),
            })
            .filter(|t| !matches!(t, Ok(s) if s.is_empty()))
            .collect(),
        Some(_) => Err(bad_field("tags", "must be an array of strings")),
    }
}

/// `?durability=fast|flush`.
fn durability_param(query: Option<&str>) -> Result<Durability, Rejection> {
    let mut d = Durability::Fast;
    for (k, v) in http::query_pairs(query).map_err(bad_request)? {
        if k == "durability" {
            d = match v.as_str() {
                "fast" => Durability::Fast,
                "flush" => Durability::Flush,
                _ => {
                    return Err(bad_request(usage(
                        format!("invalid durability '{v}'"),
                        "Use durability=fast or durability=flush.",
                    )));
                }
            };
        }
    }
    Ok(d)
}

/// The info of pool `name`.
fn info(state: &State, name: &PoolName) -> Result<Value, Error> {
    let pool = state.pools.get(name)?;
    Ok(pool.info()?.to_json(name.as_str(), now_ns()))
}

/// Every pool's info; a pool that cannot be read is listed with its error.
fn list(state: &State) -> Result<Vec<Value>, Error> {
    let now = now_ns();
    Ok(dir::list(state.pools.dir())?
        .into_iter()
        .map(|l| {
            let got = PoolName::new(&l.name).and_then(|n| {
                let pool = state.pools.get(&n)?;
                Ok(pool.info()?.to_json(&l.name, now))
            });
            got.unwrap_or_else(|e| {
                let mut o = http::error_object(&e);
                o["name"] = json!(l.name);
                o
            })
        })
        .collect())
}

/// The query of a bulk append.
#[derive(Debug)]
struct BulkParams {
    tags: Vec<String>,
    durability: Durability,
    policy: Policy,
    /// `receipts=true`: list each appended message's sequence and time.
    receipts: bool,
}

impl BulkParams {
    fn parse(query: Option<&str>) -> Result<BulkParams, Rejection> {
        let mut p = BulkParams {
            tags: Vec::new(),
            durability: durability_param(query)?,
            policy: Policy::Skip,
            receipts: false,
        };
        for (k, v) in http::query_pairs(query).map_err(bad_request)? {
            match k.as_str() {
                "tag" => {
                    let t = v.trim();
                    if !t.is_empty() {
                        p.tags.push(t.to_owned());
                    }
                }
                "receipts" => {
                    p.receipts = match v.as_str() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        _ => {
                            return Err(bad_request(usage(
                                format!("invalid receipts '{v}'"),
                                "Use receipts=true (list each message's seq and time) or \
                                 receipts=false.",
                            )));
                        }
                    };
                }
                "errors" => {
                    p.policy = match v.as_str() {
                        "skip" => Policy::Skip,
                        "stop" => Policy::Stop,
                        _ => {
                            return Err(bad_request(usage(
                                format!("invalid errors '{v}'"),
                                "Use errors=skip (report bad lines, append the others) or \
                                 errors=stop (stop at the first bad line).",
                            )));
                        }
                    };
                }
                _ => {}
            }
        }
        Ok(p)
    }
}

/// Appends every record of a JSON Lines `body` in batches; the summary.
fn bulk(pool: &Pool, body: &[u8], p: &BulkParams) -> Result<Value, Error> {
    let refs: Vec<&str> = p.tags.iter().map(String::as_str).collect();
    let max = pool.max_payload_len();
    let mut ingest = Ingest::new(body, Mode::Jsonl, Policy::Skip);
    let mut batcher = Batcher::new(pool, p.durability);
    let mut errors = Vec::new();
    let mut rejected = 0u64;
    let mut stopped = false;
    let reject = |line: Option<u64>, index: u64, e: &Error, errors: &mut Vec<Value>| {
        if errors.len() < BULK_ERRORS_LISTED {
            errors.push(json!({
                "index": index,
                "kind": e.kind().as_str(),
                "line": line,
                "message": e.message(),
            }));
        }
    };
    while let Some(item) = ingest.next_item() {
        match item {
            Item::Record(r) => match encode(&r.value, &refs, max) {
                Ok(payload) => batcher.push(payload)?,
                Err(e) => {
                    rejected += 1;
                    reject(r.line, r.index, &e, &mut errors);
                }
            },
            Item::Rejected(r) => {
                rejected += 1;
                let e = Error::new(ErrorKind::Usage, r.message.clone());
                reject(r.line, r.index, &e, &mut errors);
            }
            Item::Io(e) => {
                return Err(Error::new(ErrorKind::Io, "failed to read the body").with_source(e));
            }
        }
        if rejected > 0 && p.policy == Policy::Stop {
            stopped = true;
            break;
        }
    }
    batcher.flush()?;
    let receipts: Vec<_> = batcher.receipts().collect();
    let mut summary = json!({
        "appended": receipts.len(),
        "errors": errors,
        "first_seq": receipts.first().map(|a| a.seq),
        "last_seq": receipts.last().map(|a| a.seq),
        "rejected": rejected,
        "stopped": stopped,
    });
    if p.receipts {
        summary["receipts"] = receipts
            .iter()
            .map(|a| json!({"seq": a.seq, "time": plasmite_os::time::rfc3339(a.timestamp_ns)}))
            .collect();
    }
    Ok(summary)
}
