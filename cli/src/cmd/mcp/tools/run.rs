//! The tools' functions: what each MCP tool does with its checked arguments.
//!
//! Role: the `run` entries of [`super::TOOLS`]. Each opens what it names in the server's pool
//! directory, asks the engine, and returns the structured content of its tool result or a
//! [`Failure`] the caller turns into an error result.
//!
//! # Invariants
//! - Pools are opened by name in the server's directory only ([`open`]); a missing pool's hint
//!   names the tools that make one.
//! - `count` and `timeout_ms` are bounded by [`COUNT_MAX`] and [`TIMEOUT_MS_MAX`]; `where` is
//!   never compiled here, only in an evaluator.
//! - Errors from the engine carry MCP's hint, never the CLI's wording.
//!
//! Spec: `spec/MCP.md` §4.

use super::{COUNT_DEFAULT, COUNT_MAX, Call, TIMEOUT_MS_DEFAULT, TIMEOUT_MS_MAX};
use crate::cmd::mcp::arguments::{Args, Failure};
use crate::cmd::mcp::batch::{self, Query};
use crate::cmd::mcp::hint_of;
use crate::cmd::pool;
use crate::values;
use plasmite_os::core::layout::DEFAULT_POOL_SIZE;
use plasmite_os::message::{Printed, encode, to_value};
use plasmite_os::{CreateOptions, Durability, Error, ErrorKind, Pool, dir, now_ns};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// `count`, `after_seq`, `since`, `tags` and `where` as a query.
fn query(args: &Args<'_>) -> Result<Query, Failure> {
    let count = args
        .integer("count", 1, COUNT_MAX)?
        .unwrap_or(COUNT_DEFAULT);
    let since_ns = match args.string("since")? {
        Some(s) => Some(values::since(s, now_ns()).map_err(|e| {
            let detail = format!("'{s}' is neither a relative time nor an RFC 3339 instant");
            Failure::arg("since", detail, hint_of(&e))
        })?),
        None => None,
    };
    // Compiled and run in an evaluator: even compiling an expression is not done here.
    let wheres = args
        .string("where")?
        .map(str::to_owned)
        .into_iter()
        .collect();
    Ok(Query {
        after_seq: args.integer("after_seq", 0, u64::MAX)?,
        count: usize::try_from(count).unwrap_or(usize::MAX),
        since_ns,
        tags: args.tags("tags")?,
        wheres,
    })
}

/// Opens pool `name`, creating it with `create` when missing; a missing pool's hint names the
/// tools that make one.
pub(super) fn open(
    pool_dir: &Path,
    name: &str,
    create: Option<CreateOptions>,
) -> Result<Pool, Failure> {
    pool::open(pool_dir, name, create, None).map_err(|e| {
        if e.kind() != ErrorKind::NotFound {
            return Failure::Pool(e);
        }
        let path = e
            .path()
            .map_or_else(|| dir::resolve(pool_dir, name), Path::to_path_buf);
        Failure::Pool(
            Error::new(ErrorKind::NotFound, format!("pool '{name}' not found"))
                .with_path(path)
                .with_hint(format!(
                    "Create it with plasmite_pool_create (or pass create: true to \
                     plasmite_feed); pools are looked up in {}, and plasmite_pool_list shows \
                     what exists.",
                    pool_dir.display()
                )),
        )
    })
}

pub(super) fn pool_list(c: &Call<'_>, _: &Args<'_>) -> Result<Value, Failure> {
    let now = now_ns();
    let pools: Vec<Value> = dir::list_infos(c.dir)?
        .into_iter()
        .map(|(l, info)| match info {
            Ok(info) => info.to_json(&l.name, now),
            Err(e) => {
                // The engine's error object with MCP's hint (not the CLI's wording), and
                // no source chain, as in every MCP error.
                let mut error = e.to_json();
                error["hint"] = json!(hint_of(&e));
                if let Some(o) = error.as_object_mut() {
                    o.remove("causes");
                }
                json!({"error": error, "name": l.name, "path": l.path.display().to_string()})
            }
        })
        .collect();
    Ok(json!({ "pools": pools }))
}

