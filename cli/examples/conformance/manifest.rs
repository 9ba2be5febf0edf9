//! Manifests: loading, the working directory, running steps and comparing outcomes.
//!
//! Role: dispatches each step to its op; the tail steps live in `tail`, the steps that run
//! `pls` processes in `procs`.

mod procs;
mod tail;

use crate::surface::{Failure, Msg, Outcome, R, Surface};
use plasmite::dir;
use procs::Reader;
pub(crate) use procs::{pls_path, wait_mapped};
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Every op a manifest may use (v0 ops first, then the extensions).
pub(crate) const OPS: &[&str] = &[
    "create_pool",
    "append",
    "get",
    "tail",
    "retention_gap",
    "list_pools",
    "pool_info",
    "delete_pool",
    "spawn_poke",
    "corrupt_pool_header",
    "chmod_path",
    "append_batch",
    "append_many",
    "install_pool",
    "spawn_reader",
    "await_reader",
];

pub(crate) struct Manifest {
    pub(crate) dir: PathBuf,
    pub(crate) workdir: PathBuf,
    steps: Vec<Value>,
}

#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) unsupported: usize,
}

/// A step's verdict.
enum Verdict {
    Pass,
    Fail(String),
    /// The feature (an op, or `op.form`) and why.
    Unsupported(String, String),
}

type Step = Result<(), Verdict>;

fn fail<T>(reason: impl Into<String>) -> Result<T, Verdict> {
    Err(Verdict::Fail(reason.into()))
}

impl Manifest {
    pub(crate) fn load(path: &Path) -> Result<Manifest, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("failed to read manifest: {e}"))?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| format!("failed to parse manifest json: {e}"))?;
        match v.get("conformance_version") {
            None => return Err("missing conformance_version".into()),
            Some(n) if n.as_u64() == Some(0) => {}
            Some(n) => return Err(format!("unsupported conformance_version: {n}")),
        }
        let Some(steps) = v.get("steps").and_then(Value::as_array) else {
            return Err("manifest steps must be an array".into());
        };
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let workdir = match v.get("workdir").and_then(Value::as_str) {
            None | Some("") => "work",
            Some(w) => w,
        };
        Ok(Manifest {
            workdir: dir.join(workdir),
            dir,
            steps: steps.clone(),
        })
    }

    pub(crate) fn reset_workdir(&self) -> Result<(), String> {
        match std::fs::remove_dir_all(&self.workdir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot clear {}: {e}", self.workdir.display())),
        }
        std::fs::create_dir_all(&self.workdir)
            .map_err(|e| format!("cannot create {}: {e}", self.workdir.display()))
    }

    pub(crate) fn run(&self, s: &mut dyn Surface) -> Tally {
        let mut tally = Tally::default();
        let mut run = Run {
            m: self,
            readers: HashMap::new(),
        };
        for (i, step) in self.steps.iter().enumerate() {
            let label = match step.get("id").and_then(Value::as_str) {
                Some(id) => format!("step {i} ({id})"),
                None => format!("step {i}"),
            };
            let verdict = match run.step(s, step) {
                Ok(()) => Verdict::Pass,
                Err(v) => v,
            };
            match verdict {
                Verdict::Pass => tally.passed += 1,
                Verdict::Fail(reason) => {
                    eprintln!("{label}: {reason}");
                    tally.failed += 1;
                }
                Verdict::Unsupported(feature, why) => {
                    eprintln!("{label}: unsupported {feature}: {why}");
                    tally.unsupported += 1;
                }
            }
        }
        for (_, r) in run.readers.drain() {
            r.stop();
        }
        tally
    }
}

struct Run<'m> {
    m: &'m Manifest,
    readers: HashMap<String, Reader>,
}

fn str_field<'a>(v: &'a Value, key: &str, what: &str) -> Result<&'a str, Verdict> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| Verdict::Fail(format!("missing {what}")))
}

