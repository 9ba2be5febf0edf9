// Themes, phone width, accessibility basics, and the screenshots in docs/ (written by this
// test: the README shows them).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pools, serve, browser, feed, pls, PLS, ROOT } from './harness.js';

const DOCS = join(ROOT, 'docs');

/** A few pools that look like a working system. */
function demo(t) {
  const p = pools(t, { orders: '4M', 'app-logs': '8M', metrics: '2M', chat: 0 });
  const lines = [];
  const levels = ['info', 'info', 'info', 'warn', 'info', 'error'];
  for (let i = 1; i <= 40; i++) {
    lines.push(JSON.stringify({ level: levels[i % levels.length], route: ['/api/orders', '/api/users', '/healthz'][i % 3], status: i % 6 === 5 ? 500 : 200, ms: (i * 37) % 250 }));
  }
  pls(p.dir, ['feed', 'app-logs', '--tag', 'http'], lines.join('\n') + '\n');
  for (let i = 1; i <= 12; i++) feed(p.dir, 'orders', { order: 1030 + i, sku: `SKU-${100 + i}`, qty: (i % 3) + 1, total: Math.round(i * 1937) / 100 }, ['created']);
  feed(p.dir, 'chat', { from: 'alice', text: 'deploy is green' });
  return p;
}

/** Appends to `pool` about `rate` messages/s until stopped, so rates and sparklines move. */
function trickle(dir, pool, rate) {
  const child = spawn(PLS, ['--dir', dir, 'feed', pool, '--tag', 'http'], { stdio: ['pipe', 'ignore', 'ignore'] });
  let n = 0;
  const timer = setInterval(() => {
    const burst = Math.max(1, Math.round((rate / 10) * (0.6 + Math.random() * 0.8)));
    let s = '';
    for (let i = 0; i < burst; i++) {
      n++;
      s += JSON.stringify({ level: n % 9 ? 'info' : 'warn', route: '/api/orders', status: 200, ms: (n * 53) % 180 }) + '\n';
    }
    child.stdin.write(s);
  }, 100);
  return () => { clearInterval(timer); child.stdin.end(); };
}

test('light and dark themes, phone width, labels; screenshots for the README', async (t) => {
  const { root, dir } = demo(t);
  const srv = await serve(t, root);
  let stop = trickle(dir, 'app-logs', 40);
  t.after(() => stop());
  const { page, errors } = await browser(t);
  mkdirSync(DOCS, { recursive: true });

  for (const scheme of ['light', 'dark']) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.goto(srv.url + '/ui');
    await page.waitForSelector('#pool-rows tr[data-pool="orders"]');
    await page.waitForFunction(() => !document.querySelector('[data-col=rate]').textContent.includes('…'));
    await page.waitForTimeout(2200);
    await page.screenshot({ path: join(DOCS, `ui-list-${scheme}.png`) });

    await page.goto(srv.url + '/ui/pools/app-logs');
    await page.waitForSelector('#pill[data-state="live"]');
    await page.waitForTimeout(6000);
    // a quiet moment, then an alert on top, opened
    stop();
    await page.waitForTimeout(300);
    const seq = feed(dir, 'app-logs', { level: 'error', msg: 'payment provider timed out', order: 1042, retry_in_ms: 500 }, ['payments', 'alert']);
    await page.locator(`#cards li[data-seq="${seq}"] summary .preview`).click();
    await page.waitForSelector('#cards pre');
    await page.mouse.move(0, 0);
    await page.screenshot({ path: join(DOCS, `ui-pool-${scheme}.png`) });
    stop = trickle(dir, 'app-logs', 40);
    // text colors keep WCAG AA contrast (4.5:1) on the page and on panels
    const ratios = await page.evaluate(() => {
      const probe = (v) => {
        const d = document.createElement('div');
        d.style.color = `var(${v})`;
        document.body.append(d);
        const c = getComputedStyle(d).color.match(/\d+/g).slice(0, 3).map(Number);
        d.remove();
        return c;
      };
      const lum = (rgb) => {
        const [r, g, b] = rgb.map((x) => { x /= 255; return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * r + 0.7152 * g + 0.0722 * b;
      };
      const ratio = (a, b) => { const [x, y] = [lum(probe(a)), lum(probe(b))].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
      const out = {};
      for (const fg of ['--fg', '--muted', '--accent', '--bad', '--warn', '--ok']) {
        for (const bg of ['--bg', '--panel']) out[`${fg} on ${bg}`] = ratio(fg, bg);
      }
      out['--chip-fg on --chip'] = ratio('--chip-fg', '--chip');
      out['--warn on --warn-bg'] = ratio('--warn', '--warn-bg');
      out['--bad on --bad-bg'] = ratio('--bad', '--bad-bg');
      out['--ok on --ok-bg'] = ratio('--ok', '--ok-bg');
      out['--accent-fg on --accent'] = ratio('--accent-fg', '--accent');
      return out;
    });
    for (const [pair, r] of Object.entries(ratios)) assert.ok(r >= 4.5, `${scheme}: ${pair} is ${r.toFixed(2)}:1`);
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const dark = (rgb) => rgb.match(/\d+/g).slice(0, 3).reduce((a, b) => a + Number(b), 0) < 3 * 128;
    assert.equal(dark(bg), scheme === 'dark', `${scheme} background ${bg}`);
  }

  // the theme button overrides the system's choice, and is remembered
  await page.emulateMedia({ colorScheme: 'light' });
  await page.click('#theme');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  await page.reload();
  await page.waitForSelector('#pill');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  assert.equal(await page.getAttribute('#theme', 'aria-pressed'), 'true');
  await page.click('#theme');

  // every field has a label, every button a name
  const unlabeled = await page.evaluate(() => {
    const out = [];
    for (const f of document.querySelectorAll('input, select, textarea')) {
      if (!(f.labels && f.labels.length) && !f.getAttribute('aria-label')) out.push(f.id || f.outerHTML);
    }
    for (const b of document.querySelectorAll('button')) {
      if (!(b.textContent.trim() || b.getAttribute('aria-label'))) out.push(b.outerHTML);
    }
    return out;
  });
  assert.deepEqual(unlabeled, []);

  // at phone width nothing overflows sideways, and the stream is there
  await page.setViewportSize({ width: 360, height: 740 });
  await page.goto(srv.url + '/ui/pools/app-logs');
  await page.waitForSelector('#cards li');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scroll');
  await page.screenshot({ path: join(DOCS, 'ui-pool-phone.png') });
  await page.goto(srv.url + '/ui');
  await page.waitForSelector('#pool-rows tr');
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 360), 'no sideways scroll on the list');
  assert.deepEqual(errors, []);
});
