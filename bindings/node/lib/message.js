"use strict";
// `Message` (one envelope: seq, time, data, tags) and `parseMessage`, plus the argument
// conversions shared by the local and remote clients.

const MAX_U64 = (1n << 64n) - 1n;

/**
 * `value` as a bigint in [0, 2^64): a non-negative safe integer number or a bigint. `name` is
 * the argument's name for the error.
 */
function toU64(value, name) {
  if (typeof value === "bigint") {
    if (value < 0n || value > MAX_U64) {
      throw new RangeError(`${name} must be a non-negative integer below 2^64`);
    }
    return value;
  }
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) {
      throw new RangeError(`${name} must be a non-negative integer`);
    }
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`${name} is beyond Number.MAX_SAFE_INTEGER: pass a bigint`);
    }
    return BigInt(value);
  }
  throw new TypeError(`${name} must be a number or a bigint`);
}

/** `toU64`, with null and undefined meaning "absent". */
function optionalU64(value, name) {
  return value === undefined || value === null ? undefined : toU64(value, name);
}

/** A message's sequence from an envelope field. */
function toSeq(seq) {
  if (typeof seq === "bigint") return seq;
  if (typeof seq === "number" && Number.isFinite(seq)) return BigInt(Math.trunc(seq));
  if (typeof seq === "string" && seq.length > 0) return BigInt(seq);
  throw new TypeError("message seq must be a number, bigint or numeric string");
}

function seqForJson(seq) {
  return seq <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(seq) : seq.toString();
}

/**
 * Milliseconds since the epoch of an RFC 3339 UTC time as the engine prints it
 * (`YYYY-MM-DDTHH:MM:SS[.fraction]Z`), read digit by digit; NaN for any other form (which
 * the Date parser then reads).
 */
function fastTimeMs(s) {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */ || s.charCodeAt(4) !== 45 || s.charCodeAt(10) !== 84) {
    return NaN;
  }
  const d = (i) => s.charCodeAt(i) - 48;
  const year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
  const month = d(5) * 10 + d(6);
  const day = d(8) * 10 + d(9);
  const hour = d(11) * 10 + d(12);
  const minute = d(14) * 10 + d(15);
  const second = d(17) * 10 + d(18);
  let ms = 0;
  if (n > 20) {
    if (s.charCodeAt(19) !== 46 /* . */) return NaN;
    for (let i = 20, scale = 100; i < n - 1 && scale >= 1; i++, scale /= 10) ms += d(i) * scale;
  }
  const t = Date.UTC(year, month - 1, day, hour, minute, second, ms);
  return Number.isFinite(t) && month >= 1 && month <= 12 ? t : NaN;
}

const EMPTY_TAGS = Object.freeze([]);
const EMPTY_META = Object.freeze({ tags: EMPTY_TAGS });

// Consecutive messages usually carry the same tags: they share one frozen meta object.
let lastMeta = EMPTY_META;

