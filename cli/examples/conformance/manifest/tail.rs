//! Tail steps: `tail` with its options and appends after open, the scripted `retention_gap`
//! scenario, and the second writer beside the surface that both use.
//!
//! # Invariants
//! - A side append goes through the Rust API on the same pool file, so it is a second writer
//!   the surface did not see coming, exactly as another process would be.
//! - Filling past a sequence stops as soon as it is no longer retained (bounded: 10 000
//!   padding messages), so a gap is made, never assumed.
//! - On a surface that reads ahead (a server), the established-gap check only demands that
//!   nothing is skipped silently; elsewhere the gap must be reported at the missing sequence.
//!
//! Spec: `spec/CONFORMANCE.md` (ops `tail`, `retention_gap`).

use super::{Run, Step, Verdict, check_messages, fail, match_error, messages_of, tags_of};
use crate::surface::{Outcome, Start, Surface, TailResult, TailSpec};
use plasmite::message::encode;
use plasmite::{Durability, ErrorKind, Pool};
use serde_json::{Value, json};

impl Run<'_> {
    /// Appends through the Rust API, beside the surface (a second writer).
    fn side_append(&self, pool: &str, data: &Value, tags: &[String]) -> Result<u64, String> {
        let p = Pool::open(&self.resolve(pool)).map_err(|e| e.to_string())?;
        let refs: Vec<&str> = tags.iter().map(String::as_str).collect();
        let payload = encode(data, &refs, p.max_payload_len()).map_err(|e| e.to_string())?;
        Ok(p.append(&payload, Durability::Fast)
            .map_err(|e| e.to_string())?
            .seq)
    }

    /// Appends padding messages beside the surface until `seq` is no longer retained.
    fn fill_past(&self, pool: &str, seq: u64) -> Result<(), String> {
        let p = Pool::open(&self.resolve(pool)).map_err(|e| e.to_string())?;
        for n in 0..10_000 {
            if let Err(e) = p.get(seq) {
                if e.kind() == ErrorKind::NotFound {
                    return Ok(());
                }
                return Err(e.to_string());
            }
            let data = json!({"i": n, "padding": "x".repeat(4096)});
            let payload = encode(&data, &[], p.max_payload_len()).map_err(|e| e.to_string())?;
            p.append(&payload, Durability::Fast)
                .map_err(|e| e.to_string())?;
        }
        Err(format!(
            "sequence {seq} remained retained after filling pool"
        ))
    }

    pub(super) fn tail(
        &mut self,
        s: &mut dyn Surface,
        pool: &str,
        input: &Value,
        expect: &Value,
    ) -> Step {
        let spec = tail_spec(input)?;
        let after = match input.get("append_after_open") {
            None => Vec::new(),
            v => messages_of(v)?,
        };
        let mut hook = |n: usize| -> Result<(), String> {
            if n == 0 {
                for (d, t) in &after {
                    self.side_append(pool, d, t)?;
                }
            }
            Ok(())
        };
        let got = s.tail(pool, &spec, &mut hook);
        let TailResult { messages, error } = match got {
            Ok(r) => r,
            Err(Outcome::Unsupported(f, w)) => return Err(Verdict::Unsupported(f, w)),
            Err(Outcome::Broken(w)) => return fail(w),
            Err(Outcome::Error(e)) => TailResult {
                messages: Vec::new(),
                error: Some(e),
            },
        };
        match (error, expect.get("error").filter(|e| !e.is_null())) {
            (None, Some(_)) => return fail("expected error but operation succeeded"),
            (Some(e), None) => return fail(format!("unexpected error: {e}")),
            (Some(e), Some(w)) => match_error(w, &e)?,
            (None, None) => {}
        }
        let required = expect.get("error").is_none_or(Value::is_null);
        check_messages(expect, &messages, required)
    }

    /// The v0 scripted scenario: continue vs fail-closed policy, a filter cannot hide a gap, and
    /// a gap after an established position.
    pub(super) fn retention_gap(&mut self, s: &mut dyn Surface, base: &str, input: &Value) -> Step {
        let size = input
            .get("size_bytes")
            .and_then(Value::as_u64)
            .unwrap_or(65_536);
        let broken = |what: &str, o: Outcome| -> Verdict {
            match o {
                Outcome::Unsupported(f, w) => Verdict::Unsupported(f, w),
                Outcome::Error(e) => Verdict::Fail(format!("{what}: unexpected error: {e}")),
                Outcome::Broken(w) => Verdict::Fail(format!("{what}: {w}")),
            }
        };
        let stale = format!("{base}-stale");
        s.create_pool(&stale, size)
            .map_err(|o| broken("create", o))?;
        let first = s
            .append(&stale, &json!({"kind": "first"}), &[])
            .map_err(|o| broken("append", o))?;
        self.fill_past(&stale, first).map_err(Verdict::Fail)?;
        let spec = |since, max, gap_error, tags: &[&str]| TailSpec {
            since_seq: Some(since),
            max,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            wheres: Vec::new(),
            start: Start::Oldest,
            gap_error,
            timeout_ms: 1000,
        };
        let r = s
            .tail(&stale, &spec(first, Some(1), false, &[]), &mut |_| Ok(()))
            .map_err(|o| broken("continue tail", o))?;
        if r.error.is_some() || r.messages.len() != 1 || r.messages[0].seq <= first {
            return fail("default tail did not continue after gap");
        }
        let r = s
            .tail(
                &stale,
                &spec(first, None, true, &["never"]),
                &mut |_| Ok(()),
            )
            .map_err(|o| broken("fail-closed tail", o))?;
        match (&r.error, r.messages.is_empty()) {
            (Some(e), true) if e.kind == "RetentionGap" && e.seq == Some(first) => {}
            _ => {
                return fail(format!(
                    "fail-closed tail did not fail with RetentionGap at {first}: {:?}",
                    r.error
                ));
            }
        }
        let est = format!("{base}-established");
        s.create_pool(&est, size).map_err(|o| broken("create", o))?;
        let s1 = s
            .append(&est, &json!({"kind": "seed"}), &[])
            .map_err(|o| broken("append", o))?;
        s.append(&est, &json!({"kind": "second"}), &[])
            .map_err(|o| broken("append", o))?;
        let mut missing = None;
        let mut hook = |n: usize| -> Result<(), String> {
            if n == 2 {
                let m = self.side_append(&est, &json!({"kind": "first-missing"}), &[])?;
                missing = Some(m);
                self.fill_past(&est, m)?;
            }
            Ok(())
        };
        let r = s
            .tail(&est, &spec(s1, None, true, &[]), &mut hook)
            .map_err(|o| broken("established tail", o))?;
        let seqs: Vec<u64> = r.messages.iter().map(|m| m.seq).collect();
        if s.reads_ahead() {
            // The server read on while the consumer paused, so the fill may not lap it: what
            // must hold is that nothing is skipped silently — consecutive sequences, and a
            // RetentionGap at the first missing one if the stream ended in one.
            let contiguous = seqs.first() == Some(&s1) && seqs.windows(2).all(|w| w[1] == w[0] + 1);
            let last = seqs.last().copied().unwrap_or(s1);
            return match &r.error {
                _ if !contiguous => fail(format!("tail skipped messages silently: {seqs:?}")),
                None => Ok(()),
                Some(e) if e.kind == "RetentionGap" && e.seq == Some(last + 1) => Ok(()),
                Some(e) => fail(format!("unexpected error after {seqs:?}: {e}")),
            };
        }
        if seqs != [s1, s1 + 1] {
            return fail(format!("tail established the wrong sequence: {seqs:?}"));
        }
        match (&r.error, missing) {
            (Some(e), Some(m)) if e.kind == "RetentionGap" && e.seq == Some(m) => Ok(()),
            (e, m) => fail(format!(
                "gap after an established position: expected RetentionGap at {m:?}, got {e:?}"
            )),
        }
    }
}

fn tail_spec(input: &Value) -> Result<TailSpec, Verdict> {
    let wheres = match input.get("where") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(w)) => vec![w.clone()],
        v => tags_of(v)?,
    };
    let start = match input.get("start").and_then(Value::as_str) {
        None | Some("oldest") => Start::Oldest,
        Some("live") => Start::Live,
        Some("last") => Start::Last(input.get("last").and_then(Value::as_u64).unwrap_or(1)),
        Some(other) => return fail(format!("invalid input.start: {other}")),
    };
    let gap_error = match input.get("gap").and_then(Value::as_str) {
        None | Some("continue") => false,
        Some("error") => true,
        Some(other) => return fail(format!("invalid input.gap: {other}")),
    };
    Ok(TailSpec {
        since_seq: input.get("since_seq").and_then(Value::as_u64),
        max: input.get("max").and_then(Value::as_u64),
        tags: tags_of(input.get("tags"))?,
        wheres,
        start,
        gap_error,
        timeout_ms: input
            .get("timeout_ms")
            .and_then(Value::as_u64)
            .unwrap_or(1000),
    })
}
