//! MCP tools: the pool operations an agent can call, each with a JSON Schema and annotations.
//!
//! Role: `tools/list` and `tools/call`. One table ([`TOOLS`]) holds every tool's name, schema,
//! annotations and function; arguments are checked against it before anything is opened, and
//! every outcome — success or failure — is a tool result the agent can read.
//!
//! # Invariants
//! - A tool's input schema is the whole truth about its arguments: an argument the schema does
//!   not list is refused (`additionalProperties: false`), and every refusal names the field.
//! - Argument problems are `Usage` failures `{tool, error_kind, field, detail, message, hint}`;
//!   pool failures carry the os error's kind, message, hint and path/seq/offset when known.
//!   Every failure has a hint. A failure never ends the server.
//! - Pools are names in the server's directory (`NAME` or `NAME.plasmite`), never paths, so
//!   an agent reaches no file outside it; `scheme://` references are refused like the CLI
//!   refuses them.
//!
//! Spec: `spec/MCP.md` §3, §4.

mod run;

use super::arguments::{Args, Failure};
use super::{Access, RpcError};
use plasmite_os::{Cancel, Error, ErrorKind, Sandbox};
use run::{feed, fetch, open, pool_create, pool_delete, pool_info, pool_list, read, wait};
use serde_json::{Map, Value, json};
use std::path::Path;

/// Most messages one read or wait returns.
const COUNT_MAX: u64 = 200;
/// Messages a read or wait returns when `count` is not given.
const COUNT_DEFAULT: u64 = 20;
/// Longest wait, in ms (a client should not be kept longer without an answer).
const TIMEOUT_MS_MAX: u64 = 60_000;
/// Wait when `timeout_ms` is not given, in ms.
const TIMEOUT_MS_DEFAULT: u64 = 10_000;

/// One tool: what `tools/list` says about it and what `tools/call` runs.
struct Tool {
    name: &'static str,
    title: &'static str,
    description: &'static str,
    /// Annotations. Idempotent means a repeated call changes nothing more (a second create
    /// fails, a second delete finds nothing), not that it returns the same result.
    read_only: bool,
    destructive: bool,
    idempotent: bool,
    /// The `properties` of the input schema.
    properties: fn() -> Value,
    required: &'static [&'static str],
    run: fn(&Call<'_>, &Args<'_>) -> Result<Value, Failure>,
}

/// What a tool runs with besides its arguments.
struct Call<'a> {
    /// The pool directory.
    dir: &'a Path,
    /// Where `where` expressions are evaluated.
    sandbox: &'a Sandbox,
    /// Set when the client cancels the call; waiting and the sandbox look at it.
    cancel: &'a Cancel,
}

