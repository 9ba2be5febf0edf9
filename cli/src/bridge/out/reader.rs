//! The reading half of `bridge out`: follows the pool on a thread of its own and turns each
//! message into a publish (subject, headers, JSON body), handing them over in batches.
//!
//! # Invariants
//! - Items come out in pool order; a partial batch is handed over as soon as the pool has
//!   nothing more, so a live message is never held back.
//! - A message tagged [`BRIDGED_TAG`] is never handed over (it came in through a bridge).
//! - Messages overwritten before they were read are a RetentionGap item that ends the reader,
//!   unless gaps are allowed (then a gap item, and reading goes on).
//!
//! Spec: `spec/BRIDGE.md` §1.1, §2.2.

use super::Config;
use crate::bridge::{BRIDGED_TAG, H_MSG_ID, H_SEQ, H_SOURCE, H_TAGS, H_TIME};
use async_nats::HeaderMap;
use bytes::Bytes;
use plasmite_os::core::lite3::envelope::Envelope;
use plasmite_os::message::{Printed, Style, print_data};
use plasmite_os::time::rfc3339;
use plasmite_os::{Error, ErrorKind, Event, FollowOptions, Follower, GapPolicy, Pool, Start};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// A pool message ready to publish.
pub(super) struct Outgoing {
    pub(super) seq: u64,
    pub(super) subject: String,
    pub(super) headers: HeaderMap,
    pub(super) body: Bytes,
}

/// What the reader hands the publisher.
pub(super) enum Item {
    Message(Outgoing),
    Gap { first: u64, count: u64 },
    Damaged { seq: u64 },
    Failed(Error),
}

/// Items handed over per batch, at most.
const BATCH: usize = 512;

/// The reading half: follows the pool from `start` (to `target` when catching up).
pub(super) struct Reader {
    pub(super) pool: Arc<Pool>,
    pub(super) cfg: Config,
    pub(super) start: u64,
    pub(super) target: Option<u64>,
}

impl Reader {
    pub(super) fn run(self, tx: &mpsc::Sender<Vec<Item>>) {
        let opts = FollowOptions {
            start: Start::Seq(self.start),
            gap: GapPolicy::Continue,
            ..FollowOptions::default()
        };
        let mut follower = match Follower::new(self.pool.clone(), opts) {
            Ok(f) => f,
            Err(e) => {
                let _ = tx.blocking_send(vec![Item::Failed(e)]);
                return;
            }
        };
        let mut batch: Vec<Item> = Vec::with_capacity(BATCH);
        let mut json = Vec::with_capacity(256);
        loop {
            // Wait (briefly, to notice a closed channel) only with nothing to hand over.
            let next = if batch.is_empty() {
                follower.next(Some(Duration::from_millis(100)))
            } else {
                follower.poll()
            };
            let event = match next {
                Ok(e) => e,
                Err(e) => {
                    batch.push(Item::Failed(e));
                    let _ = tx.blocking_send(batch);
                    return;
                }
            };
            let mut reached = false;
            match event {
                None => {
                    if !batch.is_empty() {
                        if tx.blocking_send(std::mem::take(&mut batch)).is_err() {
                            return;
                        }
                    } else if tx.is_closed() {
                        return;
                    }
                    continue;
                }
                Some(Event::Message(m)) => {
                    reached = self.target.is_some_and(|t| m.seq >= t);
                    match outgoing(&self.cfg, &m.printed(), &mut json) {
                        Ok(Some(o)) => batch.push(Item::Message(o)),
                        Ok(None) => {}
                        Err(_) => batch.push(Item::Damaged { seq: m.seq }),
                    }
                }
                Some(Event::Gap {
                    first_missing,
                    count,
                }) => {
                    if self.cfg.allow_gap {
                        batch.push(Item::Gap {
                            first: first_missing,
                            count,
                        });
                    } else {
                        batch.push(Item::Failed(
                            Error::new(
                                ErrorKind::RetentionGap,
                                format!(
                                    "messages {first_missing}..{} of the pool were overwritten before they were bridged ({count} messages)",
                                    first_missing + count - 1
                                ),
                            )
                            .with_seq(first_missing)
                            .with_hint(
                                "Writers outran the bridge. Allow gaps to go on past them, or use a larger pool.",
                            ),
                        ));
                        let _ = tx.blocking_send(batch);
                        return;
                    }
                }
                Some(Event::Damaged { seq, .. }) => {
                    reached = self.target.is_some_and(|t| seq >= t);
                    batch.push(Item::Damaged { seq });
                }
            }
            if (reached || batch.len() >= BATCH)
                && tx.blocking_send(std::mem::take(&mut batch)).is_err()
            {
                return;
            }
            if reached {
                return;
            }
        }
    }
}

/// The message `m` as a publish: `None` for a message that came in through a bridge.
fn outgoing(cfg: &Config, m: &Printed<'_>, json: &mut Vec<u8>) -> Result<Option<Outgoing>, Error> {
    let env = Envelope::parse(m.payload).map_err(plasmite_os::message::corrupt)?;
    let mut tags: Vec<&str> = Vec::new();
    for t in env.tags() {
        tags.push(t.map_err(plasmite_os::message::corrupt)?);
    }
    if tags.contains(&BRIDGED_TAG) {
        return Ok(None);
    }
    json.clear();
    print_data(json, m, Style::Compact)?;
    let mut headers = HeaderMap::new();
    headers.insert(H_MSG_ID, format!("{}:{}", cfg.source, m.seq).as_str());
    headers.insert(H_SOURCE, cfg.source.as_str());
    headers.insert(H_SEQ, m.seq.to_string().as_str());
    headers.insert(H_TIME, rfc3339(m.timestamp_ns).as_str());
    if !tags.is_empty() {
        let t = serde_json::to_string(&tags).unwrap_or_default();
        headers.insert(H_TAGS, t.as_str());
    }
    Ok(Some(Outgoing {
        seq: m.seq,
        subject: cfg.subject(&tags),
        headers,
        body: Bytes::copy_from_slice(json),
    }))
}