fn tags_of(v: Option<&Value>) -> Result<Vec<String>, Verdict> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(a)) => a
            .iter()
            .map(|t| t.as_str().map(str::to_owned))
            .collect::<Option<_>>()
            .ok_or_else(|| Verdict::Fail("expected string array".into())),
        Some(_) => fail("tags must be array"),
    }
}

fn messages_of(v: Option<&Value>) -> Result<Vec<(Value, Vec<String>)>, Verdict> {
    let Some(list) = v.and_then(Value::as_array) else {
        return fail("input.messages must be array");
    };
    list.iter()
        .map(|m| {
            let data = m
                .get("data")
                .cloned()
                .ok_or_else(|| Verdict::Fail("message.data is required".into()))?;
            Ok((data, tags_of(m.get("tags"))?))
        })
        .collect()
}

/// `expect.error` against an outcome: `Ok(None)` when the op succeeded and no error was
/// expected, `Ok(Some(()))` when an expected error matched.
fn check_error<T>(expect: &Value, got: R<T>) -> Result<Option<T>, Verdict> {
    let want = expect.get("error").filter(|e| !e.is_null());
    match (got, want) {
        (Ok(v), None) => Ok(Some(v)),
        (Ok(_), Some(_)) => fail("expected error but operation succeeded"),
        (Err(Outcome::Unsupported(feature, why)), _) => Err(Verdict::Unsupported(feature, why)),
        (Err(Outcome::Broken(why)), _) => fail(why),
        (Err(Outcome::Error(e)), None) => fail(format!("unexpected error: {e}")),
        (Err(Outcome::Error(e)), Some(w)) => {
            match_error(w, &e)?;
            Ok(None)
        }
    }
}

fn match_error(w: &Value, e: &Failure) -> Step {
    let Some(kind) = w.get("kind").and_then(Value::as_str) else {
        return fail("expect.error.kind is required");
    };
    if kind != e.kind {
        return fail(format!("expected error kind {kind}, got {}", e.kind));
    }
    if let Some(sub) = w.get("message_contains").and_then(Value::as_str)
        && !e.message.contains(sub)
    {
        return fail(format!(
            "expected message to contain '{sub}', got '{}'",
            e.message
        ));
    }
    let presence = [
        ("has_path", e.has_path, "path"),
        ("has_seq", e.seq.is_some(), "seq"),
        ("has_offset", e.has_offset, "offset"),
    ];
    for (key, has, what) in presence {
        if let Some(want) = w.get(key).and_then(Value::as_bool)
            && want != has
        {
            return fail(format!("{what} presence mismatch"));
        }
    }
    // Extension: the exact sequence the error names.
    if let Some(seq) = w.get("seq").and_then(Value::as_u64)
        && e.seq != Some(seq)
    {
        return fail(format!("expected error seq {seq}, got {:?}", e.seq));
    }
    Ok(())
}

/// Whether `got` matches the expected entry `{data?, tags?, seq?}`.
fn msg_matches(want: &Value, got: &Msg) -> bool {
    want.get("data").is_none_or(|d| d == &got.data)
        && want
            .get("tags")
            .is_none_or(|t| tags_of(Some(t)).is_ok_and(|t| t == got.tags))
        && want
            .get("seq")
            .and_then(Value::as_u64)
            .is_none_or(|s| s == got.seq)
}

fn check_messages(expect: &Value, got: &[Msg], required: bool) -> Step {
    let ordered = expect.get("messages").and_then(Value::as_array);
    let unordered = expect.get("messages_unordered").and_then(Value::as_array);
    let (list, in_order) = match (ordered, unordered) {
        (Some(_), Some(_)) => {
            return fail("expect.messages and expect.messages_unordered are mutually exclusive");
        }
        (Some(l), None) => (l, true),
        (None, Some(l)) => (l, false),
        (None, None) if required => {
            return fail("expect.messages or expect.messages_unordered is required");
        }
        (None, None) => return Ok(()),
    };
    if list.len() != got.len() {
        let seqs: Vec<u64> = got.iter().map(|m| m.seq).collect();
        return fail(format!(
            "expected {} messages, got {} (seqs {seqs:?})",
            list.len(),
            got.len()
        ));
    }
    if got.windows(2).any(|w| w[0].seq >= w[1].seq) {
        return fail("tail messages out of order");
    }
    if in_order {
        for (i, (w, g)) in list.iter().zip(got).enumerate() {
            if !msg_matches(w, g) {
                return fail(format!(
                    "message mismatch at {i}: expected {w}, got seq {} data {} tags {:?}",
                    g.seq, g.data, g.tags
                ));
            }
        }
    } else {
        let mut used = vec![false; got.len()];
        for w in list {
            let Some(j) = (0..got.len()).find(|&j| !used[j] && msg_matches(w, &got[j])) else {
                return fail(format!("message mismatch: nothing matches {w}"));
            };
            used[j] = true;
        }
    }
    Ok(())
}

