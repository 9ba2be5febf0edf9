"use strict";
// Local pools through the native addon: Client, Pool, Stream, Lite3Stream (tails and replay
// are in tail.js). Every native call is wrapped so engine errors surface as
// PlasmiteNativeError.

const os = require("node:os");
const path = require("node:path");
const { addon } = require("./native");
const { PlasmiteNativeError, fromNative, usageError } = require("./errors");
const { Message, parseMessage, toU64, optionalU64, toTags } = require("./message");
const { LocalTail, optionalTimeout, replayMessages } = require("./tail");

const DEFAULT_POOL_DIR = path.join(os.homedir(), ".plasmite", "pools");
const DEFAULT_POOL_SIZE = 1048576;
const DEFAULT_POOL_SIZE_BYTES = DEFAULT_POOL_SIZE;

/** How appends reach the disk: Fast (default) returns once written to the shared mapping;
 * Flush also syncs the written pages to disk before returning. */
const Durability = Object.freeze({ Fast: 0, Flush: 1 });

const dispose = Symbol.dispose || Symbol.for("nodejs.dispose");

function durabilityCode(d) {
  if (d === undefined || d === null) return 0;
  if (d === 0 || d === 1) return d;
  if (typeof d === "string") {
    const s = d.toLowerCase();
    if (s === "fast") return 0;
    if (s === "flush") return 1;
  }
  throw new TypeError('durability must be Durability.Fast, Durability.Flush, "fast" or "flush"');
}

function closedError(what) {
  return usageError(`${what} is closed`, `Open the ${what} again.`);
}

/** A raw frame: `{seq, timestampNs, flags, payload}` and a `time` getter. */
function toFrame(f) {
  const frame = { seq: f.seq, timestampNs: f.timestampNs, flags: 0, payload: f.payload };
  Object.defineProperty(frame, "time", {
    enumerable: true,
    get() {
      return new Date(Number(this.timestampNs) / 1e6);
    },
  });
  return frame;
}

/** A pool directory. */
class Client {
  #native;

  constructor(poolDir = DEFAULT_POOL_DIR) {
    if (typeof poolDir !== "string") throw new TypeError("poolDir must be a string");
    this.poolDir = poolDir;
    const { NativeClient } = addon();
    this.#native = new NativeClient(poolDir);
  }

  #client() {
    if (!this.#native) throw closedError("client");
    return this.#native;
  }

