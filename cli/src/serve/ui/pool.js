// The pool view: stats with a rate sparkline, the live stream of cards with pause/resume,
// tag and `where` filters sent to the server, jump to a sequence or a time, and the keys.

import { getJson, poolPath, server, askToken } from './api.js';
import { Tail, firstSeq } from './stream.js';
import { Cards } from './cards.js';
import { el, svg, bytes, count, duration, rate } from './format.js';
import { banner, dismiss } from './banners.js';
import { setupAppend } from './append.js';

const $ = (id) => document.getElementById(id);
const SAMPLES = 60;

/** Shows the view of `pool`. */
export async function poolView(pool) {
  await new PoolView(pool).init();
}

class PoolView {
  constructor(pool) {
    const q = new URLSearchParams(location.search);
    this.pool = pool;
    this.cap = Math.min(2000, Math.max(1, parseInt(q.get('n'), 10) || 400));
    this.tags = q.getAll('tag').map((t) => t.trim()).filter(Boolean);
    this.where = q.get('where') || '';
    this.tail = null;
    this.mode = 'live';
    this.paused = false;
    this.pending = [];
    this.newCount = 0;
    this.queue = [];
    this.timer = null;
    this.renderMs = 0;
    this.samples = [];
    this.prev = null;
    this.gaps = { count: 0, events: 0 };
    this.info = null;
  }

  async init() {
    document.title = this.pool + ' · plasmite';
    $('pool-title').textContent = this.pool;
    $('crumb').append(el('span', { 'aria-current': 'page' }, this.pool));
    this.cards = new Cards($('cards'), this.pool, this.cap, (t) => this.addTag(t));
    this.wire();
    this.showFilters();
    const srv = await server();
    if (srv.access !== 'read-only') {
      $('append-box').hidden = false;
      setupAppend(this.pool);
    }
    if (srv.access === 'write-only') {
      banner('access', 'info', 'This server is write-only: messages can be appended here but not read.');
      $('pill').textContent = 'write-only';
      return;
    }
    this.poll();
    setInterval(() => this.poll(), 1000);
    this.live();
  }

  wire() {
    $('pause').addEventListener('click', () => this.togglePause());
    $('new-count').addEventListener('click', () => this.togglePause(false));
    $('live-btn').addEventListener('click', () => this.live());
    $('filter-form').addEventListener('submit', (e) => { e.preventDefault(); this.applyFilters(); });
    $('filter-clear').addEventListener('click', () => {
      this.tags = [];
      $('where-input').value = '';
      this.applyFilters();
    });
    $('tag-input').addEventListener('keydown', (e) => {
      if (e.key === 'Enter') {
        e.preventDefault();
        const t = e.target.value.trim();
        e.target.value = '';
        if (t) this.addTag(t);
      } else if (e.key === 'Backspace' && !e.target.value && this.tags.length) {
        this.tags.pop();
        this.applyFilters();
      }
    });
    $('tag-chips').addEventListener('click', (e) => {
      const b = e.target.closest('button[data-tag]');
      if (!b) return;
      this.tags = this.tags.filter((t) => t !== b.dataset.tag);
      this.applyFilters();
    });
    $('jump-form').addEventListener('submit', (e) => { e.preventDefault(); this.jump($('jump-input').value); });
    document.addEventListener('keydown', (e) => this.key(e));
  }

  /** space = pause, / = filter, g = jump, Escape leaves a field. */
  key(e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const t = e.target;
    const typing = t.closest && t.closest('input, textarea, select, [contenteditable]');
    if (typing) {
      if (e.key === 'Escape') t.blur();
      return;
    }
    if (e.key === ' ' && !t.closest('button, summary, a')) {
      e.preventDefault();
      this.togglePause();
    } else if (e.key === '/') {
      e.preventDefault();
      $('where-input').focus();
    } else if (e.key === 'g') {
      e.preventDefault();
      $('jump-input').focus();
      $('jump-input').select();
    }
  }

