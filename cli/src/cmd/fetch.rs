//! `pls fetch POOL SEQ`: one message by sequence number.
//!
//! Role: prints one envelope with the JSON output helper's rules (pretty on a terminal,
//! compact when piped).
//!
//! # Invariants
//! - A missing sequence is NotFound naming the retained range; a damaged frame is Corrupt with
//!   its offset; nothing waits.
//!
//! Spec: `spec/CLI.md` §2.6.

use crate::args::Matches;
use crate::cmd::pool;
use crate::ui::Ui;
use crate::values;
use plasmite_os::message::{Style, print, to_value};
use plasmite_os::{Error, ErrorKind, Message, Pool};
use std::path::Path;

/// Runs `fetch`.
pub fn run(m: &Matches, ui: &Ui, pool_dir: &Path) -> Result<u8, Error> {
    let name = m.positional(0).unwrap_or_default();
    let seq = values::count("SEQ", m.positional(1).unwrap_or_default())?;
    pool::check_remote_flags(m, "fetch")?;
    let next = format!(
        "Check available messages: {p} pool info {name} (or {p} follow {name} --tail 10).",
        p = crate::args::program()
    );
    #[cfg(feature = "remote")]
    if let Some(r) = pool::remote_ref(name)? {
        let remote = pool::open_remote(&r, m)?;
        let msg = remote.get(seq).map_err(|e| with_next(e, &next))?;
        return show(ui, &msg, |e| e);
    }
    let pool = pool::open(pool_dir, name, None, None)?;
    let msg = get(&pool, seq, &next)?;
    show(ui, &msg, |e| located(e, &pool, msg.seq, msg.offset))
}

/// Prints `msg` (pretty on a terminal, compact otherwise), `locate` adding where it is to a
/// decoding error.
fn show(ui: &Ui, msg: &Message, locate: impl Fn(Error) -> Error) -> Result<u8, Error> {
    let printed = msg.printed();
    let mut out = Vec::with_capacity(msg.payload.len() * 2);
    let with_offset = &locate;
    if ui.stdout_tty || ui.always {
        out = crate::ui::pretty(&to_value(&printed).map_err(with_offset)?, ui.color_out);
    } else {
        print(&mut out, &printed, Style::Compact).map_err(with_offset)?;
        out.push(b'\n');
    }
    ui.print(&out)?;
    Ok(0)
}

/// `pool.get(seq)`, with `next` (what to do) added to the hint when the message is not there.
pub fn get(pool: &Pool, seq: u64, next: &str) -> Result<Message, Error> {
    pool.get(seq).map_err(|e| with_next(e, next))
}

/// A missing message's error with `next` (what to do) added to its hint.
fn with_next(e: Error, next: &str) -> Error {
    if e.kind() == ErrorKind::NotFound {
        let hint = format!("{} {next}", e.hint().unwrap_or_default());
        e.with_hint(hint.trim_start().to_owned())
    } else {
        e
    }
}

/// `e` with where the message it is about lives, when it says the message is corrupt.
pub fn located(e: Error, pool: &Pool, seq: u64, offset: u64) -> Error {
    if e.kind() == ErrorKind::Corrupt {
        e.with_offset(offset).with_seq(seq).with_path(pool.path())
    } else {
        e
    }
}
