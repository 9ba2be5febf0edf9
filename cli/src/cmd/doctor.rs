//! `pls doctor POOL | --all`: check pools for damage.
//!
//! Role: runs the core's validation walk (header, ring state, every frame's commit state,
//! marker, sequence and CRC) on a private copy of each pool file and reports in the reference's
//! shapes, plus how many frames and checksums were verified.
//!
//! # Invariants
//! - Never writes to a pool.
//! - Exit 7 when any pool is corrupt (the report is still printed), else 0.
//!
//! Spec: `spec/CLI.md` §2.8; `spec/FORMAT.md` §8.

use crate::args::{Matches, program, usage};
use crate::cmd::pool::{check_local, table};
use crate::ui::Ui;
use plasmite_os::core::validate::index_spot_check;
use plasmite_os::error::HINT_CORRUPT;
use plasmite_os::inspect::PoolCopy;
use plasmite_os::{Cause, Error, ErrorKind, dir};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

struct Report {
    label: String,
    path: PathBuf,
    json: Value,
    corrupt: bool,
    detail: Option<String>,
    count: Option<(u64, u64)>,
    issues: usize,
}

/// Runs `doctor`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let all = m.has("all");
    let targets: Vec<(String, PathBuf)> = match (m.positional(0), all) {
        (Some(name), false) => {
            check_local(name)?;
            let path = dir::resolve(pool_dir, name);
            vec![(name.to_owned(), path)]
        }
        (None, true) => {
            if !pool_dir.is_dir() {
                return Err(Error::new(ErrorKind::NotFound, "pool directory not found")
                    .with_path(pool_dir)
                    .with_hint("Check --dir, or create a pool first."));
            }
            dir::list(pool_dir)?
                .into_iter()
                .map(|l| (l.path.display().to_string(), l.path))
                .collect()
        }
        _ => {
            return Err(usage("give exactly one of POOL or --all", Some(m.command)));
        }
    };
    // A single pool that cannot be read at all (missing, no permission) is that error; with
    // --all it becomes one unhealthy report among the others.
    let reports: Vec<Report> = targets
        .into_iter()
        .map(|(label, path)| match check(&label, &path) {
            Ok(r) => Ok(r),
            Err(e) if all => Ok(unreadable(label, path, "io", &e, IO_HINT)),
            Err(e) => Err(e),
        })
        .collect::<Result<_, _>>()?;
    let code = if reports.iter().any(|r| r.corrupt) {
        7
    } else {
        0
    };
    if m.has("json") {
        let list: Vec<Value> = reports.iter().map(|r| r.json.clone()).collect();
        ui.print(&ui.json(&json!({ "reports": list })))?;
        return Ok(code);
    }
    let mut text = String::new();
    if ui.stdout_tty && all {
        let bad = reports.iter().filter(|r| r.corrupt).count();
        if bad == 0 {
            text.push_str(&format!("All {} pools healthy.\n", reports.len()));
        } else {
            text.push_str(&format!("{bad} of {} pools unhealthy.\n", reports.len()));
        }
        let rows: Vec<Vec<String>> = reports
            .iter()
            .map(|r| {
                let name = r
                    .path
                    .file_stem()
                    .map_or(r.label.clone(), |s| s.to_string_lossy().into_owned());
                let (mark, status) = if r.corrupt {
                    ("✗", format!("run `{} doctor {name}` for detail", program()))
                } else {
                    ("✓", "healthy".to_owned())
                };
                vec![
                    mark.into(),
                    name,
                    messages(r.count),
                    issues(r.issues),
                    status,
                ]
            })
            .collect();
        let t = table(&["", "POOL", "MESSAGES", "ISSUES", "STATUS"], &rows);
        text.extend(t.lines().skip(1).map(|l| format!("  {l}\n")));
    } else if ui.stdout_tty {
        for r in &reports {
            let state = if r.corrupt { "corrupt" } else { "healthy" };
            text.push_str(&format!("{}: {state}\n", r.label));
            let messages = match r.count {
                Some((o, n)) => format!("{} (seq {o}..{n})", n - o + 1),
                None => "0".into(),
            };
            text.push_str(&format!("  messages:  {messages}\n"));
            text.push_str(&format!(
                "  checked:   header, index, ring — {} issues\n",
                r.issues
            ));
            if let Some(d) = &r.detail {
                text.push_str(&format!("  detail:    {d}\n"));
            }
        }
    } else {
        for r in &reports {
            if r.corrupt {
                let last = r.json["last_good_seq"]
                    .as_u64()
                    .map_or("none".to_owned(), |s| s.to_string());
                text.push_str(&format!(
                    "CORRUPT: {} last_good_seq={last} issue={}\n",
                    r.label,
                    r.detail.clone().unwrap_or_default()
                ));
            } else {
                text.push_str(&format!("OK: {}\n", r.label));
            }
        }
    }
    ui.print(text.as_bytes())?;
    Ok(code)
}

