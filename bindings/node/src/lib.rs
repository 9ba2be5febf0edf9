//! The native half of the npm package `plasmite`: a napi-rs addon over `plasmite-os`.
//!
//! Role: a thin boundary. It converts JavaScript arguments, calls the engine (which decides
//! everything: pool references, sizes, encoding, selection, waiting) and hands results back as
//! Buffers, bigints and JSON text. The JavaScript layer (`bindings/node/lib/`) gives them their
//! public shape — classes, defaults, `Message` objects, error classes, async iterators.
//!
//! # Invariants
//! - Every engine error reaches JavaScript as an `Error` whose message is
//!   `plasmite error: ` followed by the engine's error object (`Error::to_json`: kind, message,
//!   hint, path, seq, offset); the JavaScript layer turns it into `PlasmiteNativeError`.
//! - Nothing here blocks the event loop without a bound the caller chose: streams poll, or wait
//!   up to a deadline given at open; asynchronous waits (`NativeStream::wait`) park no thread of
//!   their own — the pool's wake hub wakes them and they settle a promise through N-API.
//! - No `unsafe` code (the napi macros generate the FFI glue).
//!
//! Spec: `spec/API.md` (the engine), `bindings/node/README.md` (the package).

pub mod append;
mod envelope;
mod stream;

use napi::Env;
use napi::bindgen_prelude::{BigInt, Buffer, BufferSlice, External};
use napi_derive::napi;
use plasmite_os::message;
use plasmite_os::{CreateOptions, Durability, Error, ErrorKind, Pool, PoolRef, dir};
use std::path::PathBuf;
use std::sync::Arc;

pub use append::Appender;
pub use stream::NativeStream;

/// The prefix by which the JavaScript layer recognises an engine error.
const ERROR_PREFIX: &str = "plasmite error: ";

/// `e` as the JavaScript error the JS layer rewraps.
pub(crate) fn to_js(e: &Error) -> napi::Error {
    napi::Error::from_reason(format!("{ERROR_PREFIX}{}", e.to_json()))
}

fn usage(message: &str) -> Error {
    Error::new(ErrorKind::Usage, message)
}

/// A non-negative bigint that fits `u64`, or Usage naming `what`.
pub(crate) fn u64_of(v: &BigInt, what: &str) -> Result<u64, Error> {
    let (negative, value, lossless) = v.get_u64();
    if negative || !lossless {
        return Err(usage(&format!(
            "{what} must be a non-negative integer below 2^64"
        )));
    }
    Ok(value)
}

fn durability(d: u32) -> Result<Durability, Error> {
    match d {
        0 => Ok(Durability::Fast),
        1 => Ok(Durability::Flush),
        _ => Err(usage("invalid durability").with_hint("Use Durability.Fast or Durability.Flush.")),
    }
}

/// The addon's version (the workspace's).
#[napi]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// A pool directory: where pool names resolve.
#[napi]
#[derive(Debug)]
pub struct NativeClient {
    dir: PathBuf,
}

#[napi]
impl NativeClient {
    /// A client of `dir` (empty: the default directory, `$HOME/.plasmite/pools`).
    #[napi(constructor)]
    pub fn new(dir: String) -> Self {
        let dir = if dir.is_empty() {
            dir::default_dir()
        } else {
            PathBuf::from(dir)
        };
        NativeClient { dir }
    }

    /// The directory, as resolved.
    #[napi(getter)]
    pub fn dir(&self) -> String {
        self.dir.to_string_lossy().into_owned()
    }

    fn path(&self, reference: &str) -> Result<PathBuf, Error> {
        PoolRef::parse(reference)?.local_path(&self.dir)
    }

    /// Creates a pool (`size` 0: the default size) and opens it.
    #[napi]
    pub fn create_pool(&self, reference: String, size: BigInt) -> napi::Result<NativePool> {
        let r = (|| {
            let path = self.path(&reference)?;
            let size = match u64_of(&size, "sizeBytes")? {
                0 => CreateOptions::default().size,
                n => n,
            };
            Pool::create(
                &path,
                CreateOptions {
                    size,
                    index_capacity: None,
                },
            )
        })();
        r.map(NativePool::new).map_err(|e| to_js(&e))
    }

    /// Opens an existing pool.
    #[napi]
    pub fn open_pool(&self, reference: String) -> napi::Result<NativePool> {
        self.path(&reference)
            .and_then(|p| Pool::open(&p))
            .map(NativePool::new)
            .map_err(|e| to_js(&e))
    }

