//! `pls __where-evaluator`: the hidden invocation that makes this program a sandbox evaluator.
//!
//! Role: a [`plasmite_os::Sandbox`] in any front end — the MCP server here; an HTTP server,
//! or Python and Node processes that ship the `pls` binary — starts evaluators as
//! `pls __where-evaluator` ([`launcher`]). This module only supplies the jq compiler (with a
//! cache, since agents poll with the same expression) and hands stdin and stdout to
//! [`plasmite_os::sandbox::serve`], which owns the budget and the protocol.
//!
//! # Invariants
//! - The invocation is recognised only as the program's single argument, before any argument
//!   parsing; it is listed nowhere (help, completion), being no command for people.
//! - A `where` that does not compile is a Usage error whose hint quotes it and says what a
//!   `where` is, without naming a front end's flag.
//!
//! Spec: `spec/API.md` §5.4.

use plasmite_os::filter::{Filter, FilterError};
use plasmite_os::{Error, ErrorKind, Launcher, Predicate};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

/// The argument that makes `pls` an evaluator.
pub const ARG: &str = "__where-evaluator";

/// How this program starts an evaluator: itself, with [`ARG`].
pub fn launcher() -> Launcher {
    // Without its own path, `pls` is looked up on PATH; should that fail too, each `where`
    // call fails saying no evaluator could be started.
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("pls"));
    Launcher::new(exe).arg(ARG)
}

/// Serves evaluation requests on stdin and stdout until stdin ends; the exit code.
pub fn run() -> u8 {
    let served = plasmite_os::sandbox::serve(
        std::io::stdin().lock(),
        std::io::BufWriter::new(std::io::stdout().lock()),
        compiled,
    );
    u8::from(served.is_err())
}

/// Expression lists compiled recently, newest last: compiling one (with jaq's standard
/// library) costs about ten times what reading a batch does.
const RECENT_FILTERS: usize = 16;

type Recent = Vec<(Vec<String>, Arc<Filter>)>;

static FILTERS: Mutex<Recent> = Mutex::new(Vec::new());

/// `exprs` compiled (all must pass), from the recent ones when they are there.
fn compiled(exprs: &[String]) -> Result<Arc<dyn Predicate>, Error> {
    let mut recent = FILTERS.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(i) = recent.iter().position(|(e, _)| e == exprs) {
        let hit = recent.remove(i);
        let filter = Arc::clone(&hit.1);
        recent.push(hit);
        return Ok(filter);
    }
    let filter = Arc::new(Filter::compile(exprs).map_err(|e| {
        let what = e.labelled("");
        let what = what.trim_end_matches('.');
        Error::new(ErrorKind::Usage, FilterError::MESSAGE).with_hint(format!(
            "{what}. Write a jq predicate over {{seq, time, meta: {{tags}}, data}}, \
             e.g. .data.level == \"error\"."
        ))
    })?);
    if recent.len() >= RECENT_FILTERS {
        recent.remove(0);
    }
    recent.push((exprs.to_vec(), Arc::clone(&filter)));
    Ok(filter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(expr: &str) -> Vec<String> {
        vec![expr.to_owned()]
    }

    fn same(a: &Arc<dyn Predicate>, b: &Arc<dyn Predicate>) -> bool {
        std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
    }

    #[test]
    fn recent_filters_are_reused_and_at_most_sixteen_are_kept() {
        let first = compiled(&one(".seq > 1")).unwrap();
        assert!(same(&first, &compiled(&one(".seq > 1")).unwrap()));
        for i in 0..RECENT_FILTERS {
            compiled(&one(&format!(".seq > {}", i + 100))).unwrap();
        }
        assert_eq!(FILTERS.lock().unwrap().len(), RECENT_FILTERS);
        assert!(!same(&first, &compiled(&one(".seq > 1")).unwrap()));
    }

    #[test]
    fn an_expression_that_does_not_compile_is_a_usage_error_quoting_it() {
        let Err(e) = compiled(&one(".data.x ==")) else {
            panic!("compiled");
        };
        assert_eq!(e.kind(), ErrorKind::Usage);
        let hint = e.hint().unwrap_or("");
        assert!(hint.contains(".data.x =="), "{hint}");
        assert!(!hint.contains("--where"), "{hint}");
    }
}
