// Message cards, newest on top: at most `cap` rendered, built only for what will be shown,
// with a one-line preview and the pretty JSON made only when a card is opened.

import { el, clock, ago, hue, copy, shellWord } from './format.js';

const PREVIEW = 160;

/** The rendered list of one pool's messages. */
export class Cards {
  /** `list` is the <ol>; `onTag(tag)` is called when a card's tag chip is clicked. */
  constructor(list, pool, cap, onTag) {
    this.list = list;
    this.pool = pool;
    this.cap = cap;
    this.onTag = onTag;
    list.addEventListener('toggle', (e) => this.opened(e.target), true);
    list.addEventListener('click', (e) => this.clicked(e));
    this.ticker = setInterval(() => this.refreshAges(), 5000);
  }

  /** The number of rendered cards. */
  get size() { return this.list.childElementCount; }

  clear() { this.list.textContent = ''; }

  /** Adds messages (oldest first) above the others; keeps the newest `cap`. */
  add(msgs) {
    const shown = msgs.length > this.cap ? msgs.slice(msgs.length - this.cap) : msgs;
    if (shown.length === this.cap) this.clear();
    const frag = document.createDocumentFragment();
    for (let i = shown.length - 1; i >= 0; i--) frag.append(this.card(shown[i]));
    this.list.prepend(frag);
    let extra = this.list.childElementCount - this.cap;
    while (extra-- > 0) this.list.lastElementChild.remove();
  }

  card(m) {
    let env;
    try { env = JSON.parse(m.raw); } catch { env = { seq: m.seq, data: m.raw, meta: { tags: [] } }; }
    const tags = (env.meta && env.meta.tags) || [];
    const compact = JSON.stringify(env.data);
    const preview = compact.length > PREVIEW ? compact.slice(0, PREVIEW) + '…' : compact;
    const chips = tags.map((t) => el('button', { type: 'button', class: 'chip', 'data-tag': t, title: 'Filter by tag ' + t }, t));
    const summary = el('summary', null,
      el('span', { class: 'seq' }, '#' + env.seq),
      el('time', { datetime: env.time, title: env.time }, clock(env.time)),
      el('span', { class: 'age', 'data-time': env.time }, ago(env.time)),
      chips.length ? el('span', { class: 'tags' }, ...chips) : null,
      el('code', { class: 'preview' }, preview));
    const d = el('details', null, summary);
    const li = el('li', { class: 'card', 'data-seq': env.seq }, d);
    if (tags.length) li.classList.add('tint-' + (hue(tags[0]) % 12));
    li._env = env;
    return li;
  }

  /** A card was opened: its pretty JSON and copy buttons, made once. */
  opened(details) {
    if (!(details instanceof HTMLDetailsElement) || !details.open || details.querySelector('pre')) return;
    const env = details.parentElement._env;
    details.append(el('div', { class: 'body' },
      el('pre', { tabindex: '0' }, JSON.stringify(env, null, 2)),
      el('div', { class: 'actions' },
        el('button', { type: 'button', 'data-copy': 'json' }, 'Copy JSON'),
        el('button', { type: 'button', 'data-copy': 'cmd' }, 'Copy pls fetch'),
        el('span', { class: 'copied', role: 'status' }))));
  }

  async clicked(e) {
    const b = e.target.closest('button');
    if (!b || !this.list.contains(b)) return;
    if (b.dataset.tag !== undefined) {
      e.preventDefault();
      this.onTag(b.dataset.tag);
      return;
    }
    const li = b.closest('li');
    const env = li && li._env;
    if (!env || !b.dataset.copy) return;
    const text = b.dataset.copy === 'json'
      ? JSON.stringify(env, null, 2)
      : `pls fetch ${shellWord(this.pool)} ${env.seq}`;
    const ok = await copy(text);
    const note = li.querySelector('.copied');
    if (note) note.textContent = ok ? 'Copied.' : 'Copy failed: select the text instead.';
  }

  refreshAges() {
    for (const a of this.list.querySelectorAll('.age')) a.textContent = ago(a.dataset.time);
  }

  /** Scrolls to, marks and focuses the card of `seq`; whether it is shown. */
  reveal(seq) {
    const li = this.list.querySelector(`li[data-seq="${seq}"]`);
    if (!li) return false;
    for (const o of this.list.querySelectorAll('.target')) o.classList.remove('target');
    li.classList.add('target');
    li.scrollIntoView({ block: 'center' });
    li.querySelector('summary').focus({ preventScroll: true });
    return true;
  }
}
