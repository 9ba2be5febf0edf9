// Test harness: temporary pool directories, `pls` commands, `pls serve` on a free loopback
// port (PLASMITE_SERVE_READY_FILE tells the address), and Debian's chromium, headless, with
// a fresh profile, driven by playwright-core.

import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(here, '..', '..');
export const PLS = process.env.PLS || join(process.env.CARGO_TARGET_DIR || join(ROOT, 'target'), 'debug', 'pls');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/** A temporary directory, removed by `cleanup`. */
export function tempDir(t) {
  const d = mkdtempSync(join(tmpdir(), 'pls-ui-'));
  t.after(() => rmSync(d, { recursive: true, force: true }));
  return d;
}

/** Runs `pls --dir DIR ARGS…`, returning stdout. */
export function pls(dir, args, input) {
  return execFileSync(PLS, ['--dir', dir, ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

/** `pls feed POOL JSON [--tag T]…`, returning the appended sequence. */
export function feed(dir, pool, data, tags = []) {
  const out = pls(dir, ['feed', pool, JSON.stringify(data), ...tags.flatMap((t) => ['--tag', t])]);
  return JSON.parse(out).seq;
}

/**
 * Starts `pls serve --bind BIND ARGS…` over `dir/pools` (BIND: `127.0.0.1:0` unless given);
 * resolves to {url, addr, stop}.
 */
export async function serve(t, dir, args = [], bind = '127.0.0.1:0') {
  const ready = join(dir, `ready-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const child = spawn(PLS, ['--dir', join(dir, 'pools'), 'serve', '--bind', bind, ...args], {
    env: { ...process.env, PLASMITE_SERVE_READY_FILE: ready, PLASMITE_LOG: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (b) => { log += b; });
  const stop = () => new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once('exit', res);
    child.kill('SIGTERM');
  });
  t.after(stop);
  for (let i = 0; i < 200; i++) {
    if (existsSync(ready)) {
      const addr = readFileSync(ready, 'utf8').trim();
      if (addr) return { url: `http://${addr}`, addr, stop, log: () => log, child };
    }
    if (child.exitCode !== null) throw new Error('pls serve exited: ' + log);
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('pls serve did not get ready: ' + log);
}

/** A pool directory `DIR/pools` with `pools` created ({name: size}). */
export function pools(t, spec) {
  const root = tempDir(t);
  const dir = join(root, 'pools');
  for (const [name, size] of Object.entries(spec)) {
    pls(dir, ['pool', 'create', name, ...(size ? ['--size', String(size)] : [])]);
  }
  return { root, dir };
}

/** Debian's chromium, headless, fresh profile; closed after the test. */
export async function browser(t) {
  const profile = mkdtempSync(join(tmpdir(), 'pls-ui-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--disable-quic', '--no-first-run', '--disable-dev-shm-usage',
    ],
    viewport: { width: 1280, height: 800 },
  });
  t.after(async () => {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || (await context.newPage());
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  return { context, page, errors };
}

/** The sequence numbers of the rendered cards, top to bottom. */
export async function shownSeqs(page) {
  return page.$$eval('#cards > li', (ls) => ls.map((l) => Number(l.dataset.seq)));
}

export { writeFileSync, join };