  // ---- streaming -------------------------------------------------------------------------

  stopTail() {
    if (this.tail) this.tail.stop();
    this.tail = null;
    clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.pending = [];
    this.newCount = 0;
    this.showNew();
  }

  /** The live stream: the last `cap` matching messages, then whatever comes. */
  live() {
    this.stopTail();
    this.mode = 'live';
    this.togglePause(false);
    this.cards.clear();
    dismiss('window');
    dismiss('jump');
    $('live-btn').hidden = true;
    $('pause').disabled = false;
    this.setPill('connecting');
    this.tail = this.newTail({ last: this.cap }, {});
    this.showShown();
  }

  newTail(start, extra) {
    return new Tail(this.pool, {
      start,
      tags: this.tags,
      where: this.where,
      onBatch: (b) => this.receive(b),
      onGap: (g) => this.gap(g),
      onDamaged: (d) => banner('damaged', 'warn', `Skipped damaged message #${d.seq}: ${d.message}`),
      onStatus: (s, d) => this.status(s, d),
      onFail: (err) => this.failed(err),
      ...extra,
    });
  }

  receive(batch) {
    if (this.paused && this.mode === 'live') {
      this.newCount += batch.length;
      for (const m of batch) this.pending.push(m);
      if (this.pending.length > 2 * this.cap) this.pending = this.pending.slice(-this.cap);
    } else {
      for (const m of batch) this.queue.push(m);
      if (this.queue.length > 2 * this.cap) this.queue = this.queue.slice(-this.cap);
    }
    this.schedule();
  }

  /**
   * Renders at most every 50 ms, and less often when rendering is slow (the page stays idle
   * at least 5/6 of the time, so input is answered at once); a stream that fills the whole
   * list between renders is shown at most 4 times a second — faster is unreadable anyway.
   */
  schedule() {
    if (this.timer) return;
    const floor = this.full ? 250 : 50;
    const wait = Math.min(1000, Math.max(floor, this.renderMs * 6));
    this.timer = setTimeout(() => this.flush(), wait);
  }

  flush() {
    this.timer = null;
    const t0 = performance.now();
    if (this.queue.length) {
      const q = this.queue;
      this.queue = [];
      this.full = q.length >= this.cap;
      this.cards.add(q);
      if (this.mode === 'window' && this.target != null && !this.revealed) {
        this.revealed = this.cards.reveal(this.target);
      }
      this.showShown();
    }
    this.showNew();
    this.renderMs = performance.now() - t0;
  }

  togglePause(want) {
    if (this.mode !== 'live') return;
    this.paused = want === undefined ? !this.paused : want;
    const b = $('pause');
    b.setAttribute('aria-pressed', String(this.paused));
    b.textContent = this.paused ? 'Resume' : 'Pause';
    if (!this.paused) {
      const lost = this.newCount - Math.min(this.pending.length, this.cap);
      if (lost > 0) {
        const first = this.pending.length ? this.pending[Math.max(0, this.pending.length - this.cap)].seq - lost : null;
        banner('overflow', 'info',
          `${count(lost)} of the ${count(this.newCount)} messages that arrived while paused do not fit in the ${count(this.cap)} rows` +
          (first != null ? `; jump to #${first} to read them.` : '.'));
      }
      for (const m of this.pending) this.queue.push(m);
      this.pending = [];
      this.newCount = 0;
      this.flush();
    }
    this.setPill(this.paused ? 'paused' : this.lastState || 'live');
    this.showNew();
  }

  showNew() {
    const b = $('new-count');
    b.hidden = !this.paused || this.newCount === 0;
    b.textContent = `${count(this.newCount)} new`;
  }

  showShown() {
    $('shown').textContent = `${count(this.cards.size)} shown (at most ${count(this.cap)})`;
    $('cards-empty').hidden = this.cards.size > 0;
  }