/// Every tool, in the order `tools/list` gives them.
const TOOLS: &[Tool] = &[
    Tool {
        name: "plasmite_pool_list",
        title: "List pools",
        description: "List the pools of the server's pool directory, sorted by name, with each \
            pool's size, bounds and age. A pool that cannot be read is listed with an `error` \
            object instead of its details.",
        read_only: true,
        destructive: false,
        idempotent: true,
        properties: || json!({}),
        required: &[],
        run: pool_list,
    },
    Tool {
        name: "plasmite_pool_create",
        title: "Create a pool",
        description: "Create a pool: a bounded ring of JSON messages. When it is full, the \
            oldest messages are evicted to make room. Fails with AlreadyExists if the pool \
            exists (use it as-is).",
        read_only: false,
        destructive: false,
        idempotent: true,
        properties: || {
            json!({
                "name": {"type": "string", "minLength": 1,
                         "description": "Pool name in the server's pool directory (NAME or \
                                         NAME.plasmite); paths are refused."},
                "size": {"type": ["integer", "string"],
                         "description": "File size: bytes, or with a K, M or G suffix \
                                         (1024-based), e.g. \"8M\". Default 1M."},
            })
        },
        required: &["name"],
        run: pool_create,
    },
    Tool {
        name: "plasmite_pool_info",
        title: "Describe a pool",
        description: "A pool's geometry, retained sequence range (bounds), message count, \
            utilization and the ages of its oldest and newest messages.",
        read_only: true,
        destructive: false,
        idempotent: true,
        properties: || json!({ "pool": pool_schema() }),
        required: &["pool"],
        run: pool_info,
    },
    Tool {
        name: "plasmite_pool_delete",
        title: "Delete a pool",
        description: "Delete a pool file and every message in it. Processes that have it open \
            keep their copy until they close it.",
        read_only: false,
        destructive: true,
        idempotent: true,
        properties: || json!({ "pool": pool_schema() }),
        required: &["pool"],
        run: pool_delete,
    },
    Tool {
        name: "plasmite_feed",
        title: "Append a message",
        description: "Append one message (a JSON object) to a pool, with optional tags. \
            Returns the stored message with its seq and time.",
        read_only: false,
        destructive: false,
        idempotent: false,
        properties: || {
            json!({
                "pool": pool_schema(),
                "data": {"type": "object",
                         "description": "The message: a JSON object (wrap other values, e.g. \
                                         {\"value\": 3})."},
                "tags": tags_schema("Tags to attach (trimmed; empty tags are refused)."),
                "create": {"type": "boolean", "default": false,
                           "description": "Create the pool (1M) if it does not exist."},
            })
        },
        required: &["pool", "data"],
        run: feed,
    },
    Tool {
        name: "plasmite_fetch",
        title: "Fetch a message",
        description: "One message by sequence number. Fails with NotFound if it was never \
            written or has been evicted.",
        read_only: true,
        destructive: false,
        idempotent: true,
        properties: || {
            json!({
                "pool": pool_schema(),
                "seq": {"type": "integer", "minimum": 0, "description": "Sequence number."},
            })
        },
        required: &["pool", "seq"],
        run: fetch,
    },
    Tool {
        name: "plasmite_read",
        title: "Read messages",
        description: "Read messages without waiting, oldest first. Without after_seq: the \
            latest `count` matching messages. With after_seq: the first `count` matching \
            messages after it; pass the result's next_after_seq to continue.",
        read_only: true,
        destructive: false,
        idempotent: true,
        properties: batch_schema,
        required: &["pool"],
        run: read,
    },
    Tool {
        name: "plasmite_wait",
        title: "Wait for messages",
        description: "Wait for matching messages after after_seq (default: the newest message \
            now, so only new messages count). Returns as soon as at least one is available (up \
            to `count`), or with timed_out: true and no messages when timeout_ms passes. Loop \
            on it with after_seq = next_after_seq to follow a pool.",
        read_only: true,
        destructive: false,
        idempotent: true,
        properties: || {
            let mut p = batch_schema();
            p["timeout_ms"] = json!({
                "type": "integer", "minimum": 0, "maximum": TIMEOUT_MS_MAX,
                "default": TIMEOUT_MS_DEFAULT,
                "description": "How long to wait for a first match, in milliseconds."
            });
            p
        },
        required: &["pool"],
        run: wait,
    },
];

fn pool_schema() -> Value {
    json!({"type": "string", "minLength": 1,
           "description": "Pool name in the server's pool directory (NAME or NAME.plasmite); \
                           paths are refused."})
}

fn tags_schema(description: &str) -> Value {
    json!({"type": "array", "items": {"type": "string", "minLength": 1},
           "description": description})
}

fn count_schema() -> Value {
    json!({"type": "integer", "minimum": 1, "maximum": COUNT_MAX, "default": COUNT_DEFAULT,
           "description": "Most messages to return."})
}

/// The arguments of a batch (`plasmite_read`, and `plasmite_wait` before its timeout).
fn batch_schema() -> Value {
    let mut p = filter_schema();
    p["count"] = count_schema();
    p
}