function metaFor(tags) {
  if (tags.length === 0) return EMPTY_META;
  const last = lastMeta.tags;
  if (last.length === tags.length) {
    let same = true;
    for (let i = 0; i < tags.length; i++) {
      if (last[i] !== tags[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastMeta;
  }
  lastMeta = Object.freeze({ tags: Object.freeze(tags.map(String)) });
  return lastMeta;
}

/** `Message`'s constructor taking the fields as they are, not an envelope. */
const FIELDS = Symbol("fields");

/** One message: `seq` (bigint), `time` (Date), `timeRfc3339`, `data`, `meta.tags`. */
class Message {
  // The envelope's bytes: `#raw` (a Buffer, or the JSON text it is made from on demand), or,
  // for a message of a native batch, `#raw.subarray(#start, #end)` (`#start` >= 0).
  #raw;
  #start;
  #end;

  /**
   * @param envelope `{seq, time, data, meta: {tags}}` as the JSON envelope has it.
   * @param raw the envelope's bytes, when known (kept as `raw`).
   */
  constructor(envelope, raw = null, start = -1, end = -1, seq, time, timeText, data, meta) {
    if (envelope === FIELDS) {
      this.seq = seq;
      this.time = time;
      this.timeRfc3339 = timeText;
      this.data = data;
      this.meta = meta;
      this.#raw = raw;
      this.#start = start;
      this.#end = end;
      return;
    }
    if (envelope === null || typeof envelope !== "object") {
      throw new TypeError("message envelope must be an object");
    }
    this.seq = toSeq(envelope.seq);
    const fast = typeof envelope.time === "string" ? fastTimeMs(envelope.time) : NaN;
    const parsed = new Date(Number.isNaN(fast) ? envelope.time : fast);
    if (typeof envelope.time !== "string" || Number.isNaN(parsed.getTime())) {
      throw new TypeError("message time must be an RFC 3339 string");
    }
    this.time = parsed;
    this.timeRfc3339 = envelope.time;
    this.data = envelope.data;
    const tags = envelope.meta && Array.isArray(envelope.meta.tags) ? envelope.meta.tags : [];
    this.meta = metaFor(tags);
    this.#raw = raw;
    this.#start = start;
    this.#end = end;
  }

  /**
   * The messages of a native batch (see the addon's `NativeBatch`), pushed onto `out`: one
   * `JSON.parse` for all their data, the rest read from the batch's columns; each envelope's
   * bytes are sliced from the batch when `raw` is asked.
   */
  static _pushBatch(batch, out) {
    const datas = JSON.parse(batch.data.toString("utf8"));
    const metas = JSON.parse(batch.metas).map((m) => metaFor(m.tags));
    const { json, times, bounds, seqs, timesMs } = batch;
    for (let i = 0, b = 0; i < datas.length; i++, b += 5) {
      out.push(new Message(
        FIELDS, json, bounds[b], bounds[b + 1],
        seqs[i], new Date(timesMs[i]), times.slice(bounds[b + 2], bounds[b + 3]),
        datas[i], metas[bounds[b + 4]],
      ));
    }
  }

  /**
   * A message from an envelope the engine just printed for an append with `tags`:
   * `{"seq":N,"time":"…","meta":{"tags":[…]},"data":…}`. Only the data is parsed; seq and
   * time are read where the printer puts them. The text is kept for `raw`.
   */
  static _fromPrinted(text, tags) {
    const seqEnd = text.indexOf(",", 7);
    const timeStart = seqEnd + 9; // past `,"time":"`
    const timeEnd = text.indexOf('"', timeStart);
    // Tags are JSON strings, where every quote is escaped: the first `"data":` after the
    // time is the envelope's own.
    const dataStart = text.indexOf('"data":', timeEnd) + 7;
    if (!text.startsWith('{"seq":') || seqEnd < 0 || timeEnd < 0 || dataStart < 7) {
      return Message._fromText(text);
    }
    let seq;
    if (seqEnd - 7 <= 15) {
      // Below 10^15: exact as a number, and cheaper read digit by digit than as a string.
      let v = 0;
      for (let i = 7; i < seqEnd; i++) v = v * 10 + (text.charCodeAt(i) - 48);
      seq = BigInt(v);
    } else {
      seq = BigInt(text.slice(7, seqEnd));
    }
    const time = text.slice(timeStart, timeEnd);
    const ms = fastTimeMs(time);
    if (Number.isNaN(ms)) return Message._fromText(text);
    const data = JSON.parse(text.slice(dataStart, text.length - 1));
    return new Message(FIELDS, text, -1, -1, seq, new Date(ms), time, data, metaFor(tags));
  }

  /** A message from its envelope's JSON text (kept, for `raw`). */
  static _fromText(text) {
    return new Message(JSON.parse(text), text);
  }

  /** The message's tags (frozen). */
  get tags() {
    return this.meta.tags;
  }

  /** The envelope's bytes: as received, or made from the fields. */
  get raw() {
    if (this.#start >= 0) {
      this.#raw = this.#raw.subarray(this.#start, this.#end);
      this.#start = -1;
    } else if (typeof this.#raw === "string") {
      this.#raw = Buffer.from(this.#raw);
    } else if (this.#raw == null) {
      this.#raw = Buffer.from(JSON.stringify({
        seq: seqForJson(this.seq),
        time: this.timeRfc3339,
        meta: { tags: [...this.meta.tags] },
        data: this.data,
      }));
    }
    return this.#raw;
  }

  toJSON() {
    return {
      seq: seqForJson(this.seq),
      time: this.timeRfc3339,
      meta: { tags: [...this.meta.tags] },
      data: this.data,
    };
  }
}

/** A Message from a Message, an envelope Buffer, or an envelope object. */
function parseMessage(x) {
  if (x instanceof Message) return x;
  if (Buffer.isBuffer(x)) return new Message(JSON.parse(x.toString("utf8")), x);
  if (x instanceof Uint8Array) return parseMessage(Buffer.from(x.buffer, x.byteOffset, x.byteLength));
  if (x !== null && typeof x === "object") return new Message(x);
  throw new TypeError("parseMessage expects a Message, a Buffer or an envelope object");
}

/** Tags as an array of strings (one string is one tag). */
function toTags(tags) {
  if (tags === undefined || tags === null) return [];
  if (typeof tags === "string") return [tags];
  if (!Array.isArray(tags)) throw new TypeError("tags must be an array of strings");
  for (const t of tags) {
    if (typeof t !== "string") throw new TypeError("tags must be an array of strings");
  }
  return tags;
}

module.exports = { Message, parseMessage, toU64, optionalU64, toTags };
