//! The message envelope every payload holds: `{"meta":{"tags":[…]},"data":{…}}`.
//!
//! Role: builds envelopes in exactly the reference's insert order (root `meta`, its `tags`
//! array, each tag, then root `data`), and opens them again, checking their shape; offers the
//! zero-copy predicates filters use (has tag, field at a path) without decoding the message.
//!
//! # Invariants
//! - [`Envelope::parse`] accepts only: root object, `meta` an object, `meta.tags` an array of
//!   strings, `data` an object (or an array, which readers of the reference accept too).
//!
//! Spec: `spec/LITE3.md` §6 (envelope).

use super::read::{Container, Doc, ValueRef};
use super::write::{Key, Value, Writer};
use super::{Lite3Error, Lite3ErrorKind as K, err};

const META: u32 = super::djb2(b"meta");
const TAGS: u32 = super::djb2(b"tags");
const DATA: u32 = super::djb2(b"data");

/// Starts an envelope with `tags` in `buf`; returns the writer and the offset of the (empty)
/// `data` object, which the caller fills with sorted keys.
pub fn begin<'b, 't>(
    buf: &'b mut [u8],
    tags: impl IntoIterator<Item = &'t str>,
) -> Result<(Writer<'b>, u32), Lite3Error> {
    let mut w = Writer::object(buf)?;
    let meta = w.insert(0, Key::Name("meta"), Value::Object)?;
    let list = w.insert(meta, Key::Name("tags"), Value::Array)?;
    for tag in tags {
        w.insert(list, Key::Append, Value::Str(tag))?;
    }
    let data = w.insert(0, Key::Name("data"), Value::Object)?;
    Ok((w, data))
}

/// An opened envelope.
#[derive(Clone, Copy, Debug)]
pub struct Envelope<'a> {
    /// The `meta.tags` array.
    pub tags: Container<'a>,
    /// The `data` object (or array).
    pub data: Container<'a>,
}

impl<'a> Envelope<'a> {
    /// Opens a payload and checks the envelope's shape (not the whole document: see
    /// [`Doc::validate`]).
    pub fn parse(payload: &'a [u8]) -> Result<Envelope<'a>, Lite3Error> {
        let root = Doc::new(payload)?.root();
        let (tags, data) = (tags_in(&root)?, data_in(&root)?);
        let env = Envelope { tags, data };
        // Every tag must be a valid UTF-8 string (the general iterator checks both; the leaf
        // fast path of `has_tag` compares raw bytes and checks neither).
        for tag in env.tags() {
            tag?;
        }
        Ok(env)
    }

    /// The tags in order.
    pub fn tags(&self) -> impl Iterator<Item = Result<&'a str, Lite3Error>> + 'a {
        let at = self.tags.offset();
        self.tags.iter().map(move |e| match e? {
            (_, ValueRef::Str(s)) => Ok(s),
            (_, _) => Err(err(K::BadType, at)),
        })
    }

    /// Does the message carry `tag`? (Reads the tags in place; nothing is decoded.)
    pub fn has_tag(&self, tag: &str) -> Result<bool, Lite3Error> {
        if let Some(strings) = self.tags.leaf_strings()? {
            for s in strings {
                if s? == tag.as_bytes() {
                    return Ok(true);
                }
            }
            return Ok(false);
        }
        for t in self.tags() {
            if t? == tag {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The `data` field at a dot-separated path (`status`, `user.name`, `items.0`).
    pub fn field(&self, path: &str) -> Result<Option<ValueRef<'a>>, Lite3Error> {
        self.data.path(path)
    }
}

/// Does the message in `payload` carry `tag`? Reads only `meta.tags`, in place: the check a
/// follower runs on every message before decoding anything.
pub fn has_tag(payload: &[u8], tag: &str) -> Result<bool, Lite3Error> {
    let tags = tags_of(payload)?;
    let env = Envelope { tags, data: tags };
    env.has_tag(tag)
}

/// The `data` field at `path` in the message in `payload`. Reads only the `data` object (or
/// array), in place.
pub fn field<'a>(payload: &'a [u8], path: &str) -> Result<Option<ValueRef<'a>>, Lite3Error> {
    data_in(&Doc::new(payload)?.root())?.path(path)
}

/// The `meta.tags` array of the message in `payload`.
fn tags_of(payload: &[u8]) -> Result<Container<'_>, Lite3Error> {
    tags_in(&Doc::new(payload)?.root())
}

/// `root.meta.tags`, which must be an object holding an array.
fn tags_in<'a>(root: &Container<'a>) -> Result<Container<'a>, Lite3Error> {
    let shape = err(K::NotAContainer, 0);
    let meta_at = root.lookup(b"meta", META)?.ok_or(shape)?;
    let meta = root.child_container(meta_at, false)?.ok_or(shape)?;
    let tags_at = meta
        .lookup(b"tags", TAGS)?
        .ok_or(err(K::NotAContainer, meta_at))?;
    meta.child_container(tags_at, true)?
        .ok_or(err(K::NotAContainer, meta_at))
}

/// `root.data`, an object (or an array, which readers of the reference accept too).
fn data_in<'a>(root: &Container<'a>) -> Result<Container<'a>, Lite3Error> {
    let shape = err(K::NotAContainer, 0);
    let data_at = root.lookup(b"data", DATA)?.ok_or(shape)?;
    match root.child_container(data_at, false)? {
        Some(d) => Ok(d),
        None => root.child_container(data_at, true)?.ok_or(shape),
    }
}
