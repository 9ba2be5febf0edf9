"use strict";
// The remote client: pools on a plasmite server over HTTP/JSON (`pls serve`), with the global
// fetch. Tails stream the JSON Lines tail route and reconnect after a dropped connection or the
// server's tail timeout, resuming after the last message seen.

const { RemoteError } = require("./errors");
const { Message, toU64, optionalU64, toTags } = require("./message");

const asyncDispose = Symbol.asyncDispose || Symbol.for("nodejs.asyncDispose");

/** The longest tail request this client asks for (the server's default limit). */
const MAX_REQUEST_TIMEOUT_MS = 30000;

function remoteDurability(d) {
  if (d === undefined || d === null || d === 0) return "fast";
  if (d === 1) return "flush";
  if (typeof d === "string") {
    const s = d.toLowerCase();
    if (s === "fast" || s === "flush") return s;
  }
  throw new TypeError('durability must be "fast", "flush", Durability.Fast or Durability.Flush');
}

async function errorOf(res) {
  let body = null;
  let text = "";
  try {
    text = await res.text();
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  return new RemoteError(res.status, body, body ? undefined : text.trim() || undefined);
}

/** A client of one plasmite server. */
class RemoteClient {
  constructor(baseUrl, { token } = {}) {
    const url = new URL(String(baseUrl));
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new Error("remote base URL must use http or https");
    }
    if (url.pathname !== "" && url.pathname !== "/") {
      throw new Error("remote base URL must not include a path");
    }
    url.search = "";
    url.hash = "";
    this.baseUrl = url;
    this.token = token ?? null;
  }

  /** Sets the bearer token; returns this client. */
  withToken(token) {
    this.token = token;
    return this;
  }

  _url(path, query) {
    const u = new URL(path, this.baseUrl);
    if (query) u.search = query.toString();
    return u;
  }

  _headers(json) {
    const h = { accept: "application/json" };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    if (json) h["content-type"] = "application/json";
    return h;
  }

  async _request(method, path, body) {
    const res = await fetch(this._url(path), {
      method,
      headers: this._headers(body !== undefined),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorOf(res);
    if (res.status === 204) return null;
    return res.json();
  }

  /** Creates a pool; resolves to its info object. */
  async createPool(pool, sizeBytes = 1048576) {
    const size = Number(toU64(sizeBytes ?? 1048576, "sizeBytes"));
    const r = await this._request("POST", "/v0/pools", { pool: String(pool), size_bytes: size });
    return r.pool;
  }

  /** Opens an existing pool; resolves to a RemotePool. */
  async openPool(pool) {
    await this._request("POST", "/v0/pools/open", { pool: String(pool) });
    return new RemotePool(this, String(pool));
  }

  /** A pool's info object. */
  async poolInfo(pool) {
    const r = await this._request("GET", `/v0/pools/${encodeURIComponent(pool)}/info`);
    return r.pool;
  }

  /** Every pool's info object (or `{name, error}` for a pool the server cannot read). */
  async listPools() {
    const r = await this._request("GET", "/v0/pools");
    return r.pools;
  }

  /** Deletes a pool. */
  async deletePool(pool) {
    await this._request("DELETE", `/v0/pools/${encodeURIComponent(pool)}`);
  }
}

/** A pool on a server. */
class RemotePool {
  constructor(client, pool) {
    this.client = client;
    this.pool = pool;
  }

  poolRef() {
    return this.pool;
  }

  _path(rest) {
    return `/v0/pools/${encodeURIComponent(this.pool)}${rest}`;
  }

  /** Appends a JSON object; resolves to the stored Message. */
  async append(data, tags = [], durability = "fast") {
    const body = { data, tags: toTags(tags), durability: remoteDurability(durability) };
    const r = await this.client._request("POST", this._path("/append"), body);
    return new Message(r.message);
  }

  /** One message. */
  async get(seq) {
    const s = toU64(seq, "seq");
    const r = await this.client._request("GET", this._path(`/messages/${s}`));
    return new Message(r.message);
  }

  /** The pool's info object. */
  async info() {
    return this.client.poolInfo(this.pool);
  }

  /**
   * A live tail: `{sinceSeq, maxMessages, timeoutMs, tags, where, errorOnGap}`. Returns a
   * RemoteTail (`next()` resolves to a Message or null, `cancel()`, and `for await`).
   */
  tail(options = {}) {
    return new RemoteTail(this, options);
  }
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/**
 * A live tail of a remote pool. `next()` resolves to the next Message, or null once the tail
 * ended (after `maxMessages`, after `timeoutMs` without a message, or when cancelled). It is
 * also an async iterable (`for await`; `break` cancels it).
 */
class RemoteTail {
  #pool;
  #opts;
  #gen;
  #abort = new AbortController();
  #cancelled = false;

  constructor(pool, options = {}) {
    if (options === null || typeof options !== "object") throw new TypeError("tail options must be an object");
    const timeoutMs = options.timeoutMs;
    if (timeoutMs !== undefined && timeoutMs !== null && !(typeof timeoutMs === "number" && timeoutMs >= 0)) {
      throw new TypeError("timeoutMs must be a non-negative number");
    }
    let where = options.where;
    if (typeof where === "string") where = [where];
    if (where !== undefined && where !== null && (!Array.isArray(where) || where.some((w) => typeof w !== "string"))) {
      throw new TypeError("where must be a string or an array of strings");
    }
    this.#pool = pool;
    this.#opts = {
      sinceSeq: optionalU64(options.sinceSeq, "sinceSeq"),
      maxMessages: optionalU64(options.maxMessages, "maxMessages"),
      timeoutMs: timeoutMs ?? undefined,
      tags: options.tags === undefined ? [] : toTags(options.tags),
      where: where || [],
      errorOnGap: options.errorOnGap === true,
    };
    this.#gen = this.#run();
  }

  /** The next Message, or null once the tail has ended. */
  async next() {
    const r = await this.#gen.next();
    return r.done ? null : r.value;
  }

  /** Stops the tail (aborting the request); a pending `next()` resolves to null. */
  cancel() {
    this.#cancelled = true;
    this.#abort.abort();
    return this.#gen.return(undefined).then(() => undefined);
  }

  [Symbol.asyncIterator]() {
    return {
      next: () => this.#gen.next(),
      return: async (value) => {
        await this.cancel();
        return { value, done: true };
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  [asyncDispose]() {
    return this.cancel();
  }

  async *#run() {
    const o = this.#opts;
    const client = this.#pool.client;
    let since = o.sinceSeq;
    let remaining = o.maxMessages;
    let lastActivity = Date.now();
    let backoff = 100;
    let sendTimeout = true;
    const signal = this.#abort.signal;
    while (!this.#cancelled) {
      if (remaining === 0n) return;
      let window;
      if (o.timeoutMs !== undefined) {
        window = o.timeoutMs - (Date.now() - lastActivity);
        if (window <= 0) return;
      }
      const q = new URLSearchParams();
      if (since !== undefined) q.set("since_seq", since.toString());
      if (remaining !== undefined) q.set("max", remaining.toString());
      if (window !== undefined && sendTimeout && window <= MAX_REQUEST_TIMEOUT_MS) {
        q.set("timeout_ms", String(Math.max(1, Math.ceil(window))));
      }
      if (o.errorOnGap) q.set("gap_policy", "error");
      for (const t of o.tags) q.append("tag", t);
      for (const w of o.where) q.append("where", w);
      let res;
      try {
        res = await fetch(client._url(this.#pool._path("/tail"), q), {
          headers: { ...client._headers(false), accept: "application/jsonl" },
          signal,
        });
      } catch (e) {
        if (this.#cancelled) return;
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
        continue;
      }
      if (!res.ok) {
        const err = await errorOf(res);
        if (res.status === 400 && sendTimeout && /timeout/i.test(err.message)) {
          // The server's limit is below what was asked: let it use its own.
          sendTimeout = false;
          continue;
        }
        throw err;
      }
      backoff = 100;
      const decoder = new TextDecoder();
      let buffered = "";
      try {
        for await (const chunk of res.body) {
          buffered += decoder.decode(chunk, { stream: true });
          let nl;
          while ((nl = buffered.indexOf("\n")) >= 0) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim() === "") continue;
            const value = JSON.parse(line);
            if (value && value.error) throw new RemoteError(200, value);
            const m = new Message(value, Buffer.from(line));
            since = m.seq + 1n;
            lastActivity = Date.now();
            if (remaining !== undefined) remaining -= 1n;
            yield m;
            if (remaining === 0n) return;
          }
        }
      } catch (e) {
        if (this.#cancelled) return;
        if (e instanceof RemoteError || e instanceof SyntaxError) throw e;
        // The connection dropped: resume after the last message seen.
        await sleep(backoff, signal);
        backoff = Math.min(backoff * 2, 5000);
      } finally {
        if (!res.bodyUsed || this.#cancelled) {
          try {
            await res.body?.cancel();
          } catch {
            // already closed
          }
        }
      }
    }
  }
}

module.exports = { RemoteClient, RemotePool, RemoteTail };
