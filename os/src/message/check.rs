//! Checking a stored message's payload in one walk: the whole document as
//! [`Doc::validate`] checks it and the envelope's shape as [`Envelope::parse`] finds it.
//!
//! Role: the walk the printer shares. [`check`] runs it alone (the query's damage check); the
//! printer runs [`find_envelope`] over the root and `meta`, checks what it does not print with
//! [`check_container`], and checks `data` and the tags while printing them.
//!
//! # Invariants
//! - Every node, key and value is checked once, printed or not (order, probe chains, counts,
//!   UTF-8), under one node budget shared by nested containers, so the walk is bounded by the
//!   payload's size.
//! - `data`, `meta` and `tags` are taken only where they sit on their first probe; a key stored
//!   off it leaves the choice to [`Envelope::parse`]'s lookups, whose errors are the ones
//!   reported.
//!
//! Spec: `spec/LITE3.md` §6 (envelope), §7 (JSON mapping).

use plasmite_core::lite3::envelope::Envelope;
use plasmite_core::lite3::read::{Container, Doc, Iter, ValueRef};
use plasmite_core::lite3::{Lite3Error, Lite3ErrorKind, djb2};

/// The probe hashes the envelope's members are found under (see [`Iter::last_hash`]).
const DATA_HASH: u32 = djb2(b"data");
const META_HASH: u32 = djb2(b"meta");
const TAGS_HASH: u32 = djb2(b"tags");

/// Where a payload's `data` and `meta.tags` are, found while walking the root and `meta`.
pub(super) struct Found<'a> {
    pub(super) data: Container<'a>,
    pub(super) tags: Container<'a>,
}

/// A walk of the root and `meta` that checks every member except `data` and `meta.tags` (the
/// printer walks those) and finds those two as [`Envelope::parse`] finds them, with its shape
/// rules and errors. `Ok(None)`: a key `data`, `meta` or `tags` stored off its first probe, so
/// which entry a lookup picks takes the lookups themselves (the printer's `render_looked_up`
/// does that).
pub(super) fn find_envelope<'a>(root: &mut Iter<'a, '_>) -> Result<Option<Found<'a>>, Lite3Error> {
    let shape = |offset| Lite3Error {
        kind: Lite3ErrorKind::NotAContainer,
        offset,
    };
    let (mut data, mut tags, mut meta_at) = (None, None, None);
    while let Some(e) = root.next() {
        let (k, v) = e?;
        let first_probe = |h| root.last_hash() == Some(h);
        match (k, v) {
            (Some("data"), v) if first_probe(DATA_HASH) => match v {
                ValueRef::Object(c) | ValueRef::Array(c) => data = Some(c),
                _ => return Err(shape(0)),
            },
            (Some("meta"), v) if first_probe(META_HASH) => {
                let ValueRef::Object(meta) = v else {
                    return Err(shape(0));
                };
                meta_at = Some(meta.offset());
                let mut it = root.nested(&meta);
                while let Some(e) = it.next() {
                    let (k, v) = e?;
                    let first_probe = it.last_hash() == Some(TAGS_HASH);
                    match (k, v) {
                        (Some("tags"), ValueRef::Array(c)) if first_probe => tags = Some(c),
                        (Some("tags"), _) if first_probe => return Err(shape(meta.offset())),
                        (Some("tags"), _) => return Ok(None),
                        (_, ValueRef::Object(c) | ValueRef::Array(c)) => {
                            check_container(&mut it.nested(&c))?;
                        }
                        _ => {}
                    }
                }
            }
            (Some("data" | "meta"), _) => return Ok(None),
            (_, ValueRef::Object(c) | ValueRef::Array(c)) => check_container(&mut root.nested(&c))?,
            _ => {}
        }
    }
    // Envelope::parse looks `meta` and `tags` up before `data`, and names the same offsets.
    let meta_at = meta_at.ok_or(shape(0))?;
    let tags = tags.ok_or(shape(meta_at))?;
    let data = data.ok_or(shape(0))?;
    Ok(Some(Found { data, tags }))
}

/// Checks a whole payload as [`Doc::validate`] and [`Envelope::parse`] do together, in one
/// walk: what a printer of the message would find damaged (the query's damage check).
pub fn check(payload: &[u8]) -> Result<(), Lite3Error> {
    let doc = Doc::new(payload)?;
    let root = doc.root();
    if !root.is_object() {
        return Err(Lite3Error {
            kind: Lite3ErrorKind::NotAContainer,
            offset: 0,
        });
    }
    let mut budget = doc.node_budget();
    let mut walk = root.iter_budgeted(&mut budget);
    let Some(found) = find_envelope(&mut walk)? else {
        doc.validate()?;
        return Envelope::parse(payload).map(|_| ());
    };
    check_container(&mut walk.nested(&found.data))?;
    for e in walk.nested(&found.tags) {
        if !matches!(e?, (_, ValueRef::Str(_))) {
            return Err(Lite3Error {
                kind: Lite3ErrorKind::BadType,
                offset: found.tags.offset(),
            });
        }
    }
    Ok(())
}

/// Walks a container that is not printed, checking it as `Doc::validate` does (the iterator
/// checks order, probe chains, counts, UTF-8 and the shared node budget).
pub(super) fn check_container(it: &mut Iter<'_, '_>) -> Result<(), Lite3Error> {
    while let Some(e) = it.next() {
        if let (_, ValueRef::Object(c) | ValueRef::Array(c)) = e? {
            check_container(&mut it.nested(&c))?;
        }
    }
    Ok(())
}