pub(super) fn pool_create(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("name")?;
    let size = match args.get("size") {
        None => DEFAULT_POOL_SIZE,
        Some(Value::String(s)) => values::size("size", s).map_err(Failure::usage_of("size"))?,
        Some(_) => args
            .integer("size", 1, u64::MAX)?
            .unwrap_or(DEFAULT_POOL_SIZE),
    };
    let path = dir::resolve(c.dir, name);
    let opts = CreateOptions {
        size,
        index_capacity: None,
    };
    let pool = Pool::create(&path, opts).map_err(|e| match e.kind() {
        ErrorKind::AlreadyExists => Failure::Pool(
            Error::new(
                ErrorKind::AlreadyExists,
                format!("pool '{name}' already exists"),
            )
            .with_path(&path)
            .with_hint("Use it as-is (plasmite_pool_info describes it), or choose another name."),
        ),
        _ => Failure::usage_of("size")(e),
    })?;
    Ok(json!({ "pool": pool.info()?.to_json(name, now_ns()) }))
}

pub(super) fn pool_info(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    let pool = open(c.dir, name, None)?;
    Ok(json!({ "pool": pool.info()?.to_json(name, now_ns()) }))
}

pub(super) fn pool_delete(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    let path = dir::resolve(c.dir, name);
    dir::delete(&path).map_err(|e| {
        if e.kind() == ErrorKind::NotFound {
            e.with_hint(format!(
                "Nothing to delete: plasmite_pool_list shows the pools in {}.",
                c.dir.display()
            ))
        } else {
            e
        }
    })?;
    Ok(json!({ "deleted": {"path": path.display().to_string(), "pool": name} }))
}

pub(super) fn feed(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    let data = args.required("data")?;
    if !data.is_object() {
        return Err(Failure::arg(
            "data",
            "must be a JSON object",
            "Wrap the value in an object, e.g. {\"value\": …}.",
        ));
    }
    let tags = args.tags("tags")?;
    let create = args
        .boolean("create")?
        .unwrap_or(false)
        .then_some(CreateOptions {
            size: DEFAULT_POOL_SIZE,
            index_capacity: None,
        });
    let pool = open(c.dir, name, create)?;
    let max = pool.max_payload_len();
    let tag_refs: Vec<&str> = tags.iter().map(String::as_str).collect();
    let payload = encode(data, &tag_refs, max).map_err(Failure::usage_of("data"))?;
    let appended = pool.append(&payload, Durability::Fast)?;
    let message = to_value(&Printed {
        seq: appended.seq,
        timestamp_ns: appended.timestamp_ns,
        payload: &payload,
    })?;
    Ok(json!({ "message": message }))
}

pub(super) fn fetch(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    args.required("seq")?;
    let seq = args.integer("seq", 0, u64::MAX)?.unwrap_or_default();
    let pool = open(c.dir, name, None)?;
    let msg = crate::cmd::fetch::get(
        &pool,
        seq,
        "plasmite_pool_info shows the retained range; plasmite_read the latest messages.",
    )?;
    let message = to_value(&msg.printed())
        .map_err(|e| crate::cmd::fetch::located(e, &pool, msg.seq, msg.offset))?;
    Ok(json!({ "message": message }))
}

pub(super) fn read(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    let query = query(args)?;
    let pool = open(c.dir, name, None)?;
    batch::read(&pool, &query, c.sandbox, c.cancel)
}

pub(super) fn wait(c: &Call<'_>, args: &Args<'_>) -> Result<Value, Failure> {
    let name = args.pool("pool")?;
    let query = query(args)?;
    let timeout_ms = args
        .integer("timeout_ms", 0, TIMEOUT_MS_MAX)?
        .unwrap_or(TIMEOUT_MS_DEFAULT);
    let pool = open(c.dir, name, None)?;
    batch::wait(
        &pool,
        &query,
        Duration::from_millis(timeout_ms),
        c.sandbox,
        c.cancel,
    )
}