fn filter_schema() -> Value {
    json!({
        "pool": pool_schema(),
        "after_seq": {"type": "integer", "minimum": 0,
                      "description": "Only messages with a greater seq (a cursor: pass the \
                                      previous next_after_seq)."},
        "since": {"type": "string",
                  "description": "Only messages appended since: 30s, 5m, 2h, 1d ago, or an RFC \
                                  3339 time like 2026-01-15T10:00:00Z."},
        "tags": tags_schema("Only messages carrying every one of these tags."),
        "where": {"type": "string",
                  "description": "Only messages for which this jq predicate is truthy; its \
                                  input is {seq, time, meta: {tags}, data}, e.g. \
                                  `.data.level == \"error\"`. It must decide each message \
                                  within 2 s."},
    })
}

/// Whether `access` allows `tool`: the read-only tools need read access, the others write
/// access.
fn allows(access: Access, tool: &Tool) -> bool {
    if tool.read_only {
        access.can_read()
    } else {
        access.can_write()
    }
}

/// Whether `access` allows the tool a `tools/call` names (an unknown or malformed name is the
/// call's own error, so it is not refused here).
pub(super) fn permitted(params: &Map<String, Value>, access: Access) -> bool {
    let name = params.get("name").and_then(Value::as_str);
    TOOLS
        .iter()
        .find(|t| Some(t.name) == name)
        .is_none_or(|t| allows(access, t))
}

/// The Permission failure of a tool `access` refuses.
fn refused(access: Access) -> Failure {
    Failure::Pool(
        Error::new(
            ErrorKind::Permission,
            format!(
                "forbidden: the server's access mode ({}) disallows this tool",
                access.as_str()
            ),
        )
        .with_hint("Use the tools tools/list shows; this server's --access mode hides the others."),
    )
}

/// `tools/list`: the tools `access` allows.
pub(super) fn list(access: Access) -> Value {
    let tools: Vec<Value> = TOOLS
        .iter()
        .filter(|t| allows(access, t))
        .map(|t| {
            json!({
                "annotations": {
                    "destructiveHint": t.destructive,
                    "idempotentHint": t.idempotent,
                    "openWorldHint": false,
                    "readOnlyHint": t.read_only,
                    "title": t.title,
                },
                "description": t.description,
                "inputSchema": {
                    "additionalProperties": false,
                    "properties": (t.properties)(),
                    "required": t.required,
                    "type": "object",
                },
                "name": t.name,
                "title": t.title,
            })
        })
        .collect();
    json!({ "tools": tools })
}

/// `tools/call {name, arguments}`.
pub(super) fn call(
    pool_dir: &Path,
    params: Option<&Map<String, Value>>,
    sandbox: &Sandbox,
    access: Access,
    cancel: &Cancel,
) -> Result<Value, RpcError> {
    let hint = "Pass {\"name\": <tool name>, \"arguments\": {…}}; tools/list shows the tools.";
    let name = match params.and_then(|p| p.get("name")) {
        Some(Value::String(n)) => n.as_str(),
        Some(_) => return Err(RpcError::invalid_params("tool name must be a string", hint)),
        None => return Err(RpcError::invalid_params("tool name is required", hint)),
    };
    let tool = TOOLS.iter().find(|t| t.name == name).ok_or_else(|| {
        RpcError::invalid_params(
            format!("unknown tool: {name}"),
            "Call tools/list for the available tools.",
        )
    })?;
    if !allows(access, tool) {
        return Ok(failed(tool.name, refused(access)));
    }
    let empty = Map::new();
    let args = match params.and_then(|p| p.get("arguments")) {
        None | Some(Value::Null) => &empty,
        Some(Value::Object(a)) => a,
        Some(_) => {
            return Err(RpcError::invalid_params(
                "arguments must be an object",
                hint,
            ));
        }
    };
    let call = Call {
        dir: pool_dir,
        sandbox,
        cancel,
    };
    let outcome = check_names(tool, args).and_then(|()| (tool.run)(&call, &Args(args)));
    Ok(match outcome {
        Ok(content) => result(content, false),
        Err(f) => failed(tool.name, f),
    })
}

