//! The fast path of [`super::Filter`]: jq expressions compiled to the core's predicate program.
//!
//! Role: for now every expression runs on jaq; [`compile`] declines them all.
//!
//! Spec: `spec/API.md` §7 (filters).

use plasmite_core::predicate::Program;

/// The core program for `expr`, or `None` when it must run on jaq.
pub(super) fn compile(_expr: &str) -> Option<Program> {
    None
}
