//! `pls pool create|info|list|delete`, and opening pools by reference for every command.
//!
//! Role: the pool-management commands with the reference's output shapes (JSON, and human text
//! on and off a terminal), plus [`open`], which every other command uses to turn a reference
//! into an open pool with the reference's hints (it and its helpers live in `open`).
//!
//! # Invariants
//! - References resolve through `plasmite_os::dir` only; remote (`http(s)://`) references are
//!   opened by [`open_remote`] for the commands that take them and refused with a Usage error
//!   saying so by the others, never treated as file names.
//! - `pool create` stops at the first failure; `pool delete` tries every name and exits with
//!   the first failure's code.
//!
//! Spec: `spec/CLI.md` §2.1–2.4, §3.1.

mod open;

pub use open::*;

use crate::args::{Matches, program, usage};
use crate::ui::Ui;
use crate::values;
use plasmite_os::{CreateOptions, Error, ErrorKind, Info, Pool, dir, now_ns};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Runs `pool create|info|list|delete`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    match m.command.path {
        ["pool", "create"] => create(m, ui, pool_dir),
        ["pool", "info"] => info(m, ui, pool_dir),
        ["pool", "list"] => list(m, ui, pool_dir),
        ["pool", "delete"] => delete(m, ui, pool_dir),
        other => Err(Error::new(
            ErrorKind::Internal,
            format!("command '{}' has no handler", other.join(" ")),
        )),
    }
}

fn create(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let size = match m.value("size") {
        Some(s) => values::size("--size", s)?,
        None => plasmite_os::core::layout::DEFAULT_POOL_SIZE,
    };
    let index_capacity = match m.value("index-capacity") {
        Some(s) => {
            let n = values::count("--index-capacity", s)?;
            if n.saturating_mul(16) > size / 2 {
                return Err(usage(
                    format!("--index-capacity {n} is too large for a {size}-byte pool"),
                    Some(m.command),
                )
                .with_hint(format!(
                    "The index may use at most half the file: at most {} slots.",
                    size / 32
                )));
            }
            Some(n)
        }
        None => None,
    };
    let opts = CreateOptions {
        size,
        index_capacity,
    };
    let mut created: Vec<(String, Info)> = Vec::new();
    for name in &m.positionals {
        check_local(name)?;
        let path = dir::resolve(pool_dir, name);
        let pool = Pool::create(&path, opts).map_err(|e| {
            if e.kind() == ErrorKind::AlreadyExists {
                Error::new(ErrorKind::AlreadyExists, "pool already exists")
                    .with_path(&path)
                    .with_hint(format!(
                        "Choose a different name or delete the existing pool ({} pool delete).",
                        program()
                    ))
            } else {
                e
            }
        })?;
        created.push((name.clone(), pool.info()?));
    }
    let now = now_ns();
    if m.has("json") {
        let list: Vec<Value> = created.iter().map(|(n, i)| i.to_json(n, now)).collect();
        ui.print(&ui.json(&json!({ "created": list })))?;
        return Ok(0);
    }
    let mut out = String::new();
    if ui.stdout_tty {
        if let [(name, i)] = created.as_slice() {
            out.push_str(&format!(
                "Created {name} ({}, {} index slots)\n  path: {}\n",
                human_bytes(i.geometry.file_size),
                i.geometry.index_capacity,
                i.path.display()
            ));
        } else {
            out.push_str(&format!(
                "Created {} pools ({} each)\n",
                created.len(),
                human_bytes(size)
            ));
            for (name, i) in &created {
                out.push_str(&format!("  - {name} ({})\n", i.path.display()));
            }
        }
    } else {
        let rows: Vec<Vec<String>> = created
            .iter()
            .map(|(n, i)| {
                vec![
                    n.clone(),
                    i.geometry.file_size.to_string(),
                    i.geometry.index_capacity.to_string(),
                    i.path.display().to_string(),
                ]
            })
            .collect();
        out.push_str(&table(&["NAME", "SIZE", "INDEX", "PATH"], &rows));
    }
    ui.print(out.as_bytes())?;
    Ok(0)
}

