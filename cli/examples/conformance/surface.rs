//! What a surface must do for the runner, and the outcomes it hands back.

use serde_json::Value;

/// An error as a surface reports it: the fields the manifests compare.
#[derive(Clone, Debug, Default)]
pub(crate) struct Failure {
    /// The kind's name (`NotFound`, `RetentionGap`, …).
    pub(crate) kind: String,
    pub(crate) message: String,
    pub(crate) has_path: bool,
    pub(crate) seq: Option<u64>,
    pub(crate) has_offset: bool,
}

impl Failure {
    /// From the engine's error object (`{"kind", "message", "path"?, "seq"?, "offset"?}`).
    pub(crate) fn from_json(e: &Value) -> Failure {
        Failure {
            kind: e["kind"].as_str().unwrap_or("Internal").to_owned(),
            message: e["message"].as_str().unwrap_or_default().to_owned(),
            has_path: e.get("path").is_some_and(|p| !p.is_null()),
            seq: e.get("seq").and_then(Value::as_u64),
            has_offset: e.get("offset").is_some_and(|o| !o.is_null()),
        }
    }

    pub(crate) fn from_error(e: &plasmite::Error) -> Failure {
        Failure::from_json(&e.to_json())
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)?;
        if let Some(s) = self.seq {
            write!(f, " (seq: {s})")?;
        }
        Ok(())
    }
}

/// Why an operation gave no result.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The operation failed: compared with `expect.error`.
    Error(Failure),
    /// The surface cannot express the operation, or this form of it: the feature (`op` or
    /// `op.form`, as `spec/CONFORMANCE.md` §5 names them) and why.
    Unsupported(String, String),
    /// The runner itself could not do its part (a process would not start, …).
    Broken(String),
}

impl From<plasmite::Error> for Outcome {
    fn from(e: plasmite::Error) -> Outcome {
        Outcome::Error(Failure::from_error(&e))
    }
}

pub(crate) type R<T> = Result<T, Outcome>;

/// One message as read back.
#[derive(Clone, Debug)]
pub(crate) struct Msg {
    pub(crate) seq: u64,
    pub(crate) data: Value,
    pub(crate) tags: Vec<String>,
}

impl Msg {
    /// From an envelope `{data, meta: {tags}, seq, time}`.
    pub(crate) fn from_envelope(v: &Value) -> Option<Msg> {
        Some(Msg {
            seq: v["seq"].as_u64()?,
            data: v.get("data")?.clone(),
            tags: v["meta"]["tags"]
                .as_array()?
                .iter()
                .map(|t| t.as_str().map(str::to_owned))
                .collect::<Option<_>>()?,
        })
    }
}

/// Where a tail starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// The oldest retained message, or `since_seq`.
    Oldest,
    /// Messages appended after the tail opened.
    Live,
    /// The last N matching messages.
    Last(u64),
}

/// A tail to read.
#[derive(Clone, Debug)]
pub(crate) struct TailSpec {
    pub(crate) since_seq: Option<u64>,
    pub(crate) max: Option<u64>,
    pub(crate) tags: Vec<String>,
    pub(crate) wheres: Vec<String>,
    pub(crate) start: Start,
    /// Gap policy `error` (else `continue`).
    pub(crate) gap_error: bool,
    /// How long the tail may wait for messages.
    pub(crate) timeout_ms: u64,
}

/// What a tail delivered, and the error that ended it, if any.
#[derive(Debug, Default)]
pub(crate) struct TailResult {
    pub(crate) messages: Vec<Msg>,
    pub(crate) error: Option<Failure>,
}

/// Called by a tail right after it opened (`0`) and after each message (`n` read so far): the
/// runner appends there (live starts, gaps under a reader).
pub(crate) type Hook<'a> = &'a mut dyn FnMut(usize) -> Result<(), String>;

/// The numbers of a pool's info that manifests compare.
#[derive(Debug)]
pub(crate) struct PoolInfo {
    pub(crate) file_size: u64,
    pub(crate) ring_size: u64,
    pub(crate) oldest: Option<u64>,
    pub(crate) newest: Option<u64>,
}

/// One surface of plasmite, driven by the runner.
pub(crate) trait Surface {
    /// Whether the surface offers a feature: an op (`append_batch`), or a form of one
    /// (`tail.gap_error`) as `spec/CONFORMANCE.md` §5 names them.
    fn supports(&self, op: &str) -> bool;
    /// Whether a tail reads the pool ahead of its consumer (a server streaming into a
    /// socket): then a writer cannot lap it by outpacing the consumer alone.
    fn reads_ahead(&self) -> bool {
        false
    }
    fn create_pool(&mut self, pool: &str, size: u64) -> R<()>;
    fn append(&mut self, pool: &str, data: &Value, tags: &[String]) -> R<u64>;
    /// Appends in one call; the first sequence (none when empty) and the count.
    fn append_batch(&mut self, pool: &str, msgs: &[(Value, Vec<String>)]) -> R<(Option<u64>, u64)>;
    fn get(&mut self, pool: &str, seq: u64) -> R<Msg>;
    fn tail(&mut self, pool: &str, spec: &TailSpec, hook: Hook<'_>) -> R<TailResult>;
    fn list_pools(&mut self) -> R<Vec<String>>;
    fn pool_info(&mut self, pool: &str) -> R<PoolInfo>;
    fn delete_pool(&mut self, pool: &str) -> R<()>;
}
