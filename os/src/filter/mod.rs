//! Message filters: jq predicates over the message envelope, compiled once and run per message.
//!
//! Role: the one place that decides whether a stored message passes a list of jq expressions,
//! for every front end (`pls follow --where`, the MCP `where` argument, …). The input of each
//! expression is the envelope `{"seq":N,"time":"…","meta":{"tags":[…]},"data":{…}}`. Each
//! expression runs on one of two engines:
//! - the core's compiled predicate ([`plasmite_core::predicate`]), for the small grammar it
//!   covers (constant paths, literals, comparisons, `and`/`or`/`not`, `//`, `length`, `has`,
//!   `startswith`, `endswith`, `test` with a plain literal): it reads the Lite³ bytes in place
//!   and allocates nothing;
//! - jaq with its whole standard library (module `jq`), for everything else, and for the rare values
//!   the compiled predicate leaves undecided (it says so rather than guess).
//!
//! # Invariants
//! - Compilation happens once, in [`Filter::compile`]: every expression is compiled by jaq
//!   (which alone decides whether it is valid and how compile errors read), then also by the
//!   fast path when the grammar allows. [`Filter::matches`] only runs compiled programs.
//! - Both engines give the same answer on every envelope (a property test checks this against
//!   jaq on random documents and predicates); where the fast path cannot be sure, it does not
//!   compile the construct, or defers that message to jaq.
//! - An expression matches when any of its outputs is truthy in the jq sense: anything except
//!   `false` and `null` (so `0`, `""` and `[]` are truthy). No output means no match. A runtime
//!   error (type errors, `error`, `halt`, a bad regex) means no match; it is never an error of
//!   [`Filter::matches`], never a panic and never exits the process. Outputs before the error
//!   count.
//! - Several expressions are ANDed; an empty list matches every message.
//! - A payload that does not decode is a Corrupt error carrying the message's seq. jaq's
//!   engine converts (and so checks) the whole envelope; the fast path checks what it reads
//!   (the root, `data` or `meta.tags`, the members its paths name), so damage in a part of
//!   `data` the expression never reads is not reported by the filter — as with a `--tag`
//!   check. Readers still catch it: frames with a CRC are checked when copied out, and printing
//!   a message walks all of it. (A full check per message would cost a walk of every message,
//!   several times the lookup itself; `core::predicate::Program::eval_checked` offers it.)
//! - Errors name no front end: [`FilterError`] carries the expression's position, its source
//!   and what is wrong where; each front end labels it in its own terms.
//!
//! Spec: `spec/API.md` §10 (filters), `spec/CLI.md` §2.7 (follow --where).

mod fast;
mod jq;

use std::fmt;

use jaq_json::Val;
use plasmite_core::predicate::{self, Message, Program};

use crate::error::{Error, ErrorKind, HINT_CORRUPT};
use crate::message::Printed;

/// A set of compiled jq expressions, ANDed together.
///
/// Built once by [`Filter::compile`], then asked [`Filter::matches`] for every message. It is
/// `Send + Sync`: compiled programs hold no reference counts shared with runs.
pub struct Filter {
    exprs: Vec<Compiled>,
}

/// One compiled expression.
struct Compiled {
    /// The expression as written (for `Debug` and messages).
    source: String,
    /// The jaq program: always there (the fallback, and the authority on validity).
    jq: jq::Program,
    /// The core program, when the expression is inside the fast path's grammar.
    fast: Option<Program>,
}

/// Why an expression was refused: which one, and what is wrong where in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    /// Position of the expression in the list given to [`Filter::compile`] (0-based).
    pub index: usize,
    /// How many expressions the list held (a label shows the position only when several).
    pub count: usize,
    /// The expression as written.
    pub source: String,
    /// What is wrong, and where: e.g. ``unexpected `|||` at column 9``,
    /// ``undefined filter `nosuchfn/0` ``; several findings are joined with `; `.
    pub details: String,
}

impl FilterError {
    /// What went wrong, in a few words (the same for every compile error).
    pub const MESSAGE: &'static str = "invalid filter expression";

    /// The details under a front end's name for expressions: ``{name} #2 `src`: details``
    /// (the position only when there were several), or `` `src`: details`` when `name` is
    /// empty. The CLI passes ``"`--where`"``; [`fmt::Display`] uses `expression`.
    pub fn labelled(&self, name: &str) -> String {
        let mut out = String::from(name);
        if self.count > 1 {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(&format!("#{}", self.index.saturating_add(1)));
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&format!("`{}`: {}", self.source, self.details));
        out
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", Self::MESSAGE, self.labelled("expression"))
    }
}

