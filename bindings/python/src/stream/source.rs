//! What a stream reads: the keyword arguments of `open_stream`/`tail` made into an engine
//! query, and the source that runs it — the query in this process, or, with `where`
//! expressions and an evaluator, a sandboxed evaluator process feeding a thread.
//!
//! # Invariants
//! - Every source of a stream is one engine query; a sandboxed one ends when its channel is
//!   drained and closed, and an evaluator's error arrives as the channel's last item.
//!
//! Spec: `spec/API.md` §5.2 (queries); `bindings/python/README.md` (streams and tails).

use super::*;

/// What a stream selects, from the keyword arguments of `open_stream` and `tail`.
#[derive(Debug, Default)]
pub(crate) struct Options {
    pub(crate) since_seq: Option<u64>,
    pub(crate) max_messages: Option<u64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) error_on_gap: bool,
    pub(crate) tags: Vec<String>,
    pub(crate) wheres: Vec<String>,
    pub(crate) live: bool,
    pub(crate) last: Option<u64>,
    /// The `pls` that evaluates `where` expressions out of process (`None`: in process).
    pub(crate) evaluator: Option<PathBuf>,
    /// Read by an asyncio loop: waits go through the pool's hub and ring the reader's bell.
    pub(crate) asyncio: bool,
}

impl Options {
    /// The numeric arguments shared by every stream.
    pub(crate) fn parse(
        since_seq: Option<&Bound<'_, PyAny>>,
        max_messages: Option<&Bound<'_, PyAny>>,
        timeout_ms: Option<&Bound<'_, PyAny>>,
        error_on_gap: bool,
    ) -> PyResult<Options> {
        Ok(Options {
            since_seq: opt_u64(since_seq, "since_seq")?,
            max_messages: opt_u64(max_messages, "max_messages")?,
            timeout_ms: opt_u64(timeout_ms, "timeout_ms")?,
            error_on_gap,
            ..Options::default()
        })
    }

    /// Adds the selection of `tail`: tags, where, live, last.
    pub(crate) fn select(
        mut self,
        tags: Option<&Bound<'_, PyAny>>,
        wheres: Option<&Bound<'_, PyAny>>,
        live: bool,
        last: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Options> {
        self.tags = tags_arg(tags)?;
        self.wheres = tags_arg(wheres)?;
        self.live = live;
        self.last = opt_u64(last, "last")?;
        let starts = usize::from(self.since_seq.is_some())
            + usize::from(live)
            + usize::from(self.last.is_some());
        if starts > 1 {
            return Err(PyValueError::new_err(
                "since_seq, live and last are exclusive: give at most one",
            ));
        }
        Ok(self)
    }

    fn start(&self) -> Start {
        match (self.since_seq, self.live, self.last) {
            (Some(s), _, _) if s > 0 => Start::Seq(s),
            (_, true, _) => Start::Live,
            (_, _, Some(n)) => Start::Last(n),
            _ => Start::Oldest,
        }
    }

    fn gap(&self) -> GapPolicy {
        if self.error_on_gap {
            GapPolicy::Stop
        } else {
            GapPolicy::Continue
        }
    }

    /// The query in this process.
    pub(super) fn query(self, cancel: &Cancel) -> Result<Query, Error> {
        let start = self.start();
        let gap = self.gap();
        let mut predicates: Vec<Arc<dyn Predicate>> = Vec::new();
        if !self.wheres.is_empty() {
            predicates.push(Arc::new(
                Filter::compile(&self.wheres).map_err(Error::from)?,
            ));
        }
        let deadline = self
            .timeout_ms
            .and_then(|ms| Instant::now().checked_add(Duration::from_millis(ms)));
        Ok(Query {
            start,
            tags: self.tags,
            predicates,
            limit: self.max_messages,
            gap,
            live: true,
            deadline,
            cancel: Some(cancel.clone()),
            ..Query::default()
        })
    }

    /// The query as data for an evaluator process (after checking the expressions compile).
    pub(super) fn spec(self) -> Result<QuerySpec, Error> {
        Filter::compile(&self.wheres).map_err(Error::from)?;
        Ok(QuerySpec {
            start: self.start(),
            gap: self.gap(),
            tags: self.tags,
            since_ns: None,
            wheres: self.wheres,
            limit: self.max_messages,
            damage: DamagePolicy::Report,
            live: true,
            timeout: self.timeout_ms.map(Duration::from_millis),
            first_batch: false,
        })
    }
}

/// The evaluators of this process's sandboxed queries: the `pls` found first.
fn sandbox(program: &PathBuf) -> Arc<Sandbox> {
    static SANDBOX: OnceLock<Arc<Sandbox>> = OnceLock::new();
    SANDBOX
        .get_or_init(|| {
            Arc::new(Sandbox::new(
                Launcher::new(program).arg("__where-evaluator"),
            ))
        })
        .clone()
}

/// Where a reader's items come from.
pub(super) enum Source {
    /// The engine's query, run here.
    Local(Box<OsStream<Arc<OsPool>>>),
    /// A query with `where` expressions run by an evaluator process, fed by a thread.
    Sandboxed {
        items: Receiver<Result<Found, Error>>,
        done: bool,
    },
}

impl Source {
    /// The query run by an evaluator process, fed by a thread that rings `bell` (when given)
    /// after each item it hands over and once it is done.
    pub(super) fn sandboxed(
        pool: Arc<OsPool>,
        spec: QuerySpec,
        program: &PathBuf,
        cancel: &Cancel,
        bell: Option<Arc<Bell>>,
    ) -> Source {
        let sandbox = sandbox(program);
        let (tx, rx) = sync_channel::<Result<Found, Error>>(256);
        let cancel = cancel.clone();
        std::thread::spawn(move || {
            let ring = || {
                if let Some(b) = &bell {
                    b.ring();
                }
            };
            let r = sandbox.run_each(&pool, &spec, &cancel, |found| {
                if tx.send(Ok(found)).is_err() {
                    ControlFlow::Break(())
                } else {
                    ring();
                    ControlFlow::Continue(())
                }
            });
            match r {
                Ok(_) | Err(SandboxError::Cancelled) => {}
                Err(SandboxError::Where(e) | SandboxError::Other(e)) => {
                    let _ = tx.send(Err(e));
                }
            }
            // The channel is closed before the last ring: the reader then sees the end.
            drop(tx);
            ring();
        });
        Source::Sandboxed {
            items: rx,
            done: false,
        }
    }

    pub(super) fn ended(&self) -> bool {
        match self {
            Source::Local(s) => s.ended().is_some(),
            Source::Sandboxed { done, .. } => *done,
        }
    }
}
