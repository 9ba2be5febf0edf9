// The pool list: every pool with its size, use, counts, sequence range, newest age and live
// rate (from the change of its newest sequence between polls), sortable and searchable.

import { getJson } from './api.js';
import { el, bytes, count, duration, rate } from './format.js';
import { banner, dismiss } from './banners.js';

const $ = (id) => document.getElementById(id);
const POLL_MS = 2000;

const COLUMNS = {
  name: (p) => p.name,
  size: (p) => p.file_size ?? -1,
  used: (p) => p.metrics?.utilization?.used_percent ?? -1,
  count: (p) => p.metrics?.message_count ?? -1,
  range: (p) => p.bounds?.newest ?? -1,
  newest: (p) => p.metrics?.age?.newest_age_ms ?? Infinity,
  rate: (p) => p.rate ?? -1,
};

/** Shows the list of pools. */
export function listView() {
  const state = { pools: [], sort: 'name', desc: false, prev: new Map() };
  document.title = 'Pools · plasmite';
  $('pool-search').addEventListener('input', () => render(state));
  for (const b of document.querySelectorAll('#pool-table th button[data-sort]')) {
    b.addEventListener('click', () => {
      const k = b.dataset.sort;
      state.desc = state.sort === k ? !state.desc : k !== 'name';
      state.sort = k;
      render(state);
    });
  }
  document.addEventListener('keydown', (e) => {
    if (e.key === '/' && !e.target.closest('input, textarea, select')) {
      e.preventDefault();
      $('pool-search').focus();
    }
  });
  const load = async () => {
    try {
      const r = await getJson('/v0/ui/pools');
      const now = performance.now();
      for (const p of r.pools) {
        const prev = state.prev.get(p.name);
        const newest = p.bounds?.newest ?? 0;
        if (prev) p.rate = Math.max(0, newest - prev.newest) / ((now - prev.t) / 1000);
        state.prev.set(p.name, { newest, t: now });
      }
      state.pools = r.pools;
      dismiss('list');
      render(state);
    } catch (e) {
      banner('list', 'error', 'Cannot list pools: ' + e.message + (e.hint ? ' — ' + e.hint : ''));
    }
  };
  load();
  setInterval(load, POLL_MS);
}

function render(state) {
  const q = $('pool-search').value.trim().toLowerCase();
  const key = COLUMNS[state.sort];
  const pools = state.pools
    .filter((p) => !q || p.name.toLowerCase().includes(q))
    .sort((a, b) => {
      const x = key(a);
      const y = key(b);
      const c = typeof x === 'string' ? x.localeCompare(y) : x - y;
      return (state.desc ? -c : c) || a.name.localeCompare(b.name);
    });
  for (const th of document.querySelectorAll('#pool-table th')) {
    const b = th.querySelector('button');
    th.setAttribute('aria-sort', b && b.dataset.sort === state.sort ? (state.desc ? 'descending' : 'ascending') : 'none');
  }
  const body = $('pool-rows');
  body.textContent = '';
  for (const p of pools) body.append(row(p));
  $('list-empty').hidden = state.pools.length > 0;
  $('list-status').textContent = q
    ? `${pools.length} of ${state.pools.length} pools match “${q}”.`
    : `${state.pools.length} pool${state.pools.length === 1 ? '' : 's'}.`;
}

function row(p) {
  const link = el('a', { href: '/ui/pools/' + encodeURIComponent(p.name) }, p.name);
  if (p.error) {
    return el('tr', { class: 'bad' }, el('th', { scope: 'row' }, link),
      el('td', { colspan: 6 }, `${p.error.kind}: ${p.error.message}`));
  }
  const m = p.metrics || {};
  const used = m.utilization?.used_percent ?? 0;
  const b = p.bounds || {};
  return el('tr', { 'data-pool': p.name },
    el('th', { scope: 'row' }, link),
    el('td', { class: 'num' }, bytes(p.file_size)),
    el('td', { class: 'num' }, el('meter', { min: 0, max: 100, value: used, 'aria-label': `${used}% used` }), ` ${used.toFixed(1)}%`),
    el('td', { class: 'num', 'data-col': 'count' }, count(m.message_count)),
    el('td', { class: 'num' }, b.newest != null ? `#${b.oldest} – #${b.newest}` : 'empty'),
    el('td', { class: 'num' }, m.age?.newest_age_ms != null ? duration(m.age.newest_age_ms) + ' ago' : '–'),
    el('td', { class: 'num', 'data-col': 'rate' }, p.rate == null ? '…' : rate(p.rate)));
}