fn info(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let name = m.positional(0).unwrap_or_default();
    check_remote_flags(m, "pool info")?;
    #[cfg(feature = "remote")]
    if let Some(r) = remote_ref(name)? {
        let remote = open_remote(&r, m)?;
        return remote_info(m, ui, name, remote.info()?);
    }
    let pool = open(pool_dir, name, None, None)?;
    let info = pool.info()?;
    let now = now_ns();
    if m.has("json") {
        ui.print(&ui.json(&info.to_json(name, now)))?;
        return Ok(0);
    }
    let g = &info.geometry;
    let age = |t: Option<u64>| match t {
        Some(t) => format!(
            "{} ({} ago)",
            plasmite_os::message::rfc3339(t),
            ago(now.saturating_sub(t))
        ),
        None => "—".to_owned(),
    };
    let text = if ui.stdout_tty {
        let messages = match info.bounds() {
            Some((o, n)) => format!("{} (seq {o}..{n})", info.message_count()),
            None => "empty".to_owned(),
        };
        let when = |t: Option<u64>| match t {
            Some(t) => format!(
                "{} ago ({})",
                ago(now.saturating_sub(t)),
                plasmite_os::message::rfc3339(t)
            ),
            None => "—".to_owned(),
        };
        format!(
            "{name}\n  path:     {}\n  size:     {} ({} used, {:.2}%)\n  messages: {messages}\n  oldest:   {}\n  newest:   {}\n  index:    {} slots ({})\n  ring:     {}\n",
            info.path.display(),
            human_bytes(g.file_size),
            human_bytes(info.used_bytes()),
            info.used_percent(),
            when(info.oldest_time_ns),
            when(info.newest_time_ns),
            g.index_capacity,
            human_bytes(info.index_size_bytes()),
            human_bytes(g.ring_size),
        )
    } else {
        let bounds = match info.bounds() {
            Some((o, n)) => format!("oldest={o} newest={n} count={}", info.message_count()),
            None => "empty".to_owned(),
        };
        format!(
            "Pool: {name}\nPath: {}\nSize: {} bytes (index: offset={} slots={} bytes={}, ring: offset={} size={})\nBounds: {bounds}\nUtilization: used={}B free={}B ({:.2}%)\nOldest: {}\nNewest: {}\n",
            absolute(&info.path).display(),
            g.file_size,
            plasmite_os::core::layout::INDEX_OFFSET,
            g.index_capacity,
            info.index_size_bytes(),
            g.ring_offset,
            g.ring_size,
            info.used_bytes(),
            info.free_bytes(),
            info.used_percent(),
            age(info.oldest_time_ns),
            age(info.newest_time_ns),
        )
    };
    ui.print(text.as_bytes())?;
    Ok(0)
}

/// `pool info URL`: the server's info (`--json`: as the server sent it, `name` as given; text
/// like a local pool's, from the same fields).
#[cfg(feature = "remote")]
fn remote_info(m: &Matches, ui: &Ui, name: &str, mut v: Value) -> Result<u8, Error> {
    v["name"] = json!(name);
    if m.has("json") {
        ui.print(&ui.json(&v))?;
        return Ok(0);
    }
    let n = |k: &str| v[k].as_u64().unwrap_or_default();
    let metrics = &v["metrics"];
    let used = metrics["utilization"]["used_bytes"]
        .as_u64()
        .unwrap_or_default();
    let free = metrics["utilization"]["free_bytes"]
        .as_u64()
        .unwrap_or_default();
    let pct = metrics["utilization"]["used_percent"]
        .as_f64()
        .unwrap_or_default();
    let count = metrics["message_count"].as_u64().unwrap_or_default();
    let bounds = v["bounds"]["oldest"]
        .as_u64()
        .zip(v["bounds"]["newest"].as_u64());
    let time = |k: &str| {
        metrics["age"][k]
            .as_str()
            .map_or_else(|| "—".to_owned(), str::to_owned)
    };
    let text = format!(
        "Pool: {name}\nPath: {} (on the server)\nSize: {} bytes (index: offset={} slots={} bytes={}, ring: offset={} size={})\nBounds: {}\nUtilization: used={used}B free={free}B ({pct:.2}%)\nOldest: {}\nNewest: {}\n",
        v["path"].as_str().unwrap_or_default(),
        n("file_size"),
        n("index_offset"),
        n("index_capacity"),
        n("index_size_bytes"),
        n("ring_offset"),
        n("ring_size"),
        match bounds {
            Some((o, nw)) => format!("oldest={o} newest={nw} count={count}"),
            None => "empty".to_owned(),
        },
        time("oldest_time"),
        time("newest_time"),
    );
    ui.print(text.as_bytes())?;
    Ok(0)
}

