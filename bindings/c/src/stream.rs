//! Streams: opening a JSON or Lite³ stream over a pool (0.8.0's options, and the extension's
//! filter), `next` with its wait, and their frees' counterparts.
//!
//! # Invariants
//! - A stream starts at the oldest retained message (or `since`), waits on the pool's futex
//!   through the engine's `Query`, and reports a gap only when messages were evicted unread.
//! - After an error a stream answers `0` (ended) for ever.
//! - Cancelling (from any thread) ends the stream: a pending `next` returns `0` within the
//!   engine's park bound (50 ms), and so does every later one.
//!
//! # Safety
//! The crate root's numbered rules; every `SAFETY:` comment here cites them.
//!
//! Spec: header `bindings/c/include/plasmite.h` (streams).

use super::*;

/// The query a stream runs, from checked options and an optional filter.
///
/// # Safety
/// `options` non-NULL and rule 3; `filter` NULL or rule 3, its arrays rules 2–3.
unsafe fn build_query(
    options: *const plsm_stream_options,
    filter: *const plsm_stream_filter,
) -> Result<Query, Error> {
    if options.is_null() {
        return Err(usage("stream options are null"));
    }
    // SAFETY: rule 3 — options addresses at least its struct_size field.
    let size = unsafe { options.cast::<u32>().read() };
    if (size as usize) < size_of::<plsm_stream_options>() {
        return Err(usage(&format!(
            "stream options are too small: got {size} bytes, need at least 48"
        )));
    }
    // SAFETY: rule 3 — the caller says the struct is at least 48 bytes.
    let o = unsafe { options.read() };
    if o.reserved != 0 {
        return Err(usage("stream options reserved field must be zero"));
    }
    let gap = match o.gap_policy {
        PLSM_GAP_CONTINUE => GapPolicy::Continue,
        PLSM_GAP_ERROR => GapPolicy::Stop,
        _ => return Err(usage("invalid gap policy")),
    };
    if o.has_max != 0 && usize::try_from(o.max_messages).is_err() {
        return Err(usage("max_messages exceeds platform limits"));
    }
    let mut start = if o.has_since != 0 && o.since_seq > 0 {
        Start::Seq(o.since_seq)
    } else {
        Start::Oldest
    };
    let mut tags = Vec::new();
    let mut predicates: Vec<Arc<dyn Predicate>> = Vec::new();
    if !filter.is_null() {
        // SAFETY: rule 3 — filter addresses at least its struct_size field.
        let size = unsafe { filter.cast::<u32>().read() };
        if (size as usize) < size_of::<plsm_stream_filter>() {
            return Err(usage(&format!(
                "stream filter is too small: got {size} bytes, need at least 48"
            )));
        }
        // SAFETY: rule 3 — at least 48 bytes.
        let f = unsafe { filter.read() };
        start = match (f.start, o.has_since != 0) {
            (PLSM_START_DEFAULT, _) => start,
            (PLSM_START_LIVE | PLSM_START_LAST, true) => {
                return Err(usage("stream filter start conflicts with since_seq"));
            }
            (PLSM_START_LIVE, false) => Start::Live,
            (PLSM_START_LAST, false) => Start::Last(f.last_n),
            _ => return Err(usage("invalid stream start")),
        };
        // SAFETY: rules 2–3 for the arrays.
        let (t, w) = unsafe {
            (
                c_strings(f.tags, f.tags_len, "tags")?,
                c_strings(f.where_exprs, f.where_len, "where")?,
            )
        };
        tags = t.into_iter().map(str::to_owned).collect();
        if !w.is_empty() {
            let exprs: Vec<String> = w.into_iter().map(str::to_owned).collect();
            let compiled = plasmite_os::filter::Filter::compile(&exprs).map_err(Error::from)?;
            predicates.push(Arc::new(compiled));
        }
    }
    let deadline = if o.has_timeout != 0 {
        Instant::now().checked_add(Duration::from_millis(o.timeout_ms))
    } else {
        None
    };
    Ok(Query {
        start,
        tags,
        predicates,
        limit: (o.has_max != 0).then_some(o.max_messages),
        gap,
        damage: DamagePolicy::Report,
        live: true,
        deadline,
        check: PayloadCheck::Consumer,
        ..Query::default()
    })
}

