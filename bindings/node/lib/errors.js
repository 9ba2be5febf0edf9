"use strict";
// Error classes and kinds. Engine errors arrive from the addon as an `Error` whose message is
// "plasmite error: " followed by the engine's error object (kind, message, hint, path, seq,
// offset); `fromNative` turns them into `PlasmiteNativeError`, and leaves other errors alone.

/** The stable error kinds, by name (the engine's names; values are the names themselves). */
const ErrorKind = Object.freeze({
  Internal: "Internal",
  Usage: "Usage",
  NotFound: "NotFound",
  AlreadyExists: "AlreadyExists",
  Busy: "Busy",
  Permission: "Permission",
  Corrupt: "Corrupt",
  Io: "Io",
  RetentionGap: "RetentionGap",
});

/** The stable number of each kind (the CLI's exit code, the C ABI's `plsm_error_kind`). */
const ErrorKindCode = Object.freeze({
  Internal: 1,
  Usage: 2,
  NotFound: 3,
  AlreadyExists: 4,
  Busy: 5,
  Permission: 6,
  Corrupt: 7,
  Io: 8,
  RetentionGap: 9,
});

function kindName(kind) {
  return typeof kind === "string" && Object.hasOwn(ErrorKind, kind) ? kind : "Io";
}

function setOptional(target, fields) {
  for (const [key, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null) target[key] = value;
  }
}

/** An error of a local (native) operation. */
class PlasmiteNativeError extends Error {
  constructor(message, fields = {}, cause = undefined) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = "PlasmiteNativeError";
    this.kind = kindName(fields.kind);
    this.kindCode = ErrorKindCode[this.kind];
    setOptional(this, {
      hint: fields.hint,
      path: fields.path,
      seq: fields.seq === undefined ? undefined : Number(fields.seq),
      offset: fields.offset === undefined ? undefined : Number(fields.offset),
    });
  }
}

/** An error answered by a plasmite server (or met while talking to one). */
class RemoteError extends Error {
  constructor(status, body = null, fallback = undefined) {
    const err = body && typeof body === "object" && body.error && typeof body.error === "object"
      ? body.error
      : null;
    super((err && err.message) || fallback || `Remote error ${status}`);
    this.name = "RemoteError";
    this.status = status;
    this.kind = kindName(err ? err.kind : undefined);
    this.kindCode = ErrorKindCode[this.kind];
    if (err) {
      setOptional(this, {
        hint: err.hint,
        path: err.path,
        seq: typeof err.seq === "number" ? err.seq : undefined,
        offset: typeof err.offset === "number" ? err.offset : undefined,
      });
    }
  }
}

const PREFIX = "plasmite error: ";

/** `e` as a PlasmiteNativeError when it is an engine error, else `e` itself. */
function fromNative(e) {
  if (e && typeof e.message === "string" && e.message.startsWith(PREFIX)) {
    let fields;
    try {
      fields = JSON.parse(e.message.slice(PREFIX.length));
    } catch {
      return e;
    }
    return new PlasmiteNativeError(fields.message || "error", fields, e);
  }
  return e;
}

function usageError(message, hint) {
  return new PlasmiteNativeError(message, { kind: "Usage", hint });
}

module.exports = {
  ErrorKind,
  ErrorKindCode,
  PlasmiteNativeError,
  RemoteError,
  fromNative,
  usageError,
};