impl Run<'_> {
    fn workdir(&self) -> &Path {
        &self.m.workdir
    }

    fn resolve(&self, pool: &str) -> PathBuf {
        dir::resolve(self.workdir(), pool)
    }

    fn pls(&self) -> Result<PathBuf, Verdict> {
        pls_path().map_err(Verdict::Fail)
    }

    fn step(&mut self, s: &mut dyn Surface, step: &Value) -> Step {
        let Some(op) = step.get("op").and_then(Value::as_str) else {
            return fail("missing op");
        };
        let op = if op == "fetch" { "get" } else { op };
        if !OPS.contains(&op) {
            return fail(format!("unknown op: {op}"));
        }
        if !s.supports(op) {
            return Err(Verdict::Unsupported(
                op.to_owned(),
                "not offered by this surface".into(),
            ));
        }
        // Extension: a step that builds on a feature the surface lacks is not run.
        for feature in step
            .get("requires")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            if !s.supports(feature) {
                return Err(Verdict::Unsupported(
                    feature.to_owned(),
                    "a step this one builds on needs it".into(),
                ));
            }
        }
        let null = Value::Null;
        let input = step.get("input").unwrap_or(&null);
        let expect = step.get("expect").unwrap_or(&null);
        let pool = || str_field(step, "pool", "pool");
        match op {
            "create_pool" => {
                let size = input
                    .get("size_bytes")
                    .and_then(Value::as_u64)
                    .unwrap_or(1_048_576);
                check_error(expect, s.create_pool(pool()?, size))?;
            }
            "append" => {
                let pool = pool()?;
                if input.is_null() {
                    return fail("missing input");
                }
                let Some(data) = input.get("data") else {
                    return fail("missing input.data");
                };
                let tags = tags_of(input.get("tags"))?;
                if let Some(seq) = check_error(expect, s.append(pool, data, &tags))?
                    && let Some(want) = expect.get("seq").and_then(Value::as_u64)
                    && want != seq
                {
                    return fail(format!("expected seq {want}, got {seq}"));
                }
            }
            "append_batch" => {
                let msgs = messages_of(input.get("messages"))?;
                if let Some((first, count)) = check_error(expect, s.append_batch(pool()?, &msgs))? {
                    if let Some(want) = expect.get("first_seq").and_then(Value::as_u64)
                        && Some(want) != first
                    {
                        return fail(format!("expected first_seq {want}, got {first:?}"));
                    }
                    if let Some(want) = expect.get("count").and_then(Value::as_u64)
                        && want != count
                    {
                        return fail(format!("expected count {want}, got {count}"));
                    }
                }
            }
            "append_many" => {
                let pool = pool()?;
                let count = input.get("count").and_then(Value::as_u64).unwrap_or(1);
                let base = input.get("data").cloned().unwrap_or_else(|| json!({}));
                let tags = tags_of(input.get("tags"))?;
                let Value::Object(base) = base else {
                    return fail("input.data must be an object");
                };
                let msg = |k: u64| {
                    let mut d: Map<String, Value> = base.clone();
                    d.insert("i".into(), json!(k));
                    (Value::Object(d), tags.clone())
                };
                let mut last = None;
                let mut k = 1;
                while k <= count {
                    let chunk: Vec<_> = (k..=count.min(k + 999)).map(msg).collect();
                    k += chunk.len() as u64;
                    let got = if s.supports("append_batch") {
                        s.append_batch(pool, &chunk)
                            .map(|(first, n)| first.map(|f| f + n - 1))
                    } else {
                        chunk
                            .iter()
                            .try_fold(None, |_, (d, t)| s.append(pool, d, t).map(Some))
                    };
                    match check_error(expect, got)? {
                        Some(l) => last = l,
                        None => return Ok(()),
                    }
                }
                if let Some(want) = expect.get("last_seq").and_then(Value::as_u64)
                    && Some(want) != last
                {
                    return fail(format!("expected last_seq {want}, got {last:?}"));
                }
            }
            "get" => {
                let pool = pool()?;
                let Some(seq) = input.get("seq").and_then(Value::as_u64) else {
                    return fail("missing input.seq");
                };
                if let Some(m) = check_error(expect, s.get(pool, seq))? {
                    if let Some(d) = expect.get("data")
                        && d != &m.data
                    {
                        return fail(format!("data mismatch: expected {d}, got {}", m.data));
                    }
                    if let Some(t) = expect.get("tags")
                        && tags_of(Some(t))? != m.tags
                    {
                        return fail("tags mismatch");
                    }
                    if m.seq != seq {
                        return fail(format!("expected seq {seq}, got {}", m.seq));
                    }
                }
            }
            "tail" => return self.tail(s, pool()?, input, expect),
            "retention_gap" => return self.retention_gap(s, pool()?, input),
            "list_pools" => {
                if let Some(mut names) = check_error(expect, s.list_pools())?
                    && let Some(want) = expect.get("names")
                {
                    let mut want = tags_of(Some(want))?;
                    want.sort();
                    names.sort();
                    if want != names {
                        return fail(format!(
                            "pool list mismatch: expected {want:?}, got {names:?}"
                        ));
                    }
                }
            }
            "pool_info" => {
                if let Some(info) = check_error(expect, s.pool_info(pool()?))? {
                    for (key, got) in [("file_size", info.file_size), ("ring_size", info.ring_size)]
                    {
                        if let Some(want) = expect.get(key).and_then(Value::as_u64)
                            && want != got
                        {
                            return fail(format!("{key} mismatch: expected {want}, got {got}"));
                        }
                    }
                    if let Some(b) = expect.get("bounds") {
                        for (key, got) in [("oldest", info.oldest), ("newest", info.newest)] {
                            let Some(want) = b.get(key) else { continue };
                            if !(want.is_null() || want.is_u64()) {
                                return fail(format!("bounds.{key} must be a number or null"));
                            }
                            if want.as_u64() != got {
                                return fail(format!("bounds.{key} mismatch"));
                            }
                        }
                    }
                }
            }
            "delete_pool" => {
                check_error(expect, s.delete_pool(pool()?))?;
            }
            "spawn_poke" => return self.spawn_poke(pool()?, input),
            "corrupt_pool_header" => {
                std::fs::write(self.resolve(pool()?), b"NOPE")
                    .or_else(|e| fail(format!("cannot corrupt the pool: {e}")))?;
            }
            "install_pool" => {
                let fixture = str_field(input, "fixture", "input.fixture")?;
                let from = self.m.dir.join("pools").join(fixture);
                std::fs::copy(&from, self.resolve(pool()?))
                    .or_else(|e| fail(format!("cannot install {}: {e}", from.display())))?;
            }
            "chmod_path" => {
                use std::os::unix::fs::PermissionsExt;
                let path = str_field(input, "path", "input.path")?;
                let mode = str_field(input, "mode", "input.mode")?;
                let Ok(mode) = u32::from_str_radix(mode, 8) else {
                    return fail("invalid input.mode");
                };
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .or_else(|e| fail(format!("chmod failed: {e}")))?;
            }
            "spawn_reader" => return self.spawn_reader(pool()?, input),
            "await_reader" => return self.await_reader(input, expect),
            _ => return fail(format!("unknown op: {op}")),
        }
        Ok(())
    }
}