/// Opens a reader of `pool` and writes it through `make` into `out`.
///
/// # Safety
/// As [`build_query`], plus rules 1 and 4 for `pool` and `out`.
unsafe fn open_reader<T>(
    pool: *mut plsm_pool,
    options: *const plsm_stream_options,
    filter: *const plsm_stream_filter,
    out: *mut *mut T,
    make: fn(Reader, Cancel) -> T,
) -> Result<(), Error> {
    // SAFETY: the caller's contract.
    let mut q = unsafe { build_query(options, filter)? };
    let cancel = Cancel::new();
    q.cancel = Some(cancel.clone());
    // SAFETY: rule 1.
    let pool = unsafe { pool_ref(pool)? }.pool.clone();
    if out.is_null() {
        return Err(usage("out_stream is null"));
    }
    let stream = q.run(pool)?;
    let reader = Reader {
        stream,
        terminated: false,
        pending: None,
        scratch: Vec::new(),
    };
    let handle = Box::into_raw(Box::new(make(reader, cancel)));
    // SAFETY: rule 4 — checked non-NULL.
    unsafe { out.write(handle) };
    Ok(())
}

fn legacy_options(
    since_seq: u64,
    has_since: u32,
    max_messages: u64,
    has_max: u32,
    timeout_ms: u64,
    has_timeout: u32,
) -> plsm_stream_options {
    plsm_stream_options {
        struct_size: size_of::<plsm_stream_options>() as u32,
        gap_policy: PLSM_GAP_CONTINUE,
        since_seq,
        max_messages,
        timeout_ms,
        has_since,
        has_max,
        has_timeout,
        reserved: 0,
    }
}

/// The next message of a reader, as `take` turns it into output. `Ok(None)`: end.
fn next_item<R>(
    reader: &mut Reader,
    take: impl FnOnce(&plasmite_os::MessageView<'_>, &mut Vec<u8>) -> Result<R, Error>,
) -> Result<Option<R>, Error> {
    if let Some(e) = reader.pending.take() {
        return Err(e);
    }
    next_item_with(reader, true, take)
}

/// [`next_item`] waiting as the stream does (`wait`), or taking only what is there now
/// (`Ok(None)`: nothing now, or the end).
fn next_item_with<R>(
    reader: &mut Reader,
    wait: bool,
    take: impl FnOnce(&plasmite_os::MessageView<'_>, &mut Vec<u8>) -> Result<R, Error>,
) -> Result<Option<R>, Error> {
    if reader.terminated {
        return Ok(None);
    }
    loop {
        let next = if wait {
            reader.stream.next(None)
        } else {
            reader.stream.poll()
        };
        let item = match next {
            Ok(item) => item,
            Err(e) => {
                if e.kind() == ErrorKind::RetentionGap {
                    reader.terminated = true;
                }
                return Err(e);
            }
        };
        return match item {
            None => Ok(None),
            Some(Item::Gap { .. }) => continue,
            Some(Item::Damaged(d)) => Err(d.error),
            Some(Item::Message(m)) => take(&m, &mut reader.scratch)
                .map(Some)
                .map_err(|e| m.locate(e)),
        };
    }
}

/// Legacy JSON stream open (gap policy continue).
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_open(
    pool: *mut plsm_pool,
    since_seq: u64,
    has_since: u32,
    max_messages: u64,
    has_max: u32,
    timeout_ms: u64,
    has_timeout: u32,
    out_stream: *mut *mut plsm_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let o = legacy_options(
        since_seq,
        has_since,
        max_messages,
        has_max,
        timeout_ms,
        has_timeout,
    );
    // SAFETY: `&o` is a valid 48-byte options struct; the rest is the caller's contract.
    unsafe { plsm_stream_open_ex(pool, &o, out_stream, out_err) }
}

/// Opens a JSON stream.
///
/// # Safety
/// Rules 1, 3 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_open_ex(
    pool: *mut plsm_pool,
    options: *const plsm_stream_options,
    out_stream: *mut *mut plsm_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: the caller's contract (filter NULL).
    unsafe { plsm_stream_open_ex2(pool, options, std::ptr::null(), out_stream, out_err) }
}

/// Extension: opens a JSON stream with a filter (tags, where, start).
///
/// # Safety
/// Rules 1–4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_open_ex2(
    pool: *mut plsm_pool,
    options: *const plsm_stream_options,
    filter: *const plsm_stream_filter,
    out_stream: *mut *mut plsm_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: the caller's contract.
    let r = unsafe {
        open_reader(pool, options, filter, out_stream, |reader, cancel| {
            plsm_stream {
                reader: UnsafeCell::new(reader),
                cancel,
            }
        })
    };
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Next JSON envelope: 1 item, 0 end, -1 error.
///
/// # Safety
/// Rules 1, 4 and 6.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_next(
    stream: *mut plsm_stream,
    out_message: *mut plsm_buf,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: rule 1 — a live handle (shared: a canceller may hold it too).
    let Some(stream) = (unsafe { stream.as_ref() }) else {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("stream is null")) };
    };
    if out_message.is_null() {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("out_message is null")) };
    }
    // SAFETY: rule 6 — this thread alone uses the reader now.
    let reader = unsafe { &mut *stream.reader.get() };
    match next_item(reader, |m, scratch| envelope_with(scratch, &m.printed())) {
        Ok(Some(bytes)) => {
            // SAFETY: rule 4 — checked non-NULL.
            unsafe { out_message.write(to_buf(bytes)) };
            1
        }
        Ok(None) => 0,
        // SAFETY: rule 4.
        Err(e) => unsafe { fail(out_err, &e) },
    }
}

