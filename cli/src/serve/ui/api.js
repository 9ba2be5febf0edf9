// The server's data routes: requests with the bearer token, errors as values, the token
// prompt on 401, and /healthz (what the server allows).

const KEY = 'plasmite.token';

/** The token of this tab, if one was given. */
export function token() {
  try { return sessionStorage.getItem(KEY) || ''; } catch { return ''; }
}

/** Keeps the token for this tab only (sessionStorage), or forgets it. */
export function setToken(t) {
  try {
    if (t) sessionStorage.setItem(KEY, t);
    else sessionStorage.removeItem(KEY);
  } catch { /* storage disabled: the token lives until the page reloads */ memoryToken = t; }
}
let memoryToken = '';

/** Takes `?token=` from the address: kept like a typed token, then removed from the URL. */
export function takeTokenFromUrl() {
  const url = new URL(location.href);
  const t = url.searchParams.get('token');
  if (t === null) return;
  setToken(t.trim());
  url.searchParams.delete('token');
  history.replaceState(history.state, '', url.pathname + url.search + url.hash);
}

/** The headers of a request to a /v0 route. */
export function headers(extra) {
  const h = new Headers(extra || {});
  const t = token() || memoryToken;
  if (t) h.set('Authorization', 'Bearer ' + t);
  return h;
}

/** An error answered by the server (or the network). */
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || (status ? 'HTTP ' + status : 'the server cannot be reached'));
    this.status = status;
    this.kind = e.kind || (status ? 'Http' : 'Network');
    this.hint = e.hint || '';
    this.seq = e.seq;
  }
}

/** The ApiError of a failed response. */
export async function errorOf(resp) {
  let body = null;
  try { body = await resp.json(); } catch { body = null; }
  return new ApiError(resp.status, body);
}

// Who asks for a token when the server answers 401 (set by the app).
let prompt = null;
/**
 * Sets the function that asks the user for a token: it resolves once one was given, and
 * returns the same promise to every request waiting meanwhile.
 */
export function onTokenNeeded(f) { prompt = f; }
/** Asks for a token. */
export function askToken(err) {
  return prompt ? prompt(err) : Promise.reject(err);
}

/** fetch() of a /v0 route with the token; 401 asks for one and tries again. */
export async function request(path, init = {}) {
  for (;;) {
    let resp;
    try {
      resp = await fetch(path, { ...init, headers: headers(init.headers) });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, null);
    }
    if (resp.status === 401) {
      await askToken(await errorOf(resp));
      continue;
    }
    if (!resp.ok) throw await errorOf(resp);
    return resp;
  }
}

/** GET a JSON route. */
export async function getJson(path, init) {
  return (await request(path, init)).json();
}

/** POST a JSON body. */
export async function postJson(path, body) {
  const resp = await request(path, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return resp.json();
}

let health = null;
/** GET /healthz, once: {access, auth, …}; servers without the extension count as read-write. */
export async function server() {
  if (!health) {
    health = fetch('/healthz')
      .then((r) => (r.ok ? r.json() : {}))
      .catch(() => ({}))
      .then((h) => ({ access: h.access || 'read-write', auth: !!h.auth, features: h.features || [] }));
  }
  return health;
}

/** The path of a pool's data route. */
export function poolPath(pool, rest) {
  return '/v0/ui/pools/' + encodeURIComponent(pool) + (rest || '');
}
