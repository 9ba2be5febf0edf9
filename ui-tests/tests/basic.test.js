// The pool list and the live pool view against a plain loopback server.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pools, serve, browser, feed, shownSeqs, pls } from './harness.js';

test('the pool list shows every pool with its counts and live rate, sortable and searchable', async (t) => {
  const { root, dir } = pools(t, { alpha: 0, beta: '2M', gamma: 0 });
  for (let i = 0; i < 3; i++) feed(dir, 'alpha', { i });
  feed(dir, 'beta', { hello: 'world' });
  const srv = await serve(t, root);
  const { page, errors } = await browser(t);
  const elsewhere = [];
  page.on('request', (r) => { if (!r.url().startsWith(srv.url + '/')) elsewhere.push(r.url()); });
  await page.addInitScript(() => {
    window.violations = [];
    document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective));
  });
  await page.goto(srv.url + '/ui');
  await page.waitForSelector('#pool-rows tr[data-pool="gamma"]');
  const rows = await page.$$eval('#pool-rows tr', (trs) => trs.map((tr) => [tr.dataset.pool, tr.querySelector('[data-col=count]').textContent]));
  assert.deepEqual(rows, [['alpha', '3'], ['beta', '1'], ['gamma', '0']]);
  // sorted by a column: messages, most first
  await page.click('#pool-table th button[data-sort=count]');
  assert.deepEqual(await page.$$eval('#pool-rows tr', (trs) => trs.map((tr) => tr.dataset.pool)), ['alpha', 'beta', 'gamma']);
  assert.equal(await page.getAttribute('#pool-table th:has(button[data-sort=count])', 'aria-sort'), 'descending');
  // the live rate: messages appended between two polls
  await page.waitForFunction(() => document.querySelector('#pool-rows tr[data-pool=alpha] [data-col=rate]').textContent === '0/s');
  pls(dir, ['feed', 'alpha'], Array.from({ length: 50 }, (_, i) => `{"burst":${i}}`).join('\n') + '\n');
  await page.waitForFunction(() => /^[1-9]/.test(document.querySelector('#pool-rows tr[data-pool=alpha] [data-col=rate]').textContent), null, { timeout: 5000 });
  await page.fill('#pool-search', 'be');
  assert.deepEqual(await page.$$eval('#pool-rows tr', (trs) => trs.map((tr) => tr.dataset.pool)), ['beta']);
  await page.click('#pool-rows a');
  await page.waitForSelector('#cards li[data-seq="1"]');
  assert.deepEqual(await page.evaluate(() => window.violations), [], 'no Content-Security-Policy violation');
  assert.deepEqual(elsewhere, [], 'nothing fetched from another origin');
  assert.deepEqual(errors, []);
});

test('a message fed with pls feed appears in the pool view within 1 s', async (t) => {
  const { root, dir } = pools(t, { chat: 0 });
  feed(dir, 'chat', { text: 'before' });
  const srv = await serve(t, root);
  const { page, errors } = await browser(t);
  await page.goto(srv.url + '/ui/pools/chat');
  await page.waitForSelector('#cards li[data-seq="1"]');
  await page.waitForSelector('#pill[data-state="live"]');
  const t0 = Date.now();
  const seq = feed(dir, 'chat', { text: 'hello from feed' }, ['greeting']);
  await page.waitForSelector(`#cards li[data-seq="${seq}"]`, { timeout: 1000 });
  const took = Date.now() - t0;
  assert.ok(took < 1000, `took ${took} ms`);
  assert.deepEqual(await shownSeqs(page), [2, 1], 'newest on top');
  const card = page.locator('#cards li[data-seq="2"]');
  assert.match(await card.textContent(), /hello from feed/);
  assert.equal(await card.locator('.chip').textContent(), 'greeting');
  await card.locator('summary .preview').click();
  await page.waitForSelector('#cards li[data-seq="2"] pre');
  const pretty = JSON.parse(await card.locator('pre').textContent());
  assert.equal(pretty.data.text, 'hello from feed');
  // the copy buttons: the JSON, and the command that fetches it
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.url });
  await card.locator('button[data-copy=json]').click();
  await page.waitForFunction(() => document.querySelector('#cards li[data-seq="2"] .copied').textContent === 'Copied.');
  assert.equal(JSON.parse(await page.evaluate(() => navigator.clipboard.readText())).seq, 2);
  await card.locator('button[data-copy=cmd]').click();
  await page.waitForFunction(async () => (await navigator.clipboard.readText()).startsWith('pls fetch'));
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), 'pls fetch chat 2');
  assert.deepEqual(errors, []);
});