/// Extension: up to `max_count` envelopes in one call. Waits for the first message as
/// [`plsm_stream_next`] does, then takes the messages available now, without waiting, until
/// `max_count` or until the envelopes reach `max_bytes`; writes them into `out_lines`, each
/// followed by a newline, and their number into `out_count`. An error met after the first
/// message is returned by the next call.
///
/// # Safety
/// Rules 1, 4 and 6.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_next_batch(
    stream: *mut plsm_stream,
    max_count: usize,
    max_bytes: usize,
    out_lines: *mut plsm_buf,
    out_count: *mut usize,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: rule 1 — a live handle (shared: a canceller may hold it too).
    let Some(stream) = (unsafe { stream.as_ref() }) else {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("stream is null")) };
    };
    if out_lines.is_null() || out_count.is_null() {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("out_lines or out_count is null")) };
    }
    // SAFETY: rule 6 — this thread alone uses the reader now.
    let reader = unsafe { &mut *stream.reader.get() };
    let mut lines = Vec::new();
    let push = |m: &plasmite_os::MessageView<'_>, lines: &mut Vec<u8>| {
        message::print_seq_first(lines, &m.printed())?;
        lines.push(b'\n');
        Ok(())
    };
    match next_item(reader, |m, _| push(m, &mut lines)) {
        Ok(Some(())) => {}
        Ok(None) => return 0,
        // SAFETY: rule 4.
        Err(e) => return unsafe { fail(out_err, &e) },
    }
    let mut count = 1usize;
    while count < max_count && lines.len() < max_bytes {
        match next_item_with(reader, false, |m, _| push(m, &mut lines)) {
            Ok(Some(())) => count += 1,
            Ok(None) => break,
            Err(e) => {
                reader.pending = Some(e);
                break;
            }
        }
    }
    // SAFETY: rule 4 — both checked non-NULL.
    unsafe {
        out_lines.write(to_buf(lines));
        out_count.write(count);
    }
    1
}

/// Legacy raw stream open (gap policy continue).
///
/// # Safety
/// Rules 1 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_open(
    pool: *mut plsm_pool,
    since_seq: u64,
    has_since: u32,
    max_messages: u64,
    has_max: u32,
    timeout_ms: u64,
    has_timeout: u32,
    out_stream: *mut *mut plsm_lite3_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    let o = legacy_options(
        since_seq,
        has_since,
        max_messages,
        has_max,
        timeout_ms,
        has_timeout,
    );
    // SAFETY: `&o` is a valid options struct; the rest is the caller's contract.
    unsafe { plsm_lite3_stream_open_ex(pool, &o, out_stream, out_err) }
}