/// The tool result of `tool` failing with `f`.
pub(super) fn failed(tool: &str, f: Failure) -> Value {
    result(f.into_json(tool), true)
}

/// The tool a `tools/call` names, and its arguments, when both are well-formed.
fn named(params: &Map<String, Value>) -> Option<(&str, &Map<String, Value>)> {
    let name = params.get("name")?.as_str()?;
    let args = params.get("arguments")?.as_object()?;
    Some((name, args))
}

/// The tool a `tools/call` names, when the name is a string.
#[cfg(feature = "serve")]
pub(super) fn named_tool(params: &Map<String, Value>) -> Option<&str> {
    params.get("name")?.as_str()
}

/// Whether a `tools/call` evaluates a `where` expression (which only an evaluator does).
pub(super) fn evaluates_where(params: &Map<String, Value>) -> bool {
    named(params).is_some_and(|(name, args)| {
        matches!(name, "plasmite_read" | "plasmite_wait")
            && args.get("where").is_some_and(|w| !w.is_null())
    })
}

/// Fixes where a `plasmite_wait` without `after_seq` starts — after the newest message — when
/// the request is read rather than when the call gets to run beside the others, so a message
/// appended by a later request is never missed. A wait that cannot open its pool is left as it
/// is, to fail with its own error.
pub(super) fn pin_wait_cursor(pool_dir: &Path, params: &mut Map<String, Value>) {
    let newest = match named(params) {
        Some(("plasmite_wait", args)) if args.get("after_seq").is_none_or(Value::is_null) => {
            let args = Args(args);
            let Ok(name) = args.pool("pool") else { return };
            let Ok(pool) = open(pool_dir, name, None) else {
                return;
            };
            let Ok(state) = pool.state() else { return };
            state.newest
        }
        _ => return,
    };
    if let Some(Value::Object(args)) = params.get_mut("arguments") {
        args.insert("after_seq".into(), json!(newest));
    }
}

/// Whether a `tools/call` may take long: it waits or evaluates `where`. Such calls run beside
/// the others, so they hold none of them up.
pub(super) fn is_slow(params: &Map<String, Value>) -> bool {
    evaluates_where(params) || named(params).is_some_and(|(name, _)| name == "plasmite_wait")
}

/// A tool result: the structured content, and the same as text for clients that show text.
fn result(structured: Value, is_error: bool) -> Value {
    let text = serde_json::to_string(&structured).unwrap_or_default();
    let mut r = json!({
        "content": [{"text": text, "type": "text"}],
        "structuredContent": structured,
    });
    if is_error {
        r["isError"] = json!(true);
    }
    r
}