/// `3 messages (seq 1..3)`, `1 message (seq 7..7)`, `0 messages`.
fn messages(bounds: Option<(u64, u64)>) -> String {
    let n = bounds.map_or(0, |(o, n)| n - o + 1);
    let noun = if n == 1 { "message" } else { "messages" };
    match bounds {
        Some((o, newest)) => format!("{n} {noun} (seq {o}..{newest})"),
        None => format!("{n} {noun}"),
    }
}

/// `0 issues`, `1 issue`.
fn issues(n: usize) -> String {
    format!("{n} {}", if n == 1 { "issue" } else { "issues" })
}

/// The report of a pool that could not be read far enough to walk it.
fn unreadable(label: String, path: PathBuf, code: &str, e: &Error, hint: &str) -> Report {
    let issue = json!({"code": code, "message": e.message(), "offset": e.offset(), "seq": null});
    Report {
        json: report_json(
            &label,
            &path,
            vec![issue],
            None,
            vec![hint.to_owned()],
            // Nothing was walked; the keys every report carries are still there.
            json!({"crc_checked": 0, "frames_checked": 0}),
        ),
        label,
        path,
        corrupt: true,
        detail: Some(e.message().to_owned()),
        count: None,
        issues: 1,
    }
}

/// The reference's report object, plus `extra` keys.
fn report_json(
    label: &str,
    path: &Path,
    issues: Vec<Value>,
    last: Option<u64>,
    hints: Vec<String>,
    extra: Value,
) -> Value {
    let corrupt = !issues.is_empty();
    let mut j = json!({
        "issue_count": issues.len(),
        "issues": issues,
        "last_good_seq": last,
        "path": path.display().to_string(),
        "pool_ref": label,
        "remediation_hints": hints,
        "snapshot_path": null,
        "status": if corrupt { "corrupt" } else { "ok" },
    });
    if let (Some(o), Some(e)) = (j.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    j
}

const IO_HINT: &str = "Check the file's permissions and the disk.";

/// Checks one pool; `Err` when the file cannot be read at all (not a verdict on its bytes).
fn check(label: &str, path: &Path) -> Result<Report, Error> {
    let (label, path) = (label.to_owned(), path.to_path_buf());
    let copy = match PoolCopy::read(&path) {
        Ok(c) => c,
        Err(e) if matches!(e.cause(), Some(Cause::UnsupportedVersion { .. })) => {
            let hint = crate::ui::hint(&e).unwrap_or_default();
            return Ok(unreadable(label, path, "format", &e, &hint));
        }
        Err(e) if e.kind() == ErrorKind::Corrupt => {
            return Ok(unreadable(label, path, "corrupt", &e, HINT_CORRUPT));
        }
        Err(e) => return Err(e),
    };
    let (report, stale) = match copy.snapshot() {
        Ok(s) => (plasmite_os::core::validate(&s), index_spot_check(&s)),
        Err(e) => return Ok(unreadable(label, path, "corrupt", &e, HINT_CORRUPT)),
    };
    let mut hints: Vec<String> = Vec::new();
    let mut issues = Vec::new();
    let mut detail = None;
    if let Some(issue) = report.issue {
        let c = issue.corrupt;
        let offset = match c.at {
            plasmite_os::core::Location::Header { offset }
            | plasmite_os::core::Location::Ring { offset } => Some(offset),
            _ => None,
        };
        let message = c.to_string();
        detail = Some(message.clone());
        issues.push(
            json!({"code": "corrupt", "message": message, "offset": offset,
                           "seq": issue.expected_seq}),
        );
        hints.push(HINT_CORRUPT.to_owned());
    }
    for s in stale.iter().flatten() {
        hints.push(format!(
            "warning: index slot {} seq {} is stale or invalid",
            s.slot, s.seq
        ));
    }
    let extra = json!({"frames_checked": report.frames, "crc_checked": report.checksummed});
    let count = report
        .state
        .filter(|s| !s.is_empty())
        .map(|s| (s.oldest, s.newest));
    let n = issues.len();
    Ok(Report {
        json: report_json(&label, &path, issues, report.last_good_seq, hints, extra),
        corrupt: n > 0,
        label,
        path,
        detail,
        count,
        issues: n,
    })
}