/// Opens a raw-frame stream.
///
/// # Safety
/// Rules 1, 3 and 4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_open_ex(
    pool: *mut plsm_pool,
    options: *const plsm_stream_options,
    out_stream: *mut *mut plsm_lite3_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: the caller's contract (filter NULL).
    unsafe { plsm_lite3_stream_open_ex2(pool, options, std::ptr::null(), out_stream, out_err) }
}

/// Extension: opens a raw-frame stream with a filter.
///
/// # Safety
/// Rules 1–4.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_open_ex2(
    pool: *mut plsm_pool,
    options: *const plsm_stream_options,
    filter: *const plsm_stream_filter,
    out_stream: *mut *mut plsm_lite3_stream,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: the caller's contract.
    let r = unsafe {
        open_reader(pool, options, filter, out_stream, |reader, cancel| {
            plsm_lite3_stream {
                reader: UnsafeCell::new(reader),
                cancel,
            }
        })
    };
    // SAFETY: rule 4.
    unsafe { done(out_err, r) }
}

/// Next raw frame: 1 item, 0 end, -1 error.
///
/// # Safety
/// Rules 1, 4 and 6.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_next(
    stream: *mut plsm_lite3_stream,
    out_frame: *mut plsm_lite3_frame,
    out_err: *mut *mut plsm_error,
) -> c_int {
    // SAFETY: rule 1 — a live handle (shared: a canceller may hold it too).
    let Some(stream) = (unsafe { stream.as_ref() }) else {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("stream is null")) };
    };
    if out_frame.is_null() {
        // SAFETY: rule 4.
        return unsafe { fail(out_err, &usage("out_frame is null")) };
    }
    // SAFETY: rule 6 — this thread alone uses the reader now.
    let reader = unsafe { &mut *stream.reader.get() };
    let got = next_item(reader, |m, _| {
        Ok(plsm_lite3_frame {
            seq: m.seq,
            timestamp_ns: m.timestamp_ns,
            flags: 0,
            payload: to_buf(m.payload.to_vec()),
        })
    });
    match got {
        Ok(Some(frame)) => {
            // SAFETY: rule 4 — checked non-NULL.
            unsafe { out_frame.write(frame) };
            1
        }
        Ok(None) => 0,
        // SAFETY: rule 4.
        Err(e) => unsafe { fail(out_err, &e) },
    }
}

/// Releases a JSON stream (NULL: no-op).
///
/// # Safety
/// Rule 1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_free(stream: *mut plsm_stream) {
    if !stream.is_null() {
        // SAFETY: rule 1 — made by Box::into_raw in open_reader.
        drop(unsafe { Box::from_raw(stream) });
    }
}

/// Releases a raw stream (NULL: no-op).
///
/// # Safety
/// Rule 1.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_free(stream: *mut plsm_lite3_stream) {
    if !stream.is_null() {
        // SAFETY: rule 1 — made by Box::into_raw in open_reader.
        drop(unsafe { Box::from_raw(stream) });
    }
}

/// Extension: ends a JSON stream from any thread (NULL: no-op).
///
/// # Safety
/// Rule 1; the handle is not being freed concurrently (rule 6's exception).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_stream_cancel(stream: *mut plsm_stream) {
    // SAFETY: rule 1 — a live handle, only read shared (the cancel flag is atomic).
    if let Some(stream) = unsafe { stream.as_ref() } {
        stream.cancel.cancel();
    }
}

/// Extension: ends a raw-frame stream from any thread (NULL: no-op).
///
/// # Safety
/// As [`plsm_stream_cancel`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn plsm_lite3_stream_cancel(stream: *mut plsm_lite3_stream) {
    // SAFETY: rule 1 — a live handle, only read shared.
    if let Some(stream) = unsafe { stream.as_ref() } {
        stream.cancel.cancel();
    }
}