impl std::error::Error for FilterError {}

impl From<FilterError> for Error {
    /// A Usage error whose hint is the labelled details (front ends that name the expression
    /// differently build their own from the fields).
    fn from(e: FilterError) -> Error {
        Error::new(ErrorKind::Usage, FilterError::MESSAGE).with_hint(e.labelled("expression"))
    }
}

/// `where` as a query predicate: a payload that does not decode is Corrupt (the query reports it
/// as damage), a runtime error is no match.
impl crate::query::Predicate for Filter {
    fn matches(&self, msg: &crate::follow::MessageView<'_>) -> Result<bool, Error> {
        Filter::matches(self, &msg.printed())
    }
}

impl fmt::Debug for Filter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sources: Vec<&str> = self.exprs.iter().map(|c| c.source.as_str()).collect();
        f.debug_struct("Filter").field("exprs", &sources).finish()
    }
}

impl Filter {
    /// Compiles every expression; the resulting filter is the AND of them.
    ///
    /// An empty list gives a filter that matches everything. The first expression that does
    /// not compile gives a [`FilterError`] with its position and the syntax or undefined-name
    /// findings, located by column.
    pub fn compile(exprs: &[String]) -> Result<Filter, FilterError> {
        let compiled = exprs
            .iter()
            .enumerate()
            .map(|(index, expr)| {
                let jq = jq::compile(expr).map_err(|details| FilterError {
                    index,
                    count: exprs.len(),
                    source: expr.clone(),
                    details,
                })?;
                Ok(Compiled {
                    source: expr.clone(),
                    jq,
                    fast: fast::compile(expr),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter { exprs: compiled })
    }

    /// Whether every expression runs on the compiled fast path (true for an empty list).
    pub fn is_fast(&self) -> bool {
        self.exprs.iter().all(|c| c.fast.is_some())
    }

    /// For each expression in order, whether it runs on the compiled fast path.
    pub fn fast_paths(&self) -> impl Iterator<Item = bool> + '_ {
        self.exprs.iter().map(|c| c.fast.is_some())
    }

    /// Tells whether the stored message `msg` passes every expression.
    ///
    /// An expression matches when any of its outputs is truthy (anything except `false` and
    /// `null`); no output or a runtime error before a truthy output is no match. With no
    /// expressions every message matches. A payload that does not decode is a Corrupt error
    /// carrying `msg.seq` (the caller adds where the frame is).
    pub fn matches(&self, msg: &Printed<'_>) -> Result<bool, Error> {
        let mut envelope: Option<Val> = None;
        for expr in &self.exprs {
            if let Some(program) = &expr.fast {
                let message = Message {
                    seq: msg.seq,
                    timestamp_ns: msg.timestamp_ns,
                    payload: msg.payload,
                };
                match program.eval(&message) {
                    Ok(true) => continue,
                    Ok(false) => return Ok(false),
                    Err(predicate::EvalError::Corrupt(e)) => return Err(corrupt(msg, e)),
                    // Undecided on this message: jaq decides.
                    Err(_) => {}
                }
            }
            let input = match &envelope {
                Some(v) => v.clone(),
                None => {
                    let v = jq::envelope_val(msg).map_err(|e| corrupt(msg, e))?;
                    envelope.insert(v).clone()
                }
            };
            if !expr.jq.matches(input) {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

#[cfg(test)]
impl Filter {
    /// [`Filter::matches`] on a JSON envelope, through jaq only (the tests of jq semantics use
    /// values that a payload cannot hold, such as integers above `i64::MAX`).
    fn matches_json(&self, input: &serde_json::Value) -> bool {
        let v = jq::to_val(input);
        self.exprs.iter().all(|e| e.jq.matches(v.clone()))
    }
}

/// A payload that does not decode, with the message's seq.
fn corrupt(msg: &Printed<'_>, e: plasmite_core::lite3::Lite3Error) -> Error {
    Error::new(ErrorKind::Corrupt, e.to_string())
        .with_seq(msg.seq)
        .with_hint(HINT_CORRUPT)
}

#[cfg(test)]
mod agreement;
#[cfg(test)]
mod tests;
