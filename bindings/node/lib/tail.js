"use strict";
// Tails of local pools: the async iterator `pool.tail()` returns (batches from the addon, waits
// on the pool's wake-up off the main thread) and `pool.replay()`.

const { fromNative } = require("./errors");
const { Message, optionalU64, toTags } = require("./message");

const asyncDispose = Symbol.asyncDispose || Symbol.for("nodejs.asyncDispose");

/** Messages a tail asks the addon for per call. */
const BATCH = 512;

function optionalTimeout(ms, name = "timeoutMs") {
  if (ms === undefined || ms === null) return undefined;
  if (typeof ms === "bigint") ms = Number(ms);
  if (typeof ms !== "number" || !(ms >= 0)) {
    throw new TypeError(`${name} must be a non-negative number`);
  }
  return ms;
}

function whereList(where) {
  if (where === undefined || where === null) return undefined;
  if (typeof where === "string") return [where];
  if (!Array.isArray(where) || where.some((w) => typeof w !== "string")) {
    throw new TypeError("where must be a string or an array of strings");
  }
  return where;
}

function tailOptions(options) {
  if (options === null || typeof options !== "object") throw new TypeError("tail options must be an object");
  return {
    native: {
      sinceSeq: optionalU64(options.sinceSeq, "sinceSeq"),
      maxMessages: optionalU64(options.maxMessages, "maxMessages"),
      tags: options.tags === undefined ? undefined : toTags(options.tags),
      where: whereList(options.where),
      errorOnGap: options.errorOnGap === true,
    },
    timeoutMs: optionalTimeout(options.timeoutMs),
  };
}

/**
 * A live tail of a local pool: an async iterator of Messages. It reads what the pool holds in
 * batches, then waits for the next message through the pool's wake-up without blocking the
 * event loop. It ends after `maxMessages`, after `timeoutMs` without a message, or when
 * cancelled (`break` in `for await`, `return()`, `cancel()`).
 */
class LocalTail {
  #stream;
  #queue = [];
  #head = 0;
  #done = false;
  #timeoutMs;
  #lastActivity = Date.now();
  #chain = Promise.resolve();
  #pending = 0;

  constructor(pool, options = {}) {
    const o = tailOptions(options);
    this.#timeoutMs = o.timeoutMs;
    this.#stream = pool._open(o.native);
  }

  [Symbol.asyncIterator]() {
    return this;
  }

  /** `{value: Message, done: false}`, or `{done: true}` once the tail ended. */
  next() {
    if (this.#pending === 0 && this.#head < this.#queue.length) {
      return Promise.resolve({ value: this.#take(), done: false });
    }
    this.#pending++;
    const p = this.#chain.then(() => this.#next()).finally(() => this.#pending--);
    this.#chain = p.then(noop, noop);
    return p;
  }

  #take() {
    const m = this.#queue[this.#head];
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    }
    return m;
  }

  async #next() {
    for (;;) {
      if (this.#head < this.#queue.length) return { value: this.#take(), done: false };
      if (this.#done) return { value: undefined, done: true };
      let batch;
      try {
        batch = this.#stream.nextBatch(BATCH);
      } catch (e) {
        this.#finish();
        throw fromNative(e);
      }
      if (batch !== null) {
        Message._pushBatch(batch, this.#queue);
        this.#lastActivity = Date.now();
        continue;
      }
      if (this.#stream.ended() !== null) {
        this.#finish();
        continue;
      }
      let wait;
      if (this.#timeoutMs !== undefined) {
        wait = this.#timeoutMs - (Date.now() - this.#lastActivity);
        if (wait <= 0) {
          this.#finish();
          continue;
        }
      }
      await this.#stream.wait(wait);
    }
  }

  #finish() {
    if (this.#done) return;
    this.#done = true;
    this.#stream.close();
  }

  /** Stops the tail: a pending `next()` resolves as done. */
  cancel() {
    this.#queue = [];
    this.#head = 0;
    this.#finish();
  }

  return(value) {
    this.cancel();
    return Promise.resolve({ value, done: true });
  }

  throw(error) {
    this.cancel();
    return Promise.reject(error);
  }

  [asyncDispose]() {
    this.cancel();
    return Promise.resolve();
  }
}

function noop() {}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function* replayMessages(pool, options = {}) {
  if (options === null || typeof options !== "object") throw new TypeError("replay options must be an object");
  const speed = options.speed === undefined ? 1.0 : options.speed;
  if (typeof speed !== "number" || !(speed > 0)) throw new Error("speed must be positive");
  const o = tailOptions(options);
  const stream = pool._open({ ...o.native, live: false });
  const messages = [];
  try {
    for (;;) {
      const batch = stream.nextBatch(BATCH);
      if (batch === null) break;
      Message._pushBatch(batch, messages);
    }
  } catch (e) {
    throw fromNative(e);
  } finally {
    stream.close();
  }
  let previous = null;
  for (const m of messages) {
    if (previous !== null) {
      const gap = (m.time.getTime() - previous.time.getTime()) / speed;
      if (gap > 0) await sleep(gap);
    }
    previous = m;
    yield m;
  }
}

module.exports = { LocalTail, optionalTimeout, replayMessages };
