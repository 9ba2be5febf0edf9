// The pool view: pause and resume, filters sent to the server, jump, gaps, keys.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pools, serve, browser, feed, shownSeqs, pls } from './harness.js';

async function open(t, spec, setup, args = []) {
  const { root, dir } = pools(t, spec);
  setup(dir);
  const srv = await serve(t, root, args);
  const b = await browser(t);
  return { root, dir, srv, ...b };
}

test('pause stops new cards, counts them, and resume shows them in order', async (t) => {
  const { dir, srv, page, errors } = await open(t, { chat: 0 }, (d) => feed(d, 'chat', { n: 1 }));
  await page.goto(srv.url + '/ui/pools/chat');
  await page.waitForSelector('#cards li[data-seq="1"]');
  await page.waitForSelector('#pill[data-state="live"]');
  // space pauses (focus on the page, not a field)
  await page.locator('#pool-title').click();
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('#pause', 'aria-pressed'), 'true');
  for (let i = 2; i <= 4; i++) feed(dir, 'chat', { n: i });
  await page.waitForFunction(() => document.getElementById('new-count').textContent === '3 new');
  assert.equal(await page.isVisible('#new-count'), true);
  assert.deepEqual(await shownSeqs(page), [1], 'no new card while paused');
  await page.click('#pause');
  await page.waitForSelector('#cards li[data-seq="4"]');
  assert.deepEqual(await shownSeqs(page), [4, 3, 2, 1]);
  assert.equal(await page.isVisible('#new-count'), false);
  // the other keys: / focuses the filter, g the jump field
  await page.locator('#pool-title').click();
  await page.keyboard.press('/');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'where-input');
  await page.keyboard.press('Escape');
  await page.keyboard.press('g');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'jump-input');
  assert.deepEqual(errors, []);
});

test('a tag chip and a where expression hide what does not match; a bad expression shows its error', async (t) => {
  const { srv, page, errors } = await open(t, { logs: 0 }, (d) => {
    feed(d, 'logs', { level: 'info', n: 1 }, ['web']);
    feed(d, 'logs', { level: 'error', n: 2 }, ['web', 'alert']);
    feed(d, 'logs', { level: 'error', n: 3 }, ['db']);
    feed(d, 'logs', { level: 'info', n: 4 }, ['db']);
  });
  await page.goto(srv.url + '/ui/pools/logs');
  await page.waitForSelector('#cards li[data-seq="4"]');
  // clicking the chip "db" on a card filters by it
  await page.locator('#cards li[data-seq="3"] .chip', { hasText: 'db' }).click();
  await page.waitForFunction(() => document.querySelectorAll('#cards li').length === 2);
  assert.deepEqual(await shownSeqs(page), [4, 3]);
  assert.match(page.url(), /tag=db/);
  // and a where expression narrows further, on the server
  await page.fill('#where-input', '.data.level == "error"');
  await page.click('#filter-form button[type=submit]');
  await page.waitForFunction(() => document.querySelectorAll('#cards li').length === 1);
  assert.deepEqual(await shownSeqs(page), [3]);
  // removing the tag chip keeps the expression
  await page.click('#tag-chips button[data-tag="db"]');
  await page.waitForFunction(() => document.querySelectorAll('#cards li').length === 2);
  assert.deepEqual(await shownSeqs(page), [3, 2]);
  // a bad expression: the server's error, inline
  await page.fill('#where-input', '.data.level ==');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.getElementById('filter-error').textContent.length > 0);
  assert.match(await page.textContent('#filter-error'), /invalid filter expression/);
  assert.equal(await page.getAttribute('#where-input', 'aria-invalid'), 'true');
  assert.deepEqual(errors.filter((e) => !/400/.test(e)), []);
});

test('jump to a seq shows that message; an evicted one shows the retention gap banner', async (t) => {
  // a 64 KiB pool keeps a few hundred small messages; write enough to evict the first ones
  const { dir, srv, page } = await open(t, { ring: '64K' }, (d) => {
    const lines = Array.from({ length: 1500 }, (_, i) => JSON.stringify({ i: i + 1, pad: 'x'.repeat(40) })).join('\n');
    pls(d, ['feed', 'ring'], lines + '\n');
  }, []);
  const info = JSON.parse(pls(dir, ['pool', 'info', 'ring', '--json']));
  const { oldest, newest } = info.bounds;
  assert.ok(oldest > 1, 'the pool wrapped');
  await page.goto(srv.url + '/ui/pools/ring?n=50');
  await page.waitForSelector(`#cards li[data-seq="${newest}"]`);
  const target = oldest + 50;
  await page.fill('#jump-input', String(target));
  await page.keyboard.press('Enter');
  await page.waitForSelector(`#cards li.target[data-seq="${target}"]`);
  const seqs = await shownSeqs(page);
  assert.ok(seqs.length <= 50 && seqs.includes(target - 10) && seqs.includes(target + 10), String(seqs));
  assert.equal(await page.getAttribute('#pill', 'data-state'), 'window');
  // an evicted sequence: the window starts at the oldest, with a gap banner
  await page.fill('#jump-input', '1');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#banners [data-key="gap"]');
  assert.match(await page.textContent('#banners [data-key="gap"]'), new RegExp(`${(oldest - 1).toLocaleString("en-US")} messages from #1 were evicted`));
  await page.waitForSelector(`#cards li[data-seq="${oldest}"]`);
  // back to live
  await page.click('#live-btn');
  await page.waitForSelector(`#cards li[data-seq="${newest}"]`);
  await page.waitForSelector('#pill[data-state="live"]');
});

test('jump to a time shows the first message at or after it', async (t) => {
  const { dir, srv, page } = await open(t, { timed: 0 }, (d) => {
    for (let i = 1; i <= 5; i++) feed(d, 'timed', { i });
  });
  const third = JSON.parse(pls(dir, ['fetch', 'timed', '3']));
  await page.goto(srv.url + '/ui/pools/timed');
  await page.waitForSelector('#cards li[data-seq="5"]');
  await page.fill('#jump-input', third.time);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#cards li.target[data-seq="3"]');
});