/// Refuses arguments the tool's schema does not list.
fn check_names(tool: &Tool, args: &Map<String, Value>) -> Result<(), Failure> {
    let props = (tool.properties)();
    let known = props
        .as_object()
        .map(|p| p.keys().cloned().collect::<Vec<_>>());
    let known = known.unwrap_or_default();
    match args.keys().find(|k| !known.contains(k)) {
        None => Ok(()),
        Some(k) => Err(Failure::Arg {
            field: k.clone(),
            detail: "unknown argument".into(),
            hint: if known.is_empty() {
                format!("{} takes no arguments.", tool.name)
            } else {
                format!("{} takes: {}.", tool.name, known.join(", "))
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_where_description_states_the_evaluators_budget() {
        let budget = format!(
            "within {} s",
            plasmite_os::sandbox::MESSAGE_BUDGET.as_secs()
        );
        let d = filter_schema()["where"]["description"].clone();
        assert!(d.as_str().is_some_and(|d| d.contains(&budget)), "{d}");
    }

    #[test]
    fn every_tool_schema_is_closed_and_requires_only_what_it_lists() {
        let listed = list(Access::ReadWrite);
        let tools = listed["tools"].as_array().expect("tools");
        assert_eq!(tools.len(), TOOLS.len());
        for t in tools {
            let schema = &t["inputSchema"];
            assert_eq!(schema["type"], "object", "{t}");
            assert_eq!(schema["additionalProperties"], false, "{t}");
            let props = schema["properties"].as_object().expect("properties");
            for r in schema["required"].as_array().expect("required") {
                assert!(props.contains_key(r.as_str().expect("name")), "{t}");
            }
            for p in props.values() {
                assert!(p["description"].is_string(), "{t}");
            }
            let a = &t["annotations"];
            assert_eq!(a["openWorldHint"], false, "{t}");
            if a["readOnlyHint"] == true {
                assert_eq!(a["destructiveHint"], false, "{t}");
            }
        }
    }

    #[test]
    fn arguments_outside_the_schema_are_usage_failures_naming_the_field() {
        let args = json!({"pool": "p", "colour": "red"});
        let tool = TOOLS
            .iter()
            .find(|t| t.name == "plasmite_read")
            .expect("read");
        let Err(Failure::Arg {
            field,
            detail,
            hint,
        }) = check_names(tool, args.as_object().expect("object"))
        else {
            panic!("unknown argument accepted");
        };
        assert_eq!(
            (field.as_str(), detail.as_str()),
            ("colour", "unknown argument")
        );
        assert!(hint.contains("after_seq"), "{hint}");
    }

    #[test]
    fn no_argument_value_makes_a_tool_panic_or_escape_its_result() {
        let dir = std::env::temp_dir().join(format!("pls-mcp-args-{}", std::process::id()));
        // No evaluator can start: a `where` that gets that far fails like any pool failure.
        let sandbox = Sandbox::new(plasmite_os::Launcher::new(dir.join("no-such-program")));
        let _ = std::fs::remove_dir_all(&dir);
        let odd = [
            json!(null),
            json!(true),
            json!(-1),
            json!(0),
            json!(1),
            json!(1.5),
            json!(u64::MAX),
            json!(""),
            json!(" "),
            json!("x"),
            // A path, inside the test's directory: refused like every path.
            json!(dir.join("sub/x.plasmite").display().to_string()),
            json!("a://b"),
            json!("9999999999999999999999G"),
            json!([]),
            json!([""]),
            json!(["t", 1]),
            json!({}),
            json!({"a": {"b": [1, {"c": null}]}}),
        ];
        let base = json!({"pool": "p", "name": "p", "data": {"k": 1}, "seq": 1,
                          "timeout_ms": 0, "create": true});
        for tool in TOOLS {
            let props = (tool.properties)();
            let props = props.as_object().expect("properties");
            let mut args: Map<String, Value> = props
                .keys()
                .filter_map(|k| base.get(k).map(|v| (k.clone(), v.clone())))
                .collect();
            for key in props.keys() {
                for v in &odd {
                    if key == "timeout_ms" && v.is_null() {
                        continue; // the 10 s default wait: nothing odd about it
                    }
                    let saved = args.insert(key.clone(), v.clone());
                    let params = json!({"name": tool.name, "arguments": args});
                    let r = call(
                        &dir,
                        params.as_object(),
                        &sandbox,
                        Access::ReadWrite,
                        &Cancel::default(),
                    )
                    .expect("a tool result");
                    assert!(r["structuredContent"].is_object(), "{}: {r}", tool.name);
                    if r["isError"] == true {
                        let s = &r["structuredContent"];
                        assert!(s["hint"].as_str().is_some_and(|h| !h.is_empty()), "{r}");
                    }
                    match saved {
                        Some(v) => args.insert(key.clone(), v),
                        None => args.remove(key),
                    };
                }
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
