//! `pls bridge out POOL URL --stream NAME` and `pls bridge in URL --stream NAME POOL`: a pool
//! mirrored into a NATS JetStream stream, and a stream into a pool.
//!
//! Role: parses the flags into the bridge engine's configurations (`crate::bridge`), runs it,
//! prints what it reports as notices on stderr and, when it stops after catching up, a summary
//! on stdout. Hints that name a flag are added here; the engine's name none.
//!
//! # Invariants
//! - `--stream` is required; a source or consumer name must be one subject token.
//! - Credentials come from flags or files, never from the environment; a token, a password or
//!   an NKey seed read from a file is trimmed of surrounding whitespace.
//!
//! Spec: `spec/CLI.md` §2.14, `spec/BRIDGE.md`.

use crate::args::{Matches, usage};
use crate::bridge::{self, Connect, Report, inbound, out};
use crate::cmd::pool;
use crate::ui::Ui;
use crate::values;
use plasmite_os::{Error, ErrorKind};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Publishes awaiting acknowledgement by default.
const DEFAULT_WINDOW: u64 = 4096;
/// Messages per pull request by default.
const DEFAULT_BATCH: u64 = 1024;

/// Runs `bridge out` or `bridge in`.
pub fn run(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    match m.command.path {
        ["bridge", "out"] => run_out(m, ui, dir),
        _ => run_in(m, ui, dir),
    }
}

/// The pool's name as a subject token: its name, or its file's stem for a path.
fn pool_token(reference: &str) -> String {
    let stem = Path::new(reference)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(reference);
    bridge::token(stem)
}

fn stream_name(m: &Matches) -> Result<String, Error> {
    let c = Some(m.command);
    let s = m.value("stream").ok_or_else(|| {
        usage("--stream is required", c).with_hint(format!(
            "Name the JetStream stream, e.g. `{} {}`.",
            crate::args::program(),
            m.command.example
        ))
    })?;
    if !bridge::is_token(s) {
        return Err(usage(format!("invalid --stream '{s}'"), c)
            .with_hint("A stream name uses letters, digits, - and _ only."));
    }
    Ok(s.to_owned())
}

fn read_secret(flag: &str, path: &str, m: &Matches) -> Result<String, Error> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::io(e, &format!("failed to read {flag}"), Path::new(path))
            .with_hint(format!("Check the {flag} file's path and permissions."))
    })?;
    let t = text.trim().to_owned();
    if t.is_empty() {
        return Err(usage(format!("{flag} {path} is empty"), Some(m.command)));
    }
    Ok(t)
}

/// The server and credentials flags.
fn connect(m: &Matches, url: &str) -> Result<Connect, Error> {
    let c = Some(m.command);
    if !(url.starts_with("nats://") || url.starts_with("tls://")) {
        return Err(usage(format!("invalid NATS URL '{url}'"), c)
            .with_hint("Use nats://HOST:PORT (or tls://HOST:PORT)."));
    }
    let token = match (m.value("token"), m.value("token-file")) {
        (Some(_), Some(_)) => {
            return Err(usage("use --token or --token-file, not both", c));
        }
        (Some(t), None) => Some(t.to_owned()),
        (None, Some(p)) => Some(read_secret("--token-file", p, m)?),
        (None, None) => None,
    };
    let user = match (m.value("user"), m.value("password-file")) {
        (Some(u), Some(p)) => Some((u.to_owned(), read_secret("--password-file", p, m)?)),
        (Some(_), None) => {
            return Err(usage("--user requires --password-file", c).with_hint(
                "Put the password in a file (or in the URL: nats://USER:PASS@HOST:PORT).",
            ));
        }
        (None, Some(_)) => return Err(usage("--password-file requires --user", c)),
        (None, None) => None,
    };
    let tls_client = match (m.value("tls-cert"), m.value("tls-key")) {
        (Some(cert), Some(key)) => Some((PathBuf::from(cert), PathBuf::from(key))),
        (None, None) => None,
        _ => return Err(usage("--tls-cert and --tls-key go together", c)),
    };
    Ok(Connect {
        url: url.to_owned(),
        token,
        user,
        nkey_seed: m
            .value("nkey-file")
            .map(|p| read_secret("--nkey-file", p, m))
            .transpose()?,
        creds_file: m.value("creds").map(PathBuf::from),
        tls_ca: m.value("tls-ca").map(PathBuf::from),
        tls_client,
    })
}