    /// The pools of the directory as a JSON array of pool-info objects (a pool that cannot be
    /// read is `{"name", "path", "error"}`).
    #[napi]
    pub fn list_pools(&self) -> napi::Result<String> {
        let pools = dir::list_json(&self.dir, plasmite_os::now_ns()).map_err(|e| to_js(&e))?;
        Ok(serde_json::Value::Array(pools).to_string())
    }

    /// The pool-info JSON object of one pool.
    #[napi]
    pub fn pool_info(&self, reference: String) -> napi::Result<String> {
        let r = (|| {
            let path = self.path(&reference)?;
            let info = Pool::open_read_only(&path)?.info()?;
            Ok(info
                .to_json(&stem(&path), plasmite_os::now_ns())
                .to_string())
        })();
        r.map_err(|e: Error| to_js(&e))
    }

    /// Deletes a pool file (open handles keep reading what they mapped).
    #[napi]
    pub fn delete_pool(&self, reference: String) -> napi::Result<()> {
        self.path(&reference)
            .and_then(|p| dir::delete(&p))
            .map_err(|e| to_js(&e))
    }
}

fn stem(path: &std::path::Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A message copied out of a pool, raw.
#[napi(object)]
#[allow(missing_debug_implementations)]
pub struct NativeFrame {
    /// Sequence.
    pub seq: BigInt,
    /// Append time, Unix nanoseconds.
    pub timestamp_ns: BigInt,
    /// The Lite³ payload.
    pub payload: Buffer,
}

/// An open pool.
#[napi]
#[derive(Debug)]
pub struct NativePool {
    pool: Arc<Pool>,
    /// Scratch space for printing envelopes.
    scratch: Vec<u8>,
}

impl NativePool {
    fn new(pool: Pool) -> NativePool {
        NativePool {
            pool: Arc::new(pool),
            scratch: Vec::new(),
        }
    }
}

#[napi]
impl NativePool {
    /// The pool file.
    #[napi(getter)]
    pub fn path(&self) -> String {
        self.pool.path().to_string_lossy().into_owned()
    }

    /// A handle for [`append::append_json_into`] and its kin, appending to this pool.
    #[napi]
    pub fn appender(&self) -> External<Appender> {
        External::new(Appender::new(Arc::clone(&self.pool)))
    }

    /// Appends a Lite³ envelope as stored bytes; returns its sequence.
    #[napi]
    pub fn append_lite3(&self, payload: &[u8], durability_: u32) -> napi::Result<u64> {
        let r = (|| {
            let d = durability(durability_)?;
            message::check(payload).map_err(message::corrupt)?;
            self.pool.append(payload, d)
        })();
        r.map(|a| a.seq).map_err(|e| to_js(&e))
    }

    /// One message as its envelope.
    #[napi]
    pub fn get_json<'e>(&mut self, env: &'e Env, seq: BigInt) -> napi::Result<BufferSlice<'e>> {
        let r = (|| {
            let seq = u64_of(&seq, "seq")?;
            let msg = self.pool.get(seq)?;
            envelope::to_vec(&mut self.scratch, &msg.printed()).map_err(|e| msg.view().locate(e))
        })();
        let bytes = r.map_err(|e| to_js(&e))?;
        BufferSlice::copy_from(env, bytes)
    }

    /// One message as a raw frame.
    #[napi]
    pub fn get_lite3(&self, seq: BigInt) -> napi::Result<NativeFrame> {
        let r = (|| {
            let seq = u64_of(&seq, "seq")?;
            self.pool.get(seq)
        })();
        r.map(|m| NativeFrame {
            seq: BigInt::from(m.seq),
            timestamp_ns: BigInt::from(m.timestamp_ns),
            payload: Buffer::from(m.payload),
        })
        .map_err(|e| to_js(&e))
    }

    /// The pool-info JSON object.
    #[napi]
    pub fn info(&self) -> napi::Result<String> {
        self.pool
            .info()
            .map(|i| {
                i.to_json(&stem(self.pool.path()), plasmite_os::now_ns())
                    .to_string()
            })
            .map_err(|e| to_js(&e))
    }

    /// Opens a stream over this pool.
    #[napi]
    pub fn open_stream(&self, options: stream::StreamOptions) -> napi::Result<NativeStream> {
        NativeStream::open(&self.pool, options).map_err(|e| to_js(&e))
    }
}
