// Formatting and DOM helpers shared by the views: sizes, ages, counts, element building.

/** Builds an element: el('a', {href: '/x', class: 'y'}, 'text', child). */
export function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') e.className = v;
      else if (k === 'text') e.textContent = v;
      else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? '' : String(v));
    }
  }
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

const SVG = 'http://www.w3.org/2000/svg';
/** An SVG element with attributes. */
export function svg(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

/** 1536 → "1.5 KiB". */
export function bytes(n) {
  if (n == null || !Number.isFinite(n)) return '–';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + ' ' + units[i];
}

/** 12345 → "12,345". */
export function count(n) {
  return n == null ? '–' : Number(n).toLocaleString('en-US');
}

/** A duration in ms → "850 ms", "12 s", "5 min", "3 h", "2 d". */
export function duration(ms) {
  if (ms == null || !Number.isFinite(ms)) return '–';
  ms = Math.max(0, ms);
  if (ms < 1000) return Math.round(ms) + ' ms';
  const s = ms / 1000;
  if (s < 60) return Math.floor(s) + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min';
  if (s < 86400) return Math.floor(s / 3600) + ' h';
  return Math.floor(s / 86400) + ' d';
}

/** "… ago" for an RFC 3339 time, relative to now. */
export function ago(time) {
  const t = Date.parse(time);
  if (Number.isNaN(t)) return '';
  const d = Date.now() - t;
  return d < 1000 ? 'just now' : duration(d) + ' ago';
}

/** Messages per second, short. */
export function rate(r) {
  if (r == null || !Number.isFinite(r)) return '–';
  if (r >= 1000) return (r / 1000).toFixed(r >= 10000 ? 0 : 1) + 'k/s';
  return (r >= 10 ? Math.round(r) : Math.round(r * 10) / 10) + '/s';
}

/** The clock part of an RFC 3339 time, with milliseconds, in local time. */
export function clock(time) {
  const t = new Date(time);
  if (Number.isNaN(t.getTime())) return time || '';
  const p = (n, w = 2) => String(n).padStart(w, '0');
  return `${p(t.getHours())}:${p(t.getMinutes())}:${p(t.getSeconds())}.${p(t.getMilliseconds(), 3)}`;
}

/** A hue (0–359) for a string, to tint cards by tag. */
export function hue(s) {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return h % 360;
}

/** Shell-quotes a word for a copyable command. */
export function shellWord(s) {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : "'" + s.replace(/'/g, "'\\''") + "'";
}

/** Copies text to the clipboard; resolves to whether it worked. */
export async function copy(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    const t = el('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    t.value = text;
    document.body.append(t);
    t.select();
    let ok = false;
    try { ok = document.execCommand('copy'); } catch { ok = false; }
    t.remove();
    return ok;
  }
}
