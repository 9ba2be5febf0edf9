//! `plasmite-core` inside a real `#![no_std]`, `#![no_main]` binary with no global allocator.
//!
//! Role: a CI check, not a product. If core (or anything it depends on) starts using `std`, the
//! build fails on a duplicate `panic_impl` lang item; if it starts using `alloc`, linking fails
//! for want of a global allocator. Dead code is not enough to prove that, so `main` drives the
//! real API end to end — create a pool in a stack buffer, append through the planner and its
//! ordered stores until the ring has wrapped and evicted, validate, walk with a cursor, locate,
//! then filter envelopes with a compiled predicate — and exits non-zero if any result is wrong.
//!
//! The C runtime (crt1 + libc) provides the process entry and the `mem*` functions the compiler
//! emits calls to; nothing else from libc is used except `abort` in the panic handler.
#![no_std]
#![no_main]

use core::ffi::{c_char, c_int};
use core::panic::PanicInfo;
use plasmite_core::frame::payload_crc;
use plasmite_core::lite3::envelope;
use plasmite_core::lite3::write::{Key, Value};
use plasmite_core::predicate::{Cmp, Literal, Message, Program, Step as PathStep};
use plasmite_core::{
    AppendWrite, Cursor, Geometry, Header, PoolView, Snapshot, Step, Store, locate, plan_append,
    validate,
};

#[link(name = "c")]
unsafe extern "C" {
    /// `abort(3)` — raise SIGABRT; never returns.
    safe fn abort() -> !;
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    // Not a busy loop: a panic in CI must fail the run, not hang it.
    abort()
}

const FILE_SIZE: usize = 8192;
const MESSAGES: u64 = 300;

/// The entry point the C runtime calls.
// SAFETY: `no_mangle` exports the symbol `main`, which crt1's `_start` calls with the C
// signature declared here; this binary links no std, so no other `main` symbol exists.
#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: c_int, _argv: *const *const c_char) -> c_int {
    match run() {
        Ok(()) => 0,
        Err(code) => code,
    }
}

/// Each failure has its own exit code, so a red CI says which step broke.
fn run() -> Result<(), c_int> {
    let mut file = [0u8; FILE_SIZE];
    let geo = Geometry::new(FILE_SIZE as u64, Some(8)).map_err(|_| 10)?;
    Header::new(geo).write_to(&mut file).map_err(|_| 11)?;

    let mut payload = [0u8; 256];
    for i in 1..=MESSAGES {
        let len = (i as usize * 37) % payload.len();
        let body = payload.get_mut(..len).ok_or(12)?;
        body.fill(i as u8);
        let body = &*body;
        let plan = {
            let snap = Snapshot::new(&file).map_err(|_| 13)?;
            let before = snap.published().map_err(|_| 14)?;
            plan_append(&snap, before, len as u64).map_err(|_| 15)?
        };
        if plan.seq != i {
            return Err(16);
        }
        let write = {
            let snap = Snapshot::new(&file).map_err(|_| 13)?;
            AppendWrite::new(&snap, &plan, i, body, payload_crc(body)).ok_or(17)?
        };
        let (stores, n) = write.stores();
        for store in stores.iter().take(n).flatten() {
            apply(&mut file, store).ok_or(18)?;
        }
    }

    let snap = Snapshot::new(&file).map_err(|_| 20)?;
    let state = snap.published().map_err(|_| 21)?.state;
    let report = validate(&snap);
    if !report.is_ok() || report.frames != state.count() || state.newest != MESSAGES {
        return Err(22);
    }
    if state.oldest <= 1 {
        // 300 messages of up to 255 bytes cannot all fit in a 4 KiB ring: it must have evicted.
        return Err(23);
    }
    let mut cursor = Cursor::oldest(&state);
    let mut seen = 0u64;
    loop {
        match cursor.next(&snap).map_err(|_| 24)? {
            Step::Message(f) => {
                let body = snap.payload(&f).ok_or(25)?;
                if body.iter().any(|&b| b != f.seq() as u8) || !f.verify_crc(&snap).is_ok() {
                    return Err(26);
                }
                seen += 1;
            }
            Step::CaughtUp => break,
            Step::Gap { .. } => return Err(27),
        }
    }
    if seen != state.count() {
        return Err(28);
    }
    match locate(&snap, MESSAGES) {
        Ok(Some(f)) if f.seq() == MESSAGES => {}
        _ => return Err(29),
    }
    filter()
}

/// A compiled predicate over envelopes written in stack buffers:
/// `.data.value > 25 and (.meta.tags | length == 1)`.
fn filter() -> Result<(), c_int> {
    let mut p = Program::new();
    p.push_path(&[PathStep::Key("data"), PathStep::Key("value")])
        .map_err(|_| 30)?;
    p.push_literal(Literal::Int(25)).map_err(|_| 30)?;
    p.push_cmp(Cmp::Gt).map_err(|_| 30)?;
    p.push_path(&[PathStep::Key("meta"), PathStep::Key("tags")])
        .map_err(|_| 30)?;
    p.push_bind().map_err(|_| 30)?;
    p.push_path(&[]).map_err(|_| 30)?;
    p.push_length().map_err(|_| 30)?;
    p.push_literal(Literal::Int(1)).map_err(|_| 30)?;
    p.push_cmp(Cmp::Eq).map_err(|_| 30)?;
    p.push_unbind().map_err(|_| 30)?;
    p.push_and().map_err(|_| 30)?;
    for (value, want) in [(30, true), (25, false)] {
        let mut buf = [0u8; 1024];
        let (mut w, data) = envelope::begin(&mut buf, ["prod"]).map_err(|_| 31)?;
        w.insert(data, Key::Name("value"), Value::I64(value))
            .map_err(|_| 31)?;
        let len = w.len() as usize;
        let payload = buf.get(..len).ok_or(31)?;
        let msg = Message {
            seq: 1,
            timestamp_ns: 0,
            payload,
        };
        let got = p.eval(&msg).map_err(|_| 32)?;
        if got != want {
            return Err(33);
        }
    }
    Ok(())
}

/// Performs one store on the in-memory file; `None` if it falls outside.
fn apply(file: &mut [u8], store: &Store<'_>) -> Option<()> {
    let word;
    let (at, bytes): (u64, &[u8]) = match store {
        Store::Bytes { at, bytes } => (*at, bytes),
        Store::Word { at, value, .. } => {
            word = value.to_le_bytes();
            (*at, &word)
        }
    };
    let start = usize::try_from(at).ok()?;
    let end = start.checked_add(bytes.len())?;
    file.get_mut(start..end)?.copy_from_slice(bytes);
    Some(())
}
