//! Tool arguments and tool failures: reading an agent's `arguments` object field by field,
//! with the checks each tool's input schema states.
//!
//! Role: the only place that turns JSON arguments into Rust values for the tools, and the
//! failure type every tool returns.
//!
//! # Invariants
//! - Every refusal names the field, says what is wrong with it (`detail`) and how to fix it
//!   (`hint`); none of them touches a pool.
//! - `null` is the same as absent: clients often send it for optional arguments.
//! - Integers are JSON integers (no floats, no numeric strings), checked against their range
//!   before use.
//!
//! Spec: `spec/MCP.md` §3.

use super::hint_of;
use plasmite_os::{Error, ErrorKind, PoolName};
use serde_json::{Map, Value, json};

/// Why a tool call failed.
#[derive(Debug)]
pub(super) enum Failure {
    /// An argument is missing, unknown, of the wrong type or out of range.
    Arg {
        field: String,
        detail: String,
        hint: String,
    },
    /// The pool operation failed.
    Pool(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Pool(e)
    }
}

impl Failure {
    pub(super) fn arg(field: &str, detail: impl Into<String>, hint: impl Into<String>) -> Failure {
        Failure::Arg {
            field: field.to_owned(),
            detail: detail.into(),
            hint: hint.into(),
        }
    }

    /// An os `Usage` error caused by one argument becomes that argument's failure.
    pub(super) fn usage_of(field: &str) -> impl Fn(Error) -> Failure + '_ {
        move |e| {
            if e.kind() == ErrorKind::Usage {
                Failure::arg(field, e.message(), hint_of(&e))
            } else {
                Failure::Pool(e)
            }
        }
    }

    pub(super) fn into_json(self, tool: &str) -> Value {
        match self {
            Failure::Arg {
                field,
                detail,
                hint,
            } => json!({
                "detail": detail,
                "error_kind": "Usage",
                "field": field,
                "hint": hint,
                "message": format!("invalid argument '{field}': {detail}"),
                "tool": tool,
            }),
            Failure::Pool(e) => {
                let mut o = super::error_object(&e);
                o.insert("tool".into(), json!(tool));
                Value::Object(o)
            }
        }
    }
}

/// A tool's arguments, read one field at a time with the checks its schema states. `null` is
/// the same as absent (clients often send it for optional arguments).
#[derive(Debug)]
pub(super) struct Args<'a>(pub(super) &'a Map<String, Value>);

impl Args<'_> {
    pub(super) fn get(&self, field: &str) -> Option<&Value> {
        self.0.get(field).filter(|v| !v.is_null())
    }

    pub(super) fn required<'s>(&'s self, field: &str) -> Result<&'s Value, Failure> {
        self.get(field).ok_or_else(|| {
            Failure::arg(
                field,
                "is required",
                format!("Pass '{field}'; see the input schema."),
            )
        })
    }

    pub(super) fn string(&self, field: &str) -> Result<Option<&str>, Failure> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Failure::arg(
                field,
                "must be a string",
                "Pass a JSON string.",
            )),
        }
    }

    /// A pool name (`plasmite_os::PoolName`): never a path or a URL. An agent names pools in
    /// the server's directory; a path would let it create or delete files anywhere the server
    /// can write.
    pub(super) fn pool(&self, field: &str) -> Result<&str, Failure> {
        self.required(field)?;
        let name = self.string(field)?.unwrap_or_default();
        PoolName::new(name).map_err(|e| {
            Failure::arg(
                field,
                e.message(),
                "Pools live in the server's directory (pls mcp --dir); pass a name as \
                 plasmite_pool_list shows it.",
            )
        })?;
        Ok(name)
    }

    pub(super) fn integer(&self, field: &str, min: u64, max: u64) -> Result<Option<u64>, Failure> {
        let Some(v) = self.get(field) else {
            return Ok(None);
        };
        let range = || {
            if max == u64::MAX {
                format!("Pass an integer of at least {min}.")
            } else {
                format!("Pass an integer from {min} to {max}.")
            }
        };
        let n = match v {
            Value::Number(n) if n.is_u64() => n.as_u64().unwrap_or_default(),
            Value::Number(n) if n.is_i64() => {
                return Err(Failure::arg(field, "must not be negative", range()));
            }
            _ => return Err(Failure::arg(field, "must be an integer", range())),
        };
        if n < min || n > max {
            let detail = format!("{n} is out of range ({min}..={max})");
            return Err(Failure::arg(field, detail, range()));
        }
        Ok(Some(n))
    }

    pub(super) fn boolean(&self, field: &str) -> Result<Option<bool>, Failure> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Failure::arg(
                field,
                "must be a boolean",
                "Pass true or false.",
            )),
        }
    }

    /// Tags: strings, trimmed, none empty.
    pub(super) fn tags(&self, field: &str) -> Result<Vec<String>, Failure> {
        let hint = "Pass an array of non-empty strings, e.g. [\"alert\", \"db\"].";
        let items = match self.get(field) {
            None => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(Failure::arg(field, "must be an array of strings", hint)),
        };
        items
            .iter()
            .enumerate()
            .map(|(i, t)| match t.as_str().map(str::trim) {
                Some("") => Err(Failure::arg(field, format!("tag {i} is empty"), hint)),
                Some(t) => Ok(t.to_owned()),
                None => Err(Failure::arg(
                    field,
                    format!("tag {i} is not a string"),
                    hint,
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_outside_their_range_or_type_are_refused() {
        let map = json!({"a": 0, "b": 201, "c": -1, "d": 1.5, "e": "3", "f": 200});
        let args = Args(map.as_object().expect("object"));
        for field in ["a", "b", "c", "d", "e"] {
            assert!(args.integer(field, 1, 200).is_err(), "{field}");
        }
        assert_eq!(args.integer("f", 1, 200).ok().flatten(), Some(200));
        assert_eq!(args.integer("missing", 1, 200).ok().flatten(), None);
    }

    #[test]
    fn tags_are_trimmed_and_empty_tags_refused() {
        let map = json!({"ok": [" a ", "b"], "empty": ["a", "  "], "num": [1], "str": "a"});
        let args = Args(map.as_object().expect("object"));
        assert_eq!(
            args.tags("ok").ok(),
            Some(vec!["a".to_owned(), "b".to_owned()])
        );
        for field in ["empty", "num", "str"] {
            assert!(args.tags(field).is_err(), "{field}");
        }
    }
}