fn list(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let pools = dir::list(pool_dir)?;
    struct Row {
        name: String,
        path: PathBuf,
        result: Result<(Info, u64, String), Error>,
    }
    let rows: Vec<Row> = pools
        .into_iter()
        .map(|l| {
            let result = (|| {
                let meta = std::fs::metadata(&l.path)
                    .map_err(|e| Error::io(e, "failed to stat pool", &l.path))?;
                let mtime = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
                let info = Pool::open_read_only(&l.path)?.info()?;
                Ok((info, meta.len(), plasmite_os::message::rfc3339(mtime)))
            })();
            Row {
                name: l.name,
                path: l.path,
                result,
            }
        })
        .collect();
    if m.has("json") {
        let list: Vec<Value> = rows
            .iter()
            .map(|r| match &r.result {
                Ok((info, size, mtime)) => {
                    let bounds = match info.bounds() {
                        Some((o, n)) => json!({"oldest": o, "newest": n}),
                        None => json!({}),
                    };
                    json!({"bounds": bounds, "file_size": size, "mtime": mtime,
                           "name": r.name, "path": r.path.display().to_string()})
                }
                Err(e) => json!({"error": crate::ui::error_json(e), "name": r.name,
                                 "path": r.path.display().to_string()}),
            })
            .collect();
        ui.print(&ui.json(&json!({ "pools": list })))?;
        return Ok(0);
    }
    if rows.is_empty() && ui.stdout_tty {
        let text = format!(
            "No pools found in {}/\nCreate one: {} pool create chat\n",
            pool_dir.display(),
            program()
        );
        ui.print(text.as_bytes())?;
        return Ok(0);
    }
    let any_error = rows.iter().any(|r| r.result.is_err());
    let text = if ui.stdout_tty && !any_error {
        let body: Vec<Vec<String>> = rows
            .iter()
            .filter_map(|r| {
                let (info, size, mtime) = r.result.as_ref().ok()?;
                Some(vec![
                    cell(&r.name),
                    human_bytes(*size),
                    info.message_count().to_string(),
                    mtime.clone(),
                    cell(&r.path.display().to_string()),
                ])
            })
            .collect();
        table(&["NAME", "SIZE", "MSGS", "MODIFIED", "PATH"], &body)
    } else {
        let body: Vec<Vec<String>> = rows
            .iter()
            .map(|r| match &r.result {
                Ok((info, size, mtime)) => {
                    let (o, n) = info.bounds().map_or(("-".into(), "-".into()), |(o, n)| {
                        (o.to_string(), n.to_string())
                    });
                    vec![
                        cell(&r.name),
                        "OK".into(),
                        size.to_string(),
                        o,
                        n,
                        mtime.clone(),
                        cell(&r.path.display().to_string()),
                        "-".into(),
                    ]
                }
                Err(e) => vec![
                    cell(&r.name),
                    "ERR".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    cell(&r.path.display().to_string()),
                    cell(&format!("{}: {}", e.kind().as_str(), e.message())),
                ],
            })
            .collect();
        table(
            &[
                "NAME", "STATUS", "SIZE", "OLDEST", "NEWEST", "MTIME", "PATH", "DETAIL",
            ],
            &body,
        )
    };
    ui.print(text.as_bytes())?;
    Ok(0)
}