  status(s, d) {
    this.lastState = s === 'done' ? this.lastState : s;
    if (!(this.paused && s === 'live')) this.setPill(s === 'done' ? (this.mode === 'window' ? 'window' : 'ended') : s);
    if (s === 'live') {
      dismiss('limit');
      dismiss('auth');
      dismiss('forbidden');
      if (d.reconnected) {
        banner('conn', 'ok', d.resumed != null ? `Reconnected; resumed after #${d.resumed}.` : 'Reconnected.', null, 5000);
      } else {
        dismiss('conn');
      }
    } else if (s === 'reconnecting') {
      banner('conn', 'warn', `Connection lost (${d.error.message}); reconnecting, attempt ${d.attempt}…`);
    } else if (s === 'limit') {
      banner('limit', 'error', `The server is at its limit of concurrent streams (${d.error.message}); retrying…`);
    } else if (s === 'auth') {
      banner('auth', 'error', `Authentication required: ${d.error.message}.`, { label: 'Enter token', run: () => askToken(d.error) });
    } else if (s === 'done' && this.mode === 'window') {
      this.flush();
      if (!this.revealed) {
        $('jump-error').textContent = `#${this.target} is not shown: it was evicted or does not match the filters.`;
      }
    }
  }

  failed(err) {
    this.setPill('error');
    if (err.status === 400) {
      $('filter-error').textContent = err.message + (err.hint ? ' — ' + err.hint : '');
      $('where-input').setAttribute('aria-invalid', 'true');
    } else if (err.status === 404) {
      banner('missing', 'error', `No pool named “${this.pool}” on this server.`, { label: 'All pools', run: () => { location.href = '/ui'; } });
    } else if (err.status === 403) {
      banner('forbidden', 'error', err.message);
    } else {
      banner('stream', 'error', err.message);
    }
  }

  gap(g) {
    this.gaps.count += g.count;
    this.gaps.events += 1;
    banner('gap', 'warn',
      `Retention gap: ${count(g.count)} message${g.count === 1 ? '' : 's'} from #${g.first_missing} were evicted before they could be read` +
      (this.gaps.events > 1 ? ` (${count(this.gaps.count)} in ${this.gaps.events} gaps).` : '.'));
  }

  setPill(s) {
    const p = $('pill');
    p.textContent = s;
    p.dataset.state = s;
  }

  // ---- filters ---------------------------------------------------------------------------

  addTag(t) {
    if (!this.tags.includes(t)) this.tags.push(t);
    this.applyFilters();
  }

  applyFilters() {
    this.where = $('where-input').value.trim();
    $('filter-error').textContent = '';
    $('where-input').removeAttribute('aria-invalid');
    const url = new URL(location.href);
    url.searchParams.delete('tag');
    url.searchParams.delete('where');
    for (const t of this.tags) url.searchParams.append('tag', t);
    if (this.where) url.searchParams.set('where', this.where);
    history.replaceState(history.state, '', url.pathname + url.search);
    this.showFilters();
    this.live();
  }

  showFilters() {
    $('where-input').value = this.where;
    const box = $('tag-chips');
    box.textContent = '';
    for (const t of this.tags) {
      box.append(el('button', { type: 'button', class: 'chip', 'data-tag': t, 'aria-label': `Remove tag filter ${t}` }, t, el('span', { 'aria-hidden': 'true' }, ' ×')));
    }
  }

  // ---- jump ------------------------------------------------------------------------------

