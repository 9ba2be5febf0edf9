// Banners above the page: one per subject (a gap, the connection, the server's limit, auth),
// replaced when the subject comes up again and dismissable. Errors are announced as alerts,
// the rest politely.

import { el } from './format.js';

const timers = new Map();

/**
 * Shows (or replaces) the banner `key`: `level` is info|ok|warn|error, `action` an optional
 * {label, run}, `ttl` an optional lifetime in ms.
 */
export function banner(key, level, text, action, ttl) {
  const box = document.getElementById('banners');
  let b = box.querySelector(`[data-key="${key}"]`);
  const role = level === 'error' ? 'alert' : 'status';
  if (!b) {
    b = el('div', { 'data-key': key });
    box.append(b);
  }
  b.className = 'banner ' + level;
  b.setAttribute('role', role);
  b.textContent = '';
  b.append(el('span', { class: 'text' }, text));
  if (action) b.append(el('button', { type: 'button', onclick: action.run }, action.label));
  b.append(el('button', { type: 'button', class: 'dismiss', 'aria-label': 'Dismiss', onclick: () => dismiss(key) }, '×'));
  clearTimeout(timers.get(key));
  if (ttl) timers.set(key, setTimeout(() => dismiss(key), ttl));
}

/** Removes the banner `key`, if shown. */
export function dismiss(key) {
  const b = document.querySelector(`#banners [data-key="${key}"]`);
  if (b) b.remove();
  clearTimeout(timers.get(key));
}