fn delete(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let mut deleted: Vec<(String, PathBuf)> = Vec::new();
    let mut failed: Vec<(String, Option<PathBuf>, Error)> = Vec::new();
    for name in &m.positionals {
        if let Err(e) = check_local(name) {
            failed.push((name.clone(), None, e));
            continue;
        }
        let path = dir::resolve(pool_dir, name);
        match dir::delete(&path) {
            Ok(()) => deleted.push((name.clone(), path)),
            Err(e) => failed.push((name.clone(), Some(path), e)),
        }
    }
    let code = failed
        .first()
        .map_or(0, |(_, _, e)| crate::run::exit_code(e.kind()));
    if m.has("json") {
        let d: Vec<Value> = deleted
            .iter()
            .map(|(n, p)| json!({"path": p.display().to_string(), "pool": n}))
            .collect();
        let f: Vec<Value> = failed
            .iter()
            .map(|(n, _, e)| json!({"error": crate::ui::error_json(e), "pool": n}))
            .collect();
        ui.print(&ui.json(&json!({"deleted": d, "failed": f})))?;
        return Ok(code);
    }
    let mut text = String::new();
    if ui.stdout_tty {
        if m.positionals.len() == 1 {
            match (deleted.first(), failed.first()) {
                (Some((n, _)), _) => text.push_str(&format!("Deleted pool \"{n}\".\n")),
                (None, Some((n, _, e))) if e.kind() == ErrorKind::NotFound => {
                    text.push_str(&format!("Pool \"{n}\" not found. Nothing to delete.\n"));
                }
                (None, Some((n, _, e))) => {
                    text.push_str(&format!("✗ {n}: {}\n", e.message()));
                }
                (None, None) => {}
            }
        } else {
            text.push_str(&format!("Deleted {} pools.\n", deleted.len()));
            for (n, _) in &deleted {
                text.push_str(&format!("  ✓ {n}\n"));
            }
            for (n, _, e) in &failed {
                text.push_str(&format!("  ✗ {n}: {}\n", e.message()));
            }
        }
        text.push_str(&format!("Pool directory: {}/\n", pool_dir.display()));
    } else {
        // The statuses and the DETAIL cell are `pool list`'s, so one parser reads both tables.
        let mut rows: Vec<Vec<String>> = deleted
            .iter()
            .map(|(n, p)| {
                vec![
                    cell(n),
                    "OK".into(),
                    cell(&p.display().to_string()),
                    "-".into(),
                ]
            })
            .collect();
        rows.extend(failed.iter().map(|(n, p, e)| {
            vec![
                cell(n),
                "ERR".into(),
                p.as_ref()
                    .map_or("-".into(), |p| cell(&p.display().to_string())),
                cell(&format!("{}: {}", e.kind().as_str(), e.message())),
            ]
        }));
        text.push_str(&table(&["NAME", "STATUS", "PATH", "DETAIL"], &rows));
    }
    ui.print(text.as_bytes())?;
    Ok(code)
}

/// A table cell: line breaks are shown as `\n`/`\r`, so every row stays one line.
fn cell(s: &str) -> String {
    s.replace('\n', "\\n").replace('\r', "\\r")
}

/// Columns separated by two spaces, padded to the widest cell.
pub fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut s = String::new();
        for (i, (c, w)) in cells.into_iter().zip(&widths).enumerate() {
            s.push_str(c);
            if i + 1 < n {
                s.push_str(&" ".repeat(w - c.chars().count() + 2));
            }
        }
        s.push('\n');
        s
    };
    let mut out = line(header.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// Bytes for people: plain below 1024, else K/M/G with one decimal unless exact.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [(&str, u64); 3] = [("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)];
    for (unit, size) in UNITS {
        // The largest unit that shows at least 1.0 once rounded: 1048575 is 1.0M, not 1024.0K.
        #[allow(clippy::cast_precision_loss)]
        if n >= size || (n >= 1024 && (n as f64 / size as f64 * 10.0).round() >= 10.0) {
            return if n.is_multiple_of(size) {
                format!("{}{unit}", n / size)
            } else {
                format!("{:.1}{unit}", n as f64 / size as f64)
            };
        }
    }
    n.to_string()
}

/// A relative age for people: s, m, h, d or w, at least `1s`.
pub fn ago(ns: u64) -> String {
    let s = (ns / 1_000_000_000).max(1);
    match s {
        0..60 => format!("{s}s"),
        60..3_600 => format!("{}m", s / 60),
        3_600..86_400 => format!("{}h", s / 3_600),
        86_400..604_800 => format!("{}d", s / 86_400),
        _ => format!("{}w", s / 604_800),
    }
}

fn absolute(p: &Path) -> PathBuf {
    std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::human_bytes;

    #[test]
    fn human_bytes_never_shows_1024_of_a_unit() {
        assert_eq!(human_bytes(1000), "1000");
        assert_eq!(human_bytes(1024), "1K");
        assert_eq!(human_bytes(1536), "1.5K");
        assert_eq!(human_bytes((1 << 20) - 1), "1.0M");
        assert_eq!(human_bytes(1 << 20), "1M");
        assert_eq!(human_bytes((1 << 30) - 1), "1.0G");
        assert_eq!(human_bytes(5 << 30), "5G");
    }
}
