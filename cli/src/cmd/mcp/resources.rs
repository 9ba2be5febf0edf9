//! MCP resources: every pool of the directory as `plasmite:///pools/<name>`, read as a batch of
//! its latest messages.
//!
//! Role: `resources/list`, `resources/templates/list` and `resources/read`. The URI's name
//! part is percent-encoded so that any file name round-trips.
//!
//! # Invariants
//! - A URI names a pool of the server's directory only: the name is one path segment, never a
//!   path, so a resource cannot reach files outside the directory.
//! - Listing never fails because one pool is unreadable: that pool is listed with a description
//!   saying why.
//! - Resource failures are JSON-RPC errors: `-32602` for a malformed URI, `-32000` with the
//!   error kind and a hint for a pool that cannot be read.
//!
//! Spec: `spec/MCP.md` §5.

use super::RpcError;
use super::batch::{self, Query};
use crate::cmd::pool::human_bytes;
use plasmite_os::{Error, ErrorKind, Pool, dir};
use serde_json::{Map, Value, json};
use std::path::Path;

/// The scheme and path before a pool name.
const PREFIX: &str = "plasmite:///pools/";
/// Messages in a resource read.
const LATEST: usize = 20;

/// `resources/list`.
pub(super) fn list(pool_dir: &Path) -> Result<Value, RpcError> {
    let pools = dir::list(pool_dir).map_err(|e| RpcError::pool(&e))?;
    let resources: Vec<Value> = pools
        .iter()
        .map(|l| {
            let description = match Pool::open_read_only(&l.path).and_then(|p| p.info()) {
                Ok(info) => format!(
                    "Pool '{}': {} messages in a {} ring (file {}, {:.2}% used); reading gives \
                     its {LATEST} latest messages.",
                    l.name,
                    info.message_count(),
                    human_bytes(info.geometry.ring_size),
                    human_bytes(info.geometry.file_size),
                    info.used_percent()
                ),
                Err(e) => format!(
                    "Pool '{}' cannot be read ({}: {}).",
                    l.name,
                    e.kind().as_str(),
                    e.message()
                ),
            };
            json!({
                "description": description,
                "mimeType": "application/json",
                "name": l.name,
                "uri": uri(&l.name),
            })
        })
        .collect();
    Ok(json!({ "resources": resources }))
}

/// `resources/templates/list`: the URI pattern of pool resources.
pub(super) fn templates() -> Value {
    json!({ "resourceTemplates": [{
        "description": "The 20 latest messages of a pool, as a read batch.",
        "mimeType": "application/json",
        "name": "pool",
        "uriTemplate": "plasmite:///pools/{name}",
    }]})
}

/// `resources/read {uri}`.
pub(super) fn read(
    pool_dir: &Path,
    params: Option<&Map<String, Value>>,
) -> Result<Value, RpcError> {
    let hint = "Pass a uri from resources/list, e.g. {\"uri\":\"plasmite:///pools/chat\"}.";
    let uri = match params.and_then(|p| p.get("uri")) {
        Some(Value::String(u)) => u.as_str(),
        Some(_) => return Err(RpcError::invalid_params("uri must be a string", hint)),
        None => return Err(RpcError::invalid_params("uri is required", hint)),
    };
    let name = name_of(uri)
        .ok_or_else(|| RpcError::invalid_params(format!("not a plasmite pool uri: {uri}"), hint))?;
    // The inverse of `dir::list` (file stem + extension), not `dir::resolve`: a listed name that
    // itself ends in `.plasmite` must still name its own file.
    let path = pool_dir.join(format!("{name}.{}", dir::POOL_EXTENSION));
    let batch = Pool::open_read_only(&path)
        .map_err(|e| {
            if e.kind() == ErrorKind::NotFound {
                Error::new(ErrorKind::NotFound, format!("no pool named '{name}'"))
                    .with_path(&path)
                    .with_hint("List the available pools with resources/list.")
            } else {
                e
            }
        })
        .and_then(|pool| batch::read_here(&pool, &Query::latest(LATEST)))
        .map_err(|e| RpcError::pool(&e))?;
    let text = serde_json::to_string(&batch).unwrap_or_default();
    Ok(json!({ "contents": [{"mimeType": "application/json", "text": text, "uri": uri}] }))
}

/// The URI of pool `name`.
fn uri(name: &str) -> String {
    let mut u = String::from(PREFIX);
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            u.push(char::from(b));
        } else {
            u.push_str(&format!("%{b:02X}"));
        }
    }
    u
}

/// The pool name in a pool URI: one non-empty percent-decoded segment without `/` or NUL.
fn name_of(uri: &str) -> Option<String> {
    let encoded = uri.strip_prefix(PREFIX)?;
    let bytes = encoded.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = encoded.get(i + 1..i + 3)?;
            if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
                return None;
            }
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    let valid = !name.is_empty() && !name.contains(['/', '\0']) && name != "." && name != "..";
    valid.then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_names_round_trip_through_uris() {
        for name in ["chat", "a b", "ünï", "50%", "x.y-z_~", "q?#&"] {
            let u = uri(name);
            assert!(u.starts_with(PREFIX));
            assert!(!u[PREFIX.len()..].contains(['/', ' ', '?', '#']), "{u}");
            assert_eq!(name_of(&u).as_deref(), Some(name), "{u}");
        }
    }

    #[test]
    fn uris_that_are_not_one_pool_name_are_refused() {
        for u in [
            "plasmite:///pools/",
            "plasmite:///pools/a/b",
            "plasmite:///pools/a%2Fb",
            "plasmite:///pools/%2e%2e",
            "plasmite:///pools/..",
            "plasmite:///pools/%zz",
            "plasmite:///pools/%4",
            "plasmite:///pools/%+4",
            "plasmite:///pools/%00",
            "plasmite:///pools/%ff",
            "file:///etc/passwd",
            "plasmite://pools/chat",
        ] {
            assert_eq!(name_of(u), None, "{u}");
        }
    }
}