  /** Loads the window of messages around a sequence, or around the first at a time. */
  async jump(text) {
    const err = $('jump-error');
    err.textContent = '';
    text = text.trim();
    if (!text) return;
    let target;
    try {
      if (/^#?\d+$/.test(text)) target = Number(text.replace('#', ''));
      else {
        target = await firstSeq(this.pool, { since_time: text });
        if (target == null) {
          err.textContent = `No message at or after ${text}.`;
          return;
        }
      }
      const info = (await getJson(poolPath(this.pool, '/info'))).pool;
      const { oldest, newest } = info.bounds || {};
      if (newest == null) {
        err.textContent = 'The pool is empty.';
        return;
      }
      if (target > newest) {
        err.textContent = `#${target} is not written yet: the newest is #${newest}.`;
        return;
      }
      // An evicted target starts the window at it: the server reports the gap, then the
      // oldest retained messages follow.
      const from = target < oldest ? oldest : Math.max(oldest, target - Math.floor(this.cap / 2));
      const start = Math.min(from, target);
      const end = Math.min(newest, from + this.cap - 1);
      this.stopTail();
      this.togglePause(false);
      this.mode = 'window';
      this.target = target;
      this.revealed = false;
      this.cards.clear();
      $('pause').disabled = true;
      $('live-btn').hidden = false;
      this.setPill('window');
      banner('window', 'info', `Showing #${from}–#${end} around #${target}; the live stream is stopped.`, { label: 'Back to live', run: () => this.live() });
      this.tail = this.newTail({ since_seq: start }, { max: end - from + 1, once: true, timeoutMs: 2000 });
    } catch (e) {
      err.textContent = e.message + (e.hint ? ' — ' + e.hint : '');
    }
  }

  // ---- stats -----------------------------------------------------------------------------

  async poll() {
    if (this.polling) return;
    this.polling = true;
    try {
      const info = (await getJson(poolPath(this.pool, '/info'))).pool;
      this.showStats(info);
    } catch (e) {
      if (e.status === 404) this.failed(e);
    } finally {
      this.polling = false;
    }
  }

  showStats(info) {
    const m = info.metrics || {};
    const b = info.bounds || {};
    const u = m.utilization || {};
    const age = m.age || {};
    $('st-count').textContent = count(m.message_count);
    $('st-range').textContent = b.newest != null ? `#${b.oldest} – #${b.newest}` : 'empty';
    $('st-used').textContent = `${bytes(u.used_bytes)} of ${bytes(info.ring_size)} (${(u.used_percent ?? 0).toFixed(1)}%)`;
    $('st-meter').value = u.used_percent ?? 0;
    $('st-oldest').textContent = age.oldest_age_ms != null ? duration(age.oldest_age_ms) + ' ago' : '–';
    $('st-newest').textContent = age.newest_age_ms != null ? duration(age.newest_age_ms) + ' ago' : '–';
    const now = performance.now();
    const newest = b.newest ?? 0;
    if (this.prev) {
      const r = Math.max(0, newest - this.prev.newest) / ((now - this.prev.t) / 1000);
      this.samples.push(r);
      if (this.samples.length > SAMPLES) this.samples.shift();
      // The figure is the mean of the last 5 s, steadier to read than one second's.
      const recent = this.samples.slice(-5);
      $('st-rate').textContent = rate(recent.reduce((a, b) => a + b, 0) / recent.length);
      this.spark();
    }
    this.prev = { newest, t: now };
  }

  spark() {
    const s = $('spark');
    const n = this.samples.length;
    const max = Math.max(1, ...this.samples);
    const w = 120;
    const h = 24;
    // The samples span the width (one per second, the last minute at most).
    const step = n > 1 ? w / (n - 1) : w;
    const pts = this.samples.map((v, i) => [(i * step).toFixed(1), (h - 1 - (v / max) * (h - 3)).toFixed(1)]);
    if (n === 1) pts.unshift(['0', pts[0][1]]);
    const line = pts.map((p) => p.join(',')).join(' ');
    s.textContent = '';
    s.append(svg('polygon', { points: `0,${h} ${line} ${w},${h}`, class: 'area' }));
    s.append(svg('polyline', { points: line, class: 'line' }));
    s.setAttribute('aria-label', `Messages per second over the last ${n} s; now ${rate(this.samples[n - 1])}, peak ${rate(max)}`);
  }
}