  /** Creates a pool (`sizeBytes` default 1 MiB) and opens it. */
  createPool(poolRef, sizeBytes = DEFAULT_POOL_SIZE) {
    const c = this.#client();
    const size = toU64(sizeBytes ?? DEFAULT_POOL_SIZE, "sizeBytes");
    try {
      return new Pool(c.createPool(String(poolRef), size));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Opens an existing pool. */
  openPool(poolRef) {
    const c = this.#client();
    try {
      return new Pool(c.openPool(String(poolRef)));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Opens a pool, creating it when it does not exist. */
  pool(poolRef, sizeBytes = DEFAULT_POOL_SIZE) {
    try {
      return this.openPool(poolRef);
    } catch (e) {
      if (!(e instanceof PlasmiteNativeError && e.kind === "NotFound")) throw e;
    }
    try {
      return this.createPool(poolRef, sizeBytes);
    } catch (e) {
      // Another process created it meanwhile.
      if (e instanceof PlasmiteNativeError && e.kind === "AlreadyExists") return this.openPool(poolRef);
      throw e;
    }
  }

  /** The pools of the directory: pool-info objects, sorted by name. */
  listPools() {
    const c = this.#client();
    try {
      return JSON.parse(c.listPools());
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** One pool's info object. */
  poolInfo(poolRef) {
    const c = this.#client();
    try {
      return JSON.parse(c.poolInfo(String(poolRef)));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Deletes a pool file. */
  deletePool(poolRef) {
    const c = this.#client();
    try {
      c.deletePool(String(poolRef));
    } catch (e) {
      throw fromNative(e);
    }
  }

  close() {
    this.#native = null;
  }

  [dispose]() {
    this.close();
  }
}

// Appends write envelopes into a shared slab; a Buffer returned to the caller is a view of
// its part, and a full slab is replaced (JavaScript runs one call at a time per thread).
// Views keep their slab alive, as Node's own pooled Buffers keep theirs.
const SLAB_SIZE = 16 * 1024;
let slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
let slabUsed = 0;

/** A view of the `n` bytes just written at `slabUsed`, which it then keeps (8-aligned). */
function takeSlab(n) {
  const view = slab.subarray(slabUsed, slabUsed + n);
  slabUsed = (slabUsed + n + 7) & ~7;
  return view;
}

/** Whether two arrays of strings are equal. */
function sameTags(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An open pool. */
class Pool {
  #native;
  // The append handle and the addon's append functions (module functions: cheaper to call
  // than methods).
  #handle;
  #addon;
  // The tags the handle holds for appends that pass none (null when unknown): appends with
  // the same tags as the one before skip converting them.
  #tags = [];

  constructor(native) {
    if (!native || typeof native.appender !== "function") {
      throw new TypeError("pools are opened with Client.createPool, openPool or pool");
    }
    this.#native = native;
    this.#handle = native.appender();
    this.#addon = addon();
    this.path = native.path;
  }

  #pool() {
    if (!this.#native) throw closedError("pool");
    return this.#native;
  }

  #appender() {
    if (!this.#native) throw closedError("pool");
    return this.#handle;
  }

  /**
   * Appends JSON text (a Uint8Array of UTF-8, or a string); the envelope is written into the
   * slab at `slabUsed` when it fits there. Returns the envelope's length.
   */
  #appendInto(json, tags, d) {
    const a = this.#appender();
    let passed;
    if (this.#tags !== null && sameTags(this.#tags, tags)) {
      passed = undefined;
    } else {
      passed = tags;
      this.#tags = null;
    }
    let n;
    try {
      n = typeof json === "string"
        ? this.#addon.appendTextInto(a, json, passed, d, slab, slabUsed)
        : this.#addon.appendJsonInto(a, json, passed, d, slab, slabUsed);
    } catch (e) {
      throw fromNative(e);
    }
    if (passed !== undefined) this.#tags = tags.slice();
    return n;
  }

  /** The envelope just appended (`n` bytes) as a Buffer of the caller's. */
  #envelope(n) {
    if (slabUsed + n <= slab.length) return takeSlab(n);
    // It did not fit where the slab is free: start the next envelope on a new slab.
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabUsed = 0;
    return this.#addon.lastEnvelope(this.#appender());
  }

  /**
   * Appends one JSON object: a Buffer/Uint8Array or string of JSON text, or any other value,
   * serialized with JSON.stringify. Returns the stored envelope as a Buffer.
   */
  appendJson(payload, tags = [], durability = Durability.Fast) {
    const t = toTags(tags);
    const d = durabilityCode(durability);
    let json = payload;
    if (!(payload instanceof Uint8Array) && typeof payload !== "string") {
      json = JSON.stringify(payload);
      if (json === undefined) throw new TypeError("payload must be a JSON object");
    }
    return this.#envelope(this.#appendInto(json, t, d));
  }

  /** Appends a value (a plain object) and returns the stored Message. */
  append(payload, tags = [], durability = Durability.Fast) {
    if (payload instanceof Uint8Array) return parseMessage(this.appendJson(payload, tags, durability));
    const t = toTags(tags);
    const d = durabilityCode(durability);
    const text = typeof payload === "string" ? payload : JSON.stringify(payload);
    if (text === undefined) throw new TypeError("payload must be a JSON object");
    const n = this.#appendInto(text, t, d);
    // The text is copied out of the slab, which stays free for the next envelope.
    if (slabUsed + n > slab.length) return parseMessage(this.#envelope(n));
    return Message._fromPrinted(slab.utf8Slice(slabUsed, slabUsed + n), t);
  }

  /** Appends a Lite³ envelope (its stored bytes); returns its sequence. */
  appendLite3(payload, durability = Durability.Fast) {
    const p = this.#pool();
    if (!(payload instanceof Uint8Array)) throw new TypeError("payload must be a Buffer");
    const d = durabilityCode(durability);
    try {
      return p.appendLite3(payload, d);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** One message's envelope as a Buffer. */
  getJson(seq) {
    const p = this.#pool();
    const s = toU64(seq, "seq");
    try {
      return p.getJson(s);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** One message. */
  get(seq) {
    return parseMessage(this.getJson(seq));
  }

  /** One message as a raw frame `{seq, timestampNs, flags, payload, time}`. */
  getLite3(seq) {
    const p = this.#pool();
    const s = toU64(seq, "seq");
    try {
      return toFrame(p.getLite3(s));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** The pool's info object (bounds, sizes, metrics). */
  info() {
    const p = this.#pool();
    try {
      return JSON.parse(p.info());
    } catch (e) {
      throw fromNative(e);
    }
  }

  _open(options) {
    const p = this.#pool();
    try {
      return p.openStream(options);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * A synchronous stream of envelopes from the oldest retained message (or `sinceSeq`).
   * Without `timeoutMs`, `nextJson()` returns what is in the pool now and then null; with it,
   * it waits for new messages until that many ms after opening.
   */
  openStream(sinceSeq, maxMessages, timeoutMs, errorOnGap = false) {
    return new Stream(this._open(streamOptions(sinceSeq, maxMessages, timeoutMs, errorOnGap)));
  }

  /** `openStream`, yielding raw frames. */
  openLite3Stream(sinceSeq, maxMessages, timeoutMs, errorOnGap = false) {
    return new Lite3Stream(this._open(streamOptions(sinceSeq, maxMessages, timeoutMs, errorOnGap)));
  }

  /**
   * An async iterator of Messages, live: `{sinceSeq, maxMessages, timeoutMs, tags, where,
   * errorOnGap}`. Waiting happens off the event loop; `break` (or `cancel()`) stops it.
   */
  tail(options = {}) {
    return new LocalTail(this, options);
  }

  /** The messages in the pool now, re-played with their original spacing divided by `speed`. */
  replay(options = {}) {
    return replayMessages(this, options);
  }

  close() {
    this.#native = null;
    this.#handle = null;
  }

  [dispose]() {
    this.close();
  }
}

function streamOptions(sinceSeq, maxMessages, timeoutMs, errorOnGap) {
  return {
    sinceSeq: optionalU64(sinceSeq, "sinceSeq"),
    maxMessages: optionalU64(maxMessages, "maxMessages"),
    timeoutMs: optionalTimeout(timeoutMs),
    errorOnGap: errorOnGap === true,
  };
}

/** A synchronous stream of envelopes (Buffers). */
class Stream {
  #native;

  constructor(native) {
    this.#native = native;
  }

  /** The next envelope, or null when there is none (now, or before the timeout). */
  nextJson() {
    if (!this.#native) return null;
    try {
      return this.#native.nextJson();
    } catch (e) {
      throw fromNative(e);
    }
  }

  *[Symbol.iterator]() {
    let b;
    while ((b = this.nextJson()) !== null) yield b;
  }

  close() {
    if (this.#native) this.#native.close();
    this.#native = null;
  }

  [dispose]() {
    this.close();
  }
}

/** A synchronous stream of raw frames. */
class Lite3Stream {
  #native;

  constructor(native) {
    this.#native = native;
  }

  /** The next frame, or null. */
  next() {
    if (!this.#native) return null;
    try {
      const f = this.#native.nextLite3();
      return f === null ? null : toFrame(f);
    } catch (e) {
      throw fromNative(e);
    }
  }

  *[Symbol.iterator]() {
    let f;
    while ((f = this.next()) !== null) yield f;
  }

  close() {
    if (this.#native) this.#native.close();
    this.#native = null;
  }

  [dispose]() {
    this.close();
  }
}

/** `pool.replay(options)`. */
function replay(pool, options = {}) {
  return pool.replay(options);
}

module.exports = {
  Client,
  Pool,
  Stream,
  Lite3Stream,
  LocalTail,
  Durability,
  DEFAULT_POOL_DIR,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_SIZE_BYTES,
  replay,
};