/// Prints a report as a notice.
fn notice(ui: &Ui, cmd: &str, pool: &str, r: Report) {
    let (kind, message, details) = match r {
        Report::Resumed { at, reconnect } => {
            let what = if reconnect { "reconnected" } else { "started" };
            let message = if cmd == "bridge out" {
                format!("Bridge {what}: publishing from pool seq {at}.")
            } else {
                format!("Bridge {what}: appending after stream seq {at}.")
            };
            (
                "bridge_resumed",
                message,
                json!({"at": at, "reconnect": reconnect}),
            )
        }
        Report::Skipped { first, count } => (
            "drop",
            format!(
                "Skipped {count} message(s) overwritten before they were bridged (seq {first}..{}).",
                first + count - 1
            ),
            json!({"first_missing": first, "count": count, "last_missing": first + count - 1}),
        ),
        Report::Damaged { seq } => (
            "corrupt",
            format!("Message {seq} is damaged in the pool; not published."),
            json!({"seq": seq}),
        ),
        Report::Disconnected { reason } => (
            "bridge_disconnected",
            format!("NATS: {reason}; reconnecting."),
            json!({"reason": reason}),
        ),
        Report::Refused { stream_seq, reason } => (
            "bridge_refused",
            format!("Stream message {stream_seq} skipped: {reason}."),
            json!({"stream_seq": stream_seq, "reason": reason}),
        ),
        Report::StreamCreated { name } => (
            "stream_created",
            format!("Created stream {name}."),
            json!({"stream": name}),
        ),
    };
    ui.notice(cmd, kind, &message, pool, details);
}

fn run_out(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let c = Some(m.command);
    let reference = m.positional(0).unwrap_or_default();
    let url = m.positional(1).unwrap_or_default();
    let stream = stream_name(m)?;
    let prefix = m.value("subject-prefix").unwrap_or("pls").to_owned();
    if !bridge::is_prefix(&prefix) {
        return Err(
            usage(format!("invalid --subject-prefix '{prefix}'"), c).with_hint(
                "Use dot-separated tokens without wildcards or spaces, e.g. pls or org.pls.",
            ),
        );
    }
    let source = match m.value("source") {
        Some(s) if bridge::is_token(s) => s.to_owned(),
        Some(s) => {
            return Err(usage(format!("invalid --source '{s}'"), c)
                .with_hint("A source name is one subject token: letters, digits, - and _."));
        }
        None => pool_token(reference),
    };
    let window = m
        .value("window")
        .map(|s| values::count("--window", s))
        .transpose()?
        .unwrap_or(DEFAULT_WINDOW);
    if window == 0 {
        return Err(usage("--window must be at least 1", c));
    }
    let cfg = out::Config {
        connect: connect(m, url)?,
        stream,
        prefix,
        source,
        subject_tags: m.has("subject-tags"),
        allow_gap: m.has("allow-gap"),
        create_stream: m.has("create-stream"),
        catch_up: m.has("catch-up"),
        window: usize::try_from(window).unwrap_or(usize::MAX),
    };
    let p = Arc::new(pool::open(dir, reference, None, None)?);
    let shown = p.path().display().to_string();
    let summary = out::run(p, &cfg, &mut |r| notice(ui, "bridge out", &shown, r)).map_err(
        |e| match e.kind() {
            ErrorKind::RetentionGap => {
                let hint = "Rerun with --allow-gap to go on from the oldest retained message \
                            (the skipped range is reported), or use a larger pool.";
                e.with_hint(hint)
            }
            ErrorKind::NotFound if e.path().is_none() => e.with_hint(
                "Create the stream first, or pass --create-stream to create it sized from the pool.",
            ),
            _ => e,
        },
    )?;
    ui.print(&ui.json(&json!({
        "published": summary.published,
        "last_seq": summary.last_seq,
        "stream": cfg.stream,
        "source": cfg.source,
    })))?;
    Ok(0)
}

fn run_in(m: &Matches, ui: &Ui, dir: &Path) -> Result<u8, Error> {
    let c = Some(m.command);
    let url = m.positional(0).unwrap_or_default();
    let reference = m.positional(1).unwrap_or_default();
    let stream = stream_name(m)?;
    let durable = match m.value("durable") {
        Some(d) if bridge::is_token(d) => d.to_owned(),
        Some(d) => {
            return Err(usage(format!("invalid --durable '{d}'"), c)
                .with_hint("A consumer name uses letters, digits, - and _ only."));
        }
        None => format!("pls-{}", pool_token(reference)),
    };
    let batch = m
        .value("batch")
        .map(|s| values::count("--batch", s))
        .transpose()?
        .unwrap_or(DEFAULT_BATCH);
    if batch == 0 {
        return Err(usage("--batch must be at least 1", c));
    }
    let cfg = inbound::Config {
        connect: connect(m, url)?,
        stream,
        filter_subject: m.value("filter-subject").map(str::to_owned),
        durable,
        catch_up: m.has("catch-up"),
        batch: usize::try_from(batch).unwrap_or(usize::MAX),
    };
    let p = pool::open(
        dir,
        reference,
        pool::create_options(m)?,
        Some(format!("{} bridge in … --create", crate::args::program())),
    )?;
    let shown = p.path().display().to_string();
    let summary = inbound::run(&p, &cfg, &mut |r| notice(ui, "bridge in", &shown, r))?;
    ui.print(&ui.json(&json!({
        "appended": summary.appended,
        "last_stream_seq": summary.last_stream_seq,
        "stream": cfg.stream,
        "durable": cfg.durable,
    })))?;
    Ok(0)
}
