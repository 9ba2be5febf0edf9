// Tokens and access modes: the token prompt, ?token= in the address, the append form only
// where writes are allowed.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pools, serve, browser, feed } from './harness.js';

test('with a token-protected server the page asks for the token, then streams', async (t) => {
  const { root, dir } = pools(t, { secret: 0 });
  feed(dir, 'secret', { n: 1 });
  const srv = await serve(t, root, ['--token', 'letmein']);
  const { page } = await browser(t);
  await page.goto(srv.url + '/ui/pools/secret');
  await page.waitForSelector('#token-dialog[open]');
  await page.fill('#token-input', 'wrong');
  await page.click('#token-form button[type=submit]');
  // a wrong token is refused and asked again
  await page.waitForFunction(() => document.getElementById('token-dialog').open && /refused/.test(document.getElementById('token-reason').textContent));
  await page.fill('#token-input', 'letmein');
  await page.click('#token-form button[type=submit]');
  await page.waitForSelector('#cards li[data-seq="1"]');
  feed(dir, 'secret', { n: 2 });
  await page.waitForSelector('#cards li[data-seq="2"]', { timeout: 2000 });
  assert.equal(await page.evaluate(() => sessionStorage.getItem('plasmite.token')), 'letmein');
  assert.equal(await page.isVisible('#token-dialog'), false);
});

test('?token= is used, kept for the tab and removed from the address bar', async (t) => {
  const { root, dir } = pools(t, { secret: 0, other: 0 });
  feed(dir, 'secret', { n: 1 });
  const srv = await serve(t, root, ['--token', 'letmein']);
  const { page } = await browser(t);
  await page.goto(srv.url + '/ui?token=letmein');
  await page.waitForSelector('#pool-rows tr[data-pool="secret"]');
  assert.equal(new URL(page.url()).search, '');
  assert.equal(await page.isVisible('#token-dialog'), false);
  await page.click('#pool-rows a >> text=secret');
  await page.waitForSelector('#cards li[data-seq="1"]');
  assert.equal(await page.isVisible('#token-dialog'), false);
});

test('the append form appends, and is absent on a read-only server', async (t) => {
  const { root } = pools(t, { inbox: 0 });
  const srv = await serve(t, root);
  const { page, errors } = await browser(t);
  await page.goto(srv.url + '/ui/pools/inbox');
  await page.waitForSelector('#append-box:not([hidden])');
  await page.click('#append-box summary');
  await page.fill('#append-data', '{"oops": ');
  assert.equal(await page.isDisabled('#append-submit'), true);
  assert.match(await page.textContent('#append-check'), /Not valid JSON/);
  await page.fill('#append-data', '[1, 2]');
  assert.match(await page.textContent('#append-check'), /must be a JSON object/);
  await page.fill('#append-data', '{"hello": "from the browser"}');
  await page.fill('#append-tags', 'web, test');
  await page.selectOption('#append-durability', 'flush');
  await page.click('#append-submit');
  await page.waitForFunction(() => /Appended #1/.test(document.getElementById('append-result').textContent));
  await page.waitForSelector('#cards li[data-seq="1"]');
  const card = await page.textContent('#cards li[data-seq="1"]');
  assert.match(card, /from the browser/);
  assert.match(card, /web/);
  assert.deepEqual(errors, []);

  const { root: root2, dir: dir2 } = pools(t, { inbox: 0 });
  feed(dir2, 'inbox', { n: 1 });
  const ro = await serve(t, root2, ['--access', 'read-only']);
  await page.goto(ro.url + '/ui/pools/inbox');
  await page.waitForSelector('#cards li[data-seq="1"]');
  assert.equal(await page.isHidden('#append-box'), true);
  assert.equal(await page.locator('#append-box').getAttribute('hidden'), '');

  // a write-only server: the form, and a banner saying why nothing is shown
  const { root: root3 } = pools(t, { inbox: 0 });
  const wo = await serve(t, root3, ['--access', 'write-only']);
  await page.goto(wo.url + '/ui/pools/inbox');
  await page.waitForSelector('#banners [data-key="access"]');
  assert.equal(await page.isVisible('#append-box'), true);
  await page.click('#append-box summary');
  await page.click('#append-submit');
  await page.waitForFunction(() => /Appended #1/.test(document.getElementById('append-result').textContent));
});
