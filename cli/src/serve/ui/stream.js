// One pool's messages as server-sent events, read with fetch() so the request can carry the
// Authorization header (EventSource cannot). After any end or failure it reconnects and
// resumes at the last sequence seen + 1, so nothing is delivered twice or skipped silently.

import { headers, errorOf, askToken, poolPath, ApiError } from './api.js';

const RETRY_MIN = 700;
const RETRY_MAX = 10000;

/**
 * A tail of `pool`. `opts`: `start` ({last}|{since_seq}|{since_time}), `tags`, `where`,
 * `max` (end after that many), `timeoutMs`, `once` (end at the server's end rather than
 * resuming); handlers `onBatch(msgs)` with `{seq, raw}` items
 * in order, `onGap({first_missing, count})`, `onDamaged(d)`, `onStatus(state, detail)` with
 * state live|reconnecting|limit|auth|done|failed, and `onFail(ApiError)` for a request the
 * server refuses (a bad filter, a missing pool): the tail stops then.
 */
export class Tail {
  constructor(pool, opts) {
    this.pool = pool;
    this.opts = opts;
    this.lastSeq = null;
    this.delivered = 0;
    this.stopped = false;
    this.ctrl = null;
    this.run();
  }

  stop() {
    this.stopped = true;
    if (this.ctrl) this.ctrl.abort();
  }

  url() {
    const o = this.opts;
    const q = new URLSearchParams();
    if (this.lastSeq !== null) q.set('since_seq', String(this.lastSeq + 1));
    else for (const [k, v] of Object.entries(o.start || {})) q.set(k, String(v));
    for (const t of o.tags || []) q.append('tag', t);
    if (o.where) q.append('where', o.where);
    if (o.max) q.set('max', String(o.max - this.delivered));
    if (o.timeoutMs) q.set('timeout_ms', String(o.timeoutMs));
    return poolPath(this.pool, '/events?' + q);
  }

  status(s, detail) {
    if (!this.stopped && this.opts.onStatus) this.opts.onStatus(s, detail);
  }

  async run() {
    let failures = 0;
    while (!this.stopped) {
      if (this.opts.max && this.delivered >= this.opts.max) break;
      this.ctrl = new AbortController();
      let resp;
      try {
        resp = await fetch(this.url(), { headers: headers(), signal: this.ctrl.signal, cache: 'no-store' });
      } catch (e) {
        if (this.stopped) return;
        failures++;
        this.status('reconnecting', { attempt: failures, error: new ApiError(0, null) });
        await this.sleep(backoff(failures));
        continue;
      }
      if (resp.status === 401) {
        const err = await errorOf(resp);
        this.status('auth', { error: err });
        try { await askToken(err); } catch { this.status('failed', { error: err }); return; }
        continue;
      }
      if (resp.status === 423 || resp.status >= 500) {
        failures++;
        const err = await errorOf(resp);
        this.status(resp.status === 423 ? 'limit' : 'reconnecting', { attempt: failures, error: err });
        await this.sleep(backoff(failures));
        continue;
      }
      if (!resp.ok) {
        const err = await errorOf(resp);
        // A server whose --max-tail-timeout-ms is below the timeout asked: use its own.
        if (resp.status === 400 && this.opts.timeoutMs && /tail timeout exceeds/.test(err.message)) {
          this.opts = { ...this.opts, timeoutMs: 0 };
          continue;
        }
        this.status('failed', { error: err });
        if (!this.stopped && this.opts.onFail) this.opts.onFail(err);
        this.stopped = true;
        return;
      }
      this.status('live', { resumed: failures > 0 ? this.lastSeq : null, reconnected: failures > 0 });
      failures = 0;
      let broken = null;
      try {
        await this.read(resp.body);
      } catch (e) {
        if (this.stopped) return;
        broken = e;
      }
      if (this.stopped) return;
      if (broken) {
        failures++;
        const error = broken instanceof ApiError ? broken : new ApiError(0, null);
        this.status('reconnecting', { attempt: failures, error });
        await this.sleep(backoff(failures));
      }
      // A clean end is the server's timeout (or max): go on at once, from lastSeq + 1,
      // unless this tail reads a window once.
      else if (this.opts.once) break;
    }
    if (!this.stopped) this.status('done', {});
  }

  sleep(ms) {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.ctrl.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
  }

  async read(body) {
    const reader = body.pipeThrough(new TextDecoderStream()).getReader();
    let rest = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      if (this.stopped) { reader.cancel().catch(() => {}); return; }
      const blocks = (rest + value.replace(/\r\n?/g, '\n')).split('\n\n');
      rest = blocks.pop();
      const batch = [];
      try {
        for (const b of blocks) this.event(b, batch);
      } finally {
        if (batch.length) {
          this.delivered += batch.length;
          this.opts.onBatch(batch);
        }
      }
    }
  }

  /** One event block: `id:`, `event:`, `data:` lines; `:` comments are keepalives. */
  event(block, batch) {
    let id = null;
    let type = 'message';
    let data = '';
    let start = 0;
    while (start < block.length) {
      let end = block.indexOf('\n', start);
      if (end < 0) end = block.length;
      const line = block.slice(start, end);
      start = end + 1;
      if (line.startsWith('data:')) data += (data ? '\n' : '') + line.slice(line[5] === ' ' ? 6 : 5);
      else if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('event:')) type = line.slice(6).trim();
    }
    if (!data) return;
    if (type === 'message') {
      // Our server sends id: <seq>; a server that does not has the seq in the envelope.
      const seq = id !== null && id !== '' ? Number(id) : JSON.parse(data).seq;
      this.lastSeq = seq;
      batch.push({ seq, raw: data });
    } else if (type === 'gap') {
      const g = JSON.parse(data);
      if (this.lastSeq === null || g.first_missing + g.count - 1 > this.lastSeq) {
        this.lastSeq = g.first_missing + g.count - 1;
      }
      if (this.opts.onGap) this.opts.onGap(g);
    } else if (type === 'damaged') {
      if (this.opts.onDamaged) this.opts.onDamaged(JSON.parse(data));
    } else if (type === 'error') {
      let body = null;
      try { body = JSON.parse(data); } catch { body = null; }
      throw Object.assign(new ApiError(500, body), { streamed: true });
    }
  }
}

function backoff(n) {
  return Math.min(RETRY_MAX, RETRY_MIN * 2 ** Math.max(0, n - 1));
}

/** The sequence of the first message of `pool` at `start` (e.g. {since_time}), or null. */
export function firstSeq(pool, start) {
  return new Promise((resolve, reject) => {
    const t = new Tail(pool, {
      start, max: 1, once: true, timeoutMs: 1500,
      onBatch: (b) => { t.stop(); resolve(b[0].seq); },
      onStatus: (s) => { if (s === 'done') resolve(null); },
      onFail: reject,
    });
  });
}
