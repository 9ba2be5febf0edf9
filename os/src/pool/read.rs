//! Reading an open pool: a message by sequence, a frame's payload copied out, the pool's info.
//!
//! Role: copies bytes out of the shared mapping through the live view and judges the copy;
//! the view and the lock come from the parent module.
//!
//! # Invariants
//! - A message handed out was copied with atomic loads and then re-checked: still retained, CRC
//!   intact when the frame has one. A Corrupt verdict found without the lock is confirmed under
//!   the lock (where the ring cannot move) before it is reported.
//! - Nothing here stores to the pool.
//!
//! Spec: `spec/FORMAT.md` §6 (readers).

use super::{FileLock, Message, Pool};
use crate::error::{Error, ErrorKind};
use crate::info::Info;
use plasmite_core::{FrameRef, locate};

impl Pool {
    /// The message with sequence `seq`: NotFound (naming the retained range) when it is not
    /// retained; Corrupt with the frame's offset when its frame or payload is damaged.
    pub fn get(&self, seq: u64) -> Result<Message, Error> {
        match self.try_get(seq) {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                // Without the lock a writer may have been overwriting what we read; under it the
                // ring cannot move, so a second failure is real damage.
                let _lock = FileLock::shared(self)?;
                self.try_get(seq)
            }
            other => other,
        }
    }

    fn try_get(&self, seq: u64) -> Result<Message, Error> {
        let view = self.view();
        let found = locate(&view, seq).map_err(|c| self.corrupt(c).with_seq(seq))?;
        let Some(frame) = found else {
            return Err(self.not_found(seq));
        };
        // Copied with atomic loads; if the message was evicted meanwhile, the copy may be torn
        // (and its CRC fail): re-read the state (which fences) before judging the copy.
        let copied = self.copy_message(&frame);
        if !self.state_now()?.retains(seq) {
            return Err(self.not_found(seq));
        }
        copied
    }

    /// Copies a frame's payload out and checks its CRC.
    pub fn copy_message(&self, frame: &FrameRef) -> Result<Message, Error> {
        let mut payload = Vec::new();
        self.read_into(frame, &mut payload)?;
        Ok(Message {
            seq: frame.seq(),
            timestamp_ns: frame.head.timestamp_ns,
            payload,
            offset: frame.offset,
        })
    }

    /// Copies a frame's payload into `buf` (replacing its contents) and checks its CRC. The
    /// caller re-checks retention afterwards.
    pub fn read_into(&self, frame: &FrameRef, buf: &mut Vec<u8>) -> Result<(), Error> {
        // Only growth is zero-filled; the copy overwrites every byte.
        buf.resize(frame.head.payload_len as usize, 0);
        frame
            .read_payload(&self.view(), buf)
            .map_err(|c| self.corrupt(c).with_seq(frame.seq()))
    }

    /// Layout, bounds, utilization and the times of the oldest and newest messages.
    /// A damaged oldest or newest frame is Corrupt (confirmed under the lock).
    pub fn info(&self) -> Result<Info, Error> {
        match self.info_now() {
            Err(e) if e.kind() == ErrorKind::Corrupt => {
                let _lock = FileLock::shared(self)?;
                self.info_now()
            }
            other => other,
        }
    }

    fn info_now(&self) -> Result<Info, Error> {
        let view = self.view();
        let state = self.state_now()?;
        let time_of = |seq: u64| -> Result<Option<u64>, Error> {
            Ok(locate(&view, seq)
                .map_err(|c| self.corrupt(c).with_seq(seq))?
                .map(|f| f.head.timestamp_ns))
        };
        let (oldest_time_ns, newest_time_ns) = if state.is_empty() {
            (None, None)
        } else {
            (time_of(state.oldest)?, time_of(state.newest)?)
        };
        Ok(Info {
            path: self.path.clone(),
            geometry: self.geometry,
            state,
            oldest_time_ns,
            newest_time_ns,
        })
    }

    fn not_found(&self, seq: u64) -> Error {
        let hint = match self.state_now() {
            Ok(s) if !s.is_empty() => {
                format!("The pool holds messages {} to {}.", s.oldest, s.newest)
            }
            _ => "The pool holds no messages.".to_owned(),
        };
        Error::new(ErrorKind::NotFound, "message not found")
            .with_seq(seq)
            .with_path(&self.path)
            .with_hint(hint)
    }
}
