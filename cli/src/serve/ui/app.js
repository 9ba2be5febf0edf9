// The page's entry: takes a `?token=` out of the address, sets the theme, wires the token
// prompt, and shows the pool list (/ui) or one pool (/ui/pools/{pool}).

import { takeTokenFromUrl, onTokenNeeded, setToken, token } from './api.js';
import { listView } from './list.js';
import { poolView } from './pool.js';

const $ = (id) => document.getElementById(id);
const THEME = 'plasmite.theme';

/** light, dark, or the system's (no choice stored). */
function applyTheme(choice) {
  const root = document.documentElement;
  if (choice === 'light' || choice === 'dark') root.dataset.theme = choice;
  else delete root.dataset.theme;
  const dark = choice ? choice === 'dark' : matchMedia('(prefers-color-scheme: dark)').matches;
  const b = $('theme');
  b.setAttribute('aria-pressed', String(dark));
  b.title = dark ? 'Switch to the light theme' : 'Switch to the dark theme';
}

function setupTheme() {
  let choice = null;
  try { choice = localStorage.getItem(THEME); } catch { choice = null; }
  applyTheme(choice);
  // Without a choice the page follows the system's, also when it changes.
  matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    let kept = null;
    try { kept = localStorage.getItem(THEME); } catch { kept = null; }
    applyTheme(kept);
  });
  $('theme').addEventListener('click', () => {
    const dark = $('theme').getAttribute('aria-pressed') === 'true';
    const next = dark ? 'light' : 'dark';
    try { localStorage.setItem(THEME, next); } catch { /* not kept */ }
    applyTheme(next);
  });
}

/**
 * The token dialog: every request refused with 401 waits for the same promise, resolved
 * once a token was entered (kept in sessionStorage). Escape closes the dialog without one;
 * the next 401 or the banner's button opens it again.
 */
function setupToken() {
  const dialog = $('token-dialog');
  const input = $('token-input');
  let waiting = null;
  let resolveWith = null;
  onTokenNeeded((err) => {
    if (!waiting) waiting = new Promise((resolve) => { resolveWith = resolve; });
    if (!dialog.open) {
      $('token-reason').textContent = token()
        ? `The server refused the token (${err.message}). Enter the right one.`
        : 'This server needs a bearer token to read its pools.';
      input.value = '';
      dialog.showModal();
      input.focus();
    }
    return waiting;
  });
  $('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const t = input.value.trim();
    if (!t) return;
    setToken(t);
    dialog.close();
    $('token-btn').hidden = false;
    const resolve = resolveWith;
    waiting = null;
    resolveWith = null;
    if (resolve) resolve();
  });
  $('token-btn').hidden = !token();
  $('token-btn').addEventListener('click', () => {
    setToken('');
    location.reload();
  });
}

function main() {
  takeTokenFromUrl();
  setupTheme();
  setupToken();
  const m = location.pathname.match(/^\/ui\/pools\/([^/]+)\/?$/);
  if (m) {
    $('pool-view').hidden = false;
    poolView(decodeURIComponent(m[1]));
  } else {
    $('list-view').hidden = false;
    listView();
  }
}

main();
