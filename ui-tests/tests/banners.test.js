// Banners for what interrupts a stream: a lost connection (and the resumption after it, with
// nothing lost) and the server's limit of concurrent streams.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pools, serve, browser, feed, shownSeqs } from './harness.js';

test('a lost connection shows its banner, and the stream resumes after the last seq seen', async (t) => {
  const { root, dir } = pools(t, { chat: 0 });
  feed(dir, 'chat', { n: 1 });
  const first = await serve(t, root);
  const { page, errors } = await browser(t);
  await page.goto(first.url + '/ui/pools/chat');
  await page.waitForSelector('#cards li[data-seq="1"]');
  await page.waitForSelector('#pill[data-state="live"]');
  await first.stop();
  await page.waitForSelector('#banners [data-key="conn"].warn');
  assert.match(await page.textContent('#banners [data-key="conn"]'), /Connection lost/);
  assert.equal(await page.getAttribute('#pill', 'data-state'), 'reconnecting');
  feed(dir, 'chat', { n: 2 });
  feed(dir, 'chat', { n: 3 });
  await serve(t, root, [], first.addr);
  await page.waitForSelector('#cards li[data-seq="3"]', { timeout: 15000 });
  assert.deepEqual(await shownSeqs(page), [3, 2, 1], 'each message once, in order');
  assert.match(await page.textContent('#banners [data-key="conn"]'), /Reconnected; resumed after #1/);
  assert.equal(await page.getAttribute('#pill', 'data-state'), 'live');
  // the browser logs the refused connections; nothing else
  assert.deepEqual(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource|fetch/i.test(e)), []);
});

test('the server\'s limit of concurrent streams shows its banner until a place frees', async (t) => {
  const { root, dir } = pools(t, { chat: 0 });
  feed(dir, 'chat', { n: 1 });
  const srv = await serve(t, root, ['--max-tail-concurrency', '1']);
  const { context, page } = await browser(t);
  await page.goto(srv.url + '/ui/pools/chat');
  await page.waitForSelector('#cards li[data-seq="1"]');
  const other = await context.newPage();
  await other.goto(srv.url + '/ui/pools/chat');
  await other.waitForSelector('#banners [data-key="limit"]');
  assert.match(await other.textContent('#banners [data-key="limit"]'), /limit of concurrent streams/);
  assert.equal(await other.getAttribute('#banners [data-key="limit"]', 'role'), 'alert');
  // the first page leaves: the second gets the place and streams
  await page.close();
  await other.waitForSelector('#cards li[data-seq="1"]', { timeout: 20000 });
  await other.waitForSelector('#banners [data-key="limit"]', { state: 'detached' });
});
