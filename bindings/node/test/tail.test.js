"use strict";
// Local tails: for await, break, idle timeouts, filters, gaps, messages from other processes,
// and waits that never block the event loop.

const assert = require("node:assert");
const { spawn } = require("node:child_process");
const fsp = require("node:fs/promises");
const { test } = require("node:test");
const { Client, PlasmiteNativeError } = require("..");
const { PLS, scratch } = require("./helpers");

function fresh(size = 1 << 20) {
  const dir = scratch();
  const client = new Client(dir);
  return { dir, client, pool: client.createPool("p", size) };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

test("for await reads history then live messages, and break ends the tail", async () => {
  const { pool } = fresh();
  pool.append({ n: 1 });
  pool.append({ n: 2 });
  setTimeout(() => pool.append({ n: 3 }), 50);
  const seen = [];
  for await (const m of pool.tail()) {
    seen.push(m.data.n);
    if (m.data.n === 3) break;
  }
  assert.deepEqual(seen, [1, 2, 3]);
});

test("break while the tail waits cancels the wait at once", async () => {
  const { pool } = fresh();
  const tail = pool.tail();
  const t = Date.now();
  setTimeout(() => tail.cancel(), 50);
  const r = await tail.next();
  assert.deepEqual(r, { value: undefined, done: true });
  assert.ok(Date.now() - t < 500, "cancelled promptly");
  // `return()` (what break calls) likewise.
  const other = pool.tail();
  const pending = other.next();
  await sleep(20);
  await other.return();
  assert.equal((await pending).done, true);
});

test("the event loop keeps running while a tail waits", async () => {
  const { pool } = fresh();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  setTimeout(() => pool.append({ late: true }), 300);
  const t = Date.now();
  const it = pool.tail();
  const { value } = await it.next();
  const waited = Date.now() - t;
  clearInterval(timer);
  await it.return();
  assert.deepEqual(value.data, { late: true });
  assert.ok(waited >= 250, `waited ${waited} ms`);
  assert.ok(ticks >= 20, `the timer fired ${ticks} times while the tail waited`);
});

test("many waiting tails hold no worker threads: file I/O still completes", async () => {
  const { pool } = fresh();
  const tails = Array.from({ length: 16 }, () => pool.tail());
  const pending = tails.map((t) => t.next());
  await sleep(20);
  const t = Date.now();
  await Promise.all(Array.from({ length: 8 }, () => fsp.readFile(__filename)));
  assert.ok(Date.now() - t < 1000, "the libuv pool is free");
  pool.append({ all: true });
  const results = await Promise.all(pending);
  for (const r of results) assert.deepEqual(r.value.data, { all: true });
  await Promise.all(tails.map((x) => x.return()));
});

test("a message fed by pls in another process reaches a waiting tail", async () => {
  const { dir, pool } = fresh();
  const it = pool.tail({ timeoutMs: 10000 });
  const next = it.next();
  await sleep(50);
  const feed = spawn(PLS, ["--dir", dir, "feed", "p", "--tag", "cli"], { stdio: ["pipe", "ignore", "pipe"] });
  let stderr = "";
  feed.stderr.on("data", (d) => (stderr += d));
  feed.stdin.end('{"from":"pls"}\n');
  const code = await new Promise((r) => feed.on("exit", r));
  assert.equal(code, 0, stderr);
  const { value } = await next;
  assert.deepEqual(value.data, { from: "pls" });
  assert.deepEqual([...value.tags], ["cli"]);
  await it.return();
});

test("maxMessages, timeoutMs, sinceSeq, tags and where select and end tails", async () => {
  const { pool } = fresh();
  for (let i = 1; i <= 6; i++) pool.append({ i }, i % 2 ? ["odd"] : ["even"]);
  const collect = async (opts) => {
    const out = [];
    for await (const m of pool.tail(opts)) out.push(m.data.i);
    return out;
  };
  assert.deepEqual(await collect({ maxMessages: 2 }), [1, 2]);
  assert.deepEqual(await collect({ sinceSeq: 5n, timeoutMs: 50 }), [5, 6]);
  assert.deepEqual(await collect({ tags: ["odd"], timeoutMs: 50 }), [1, 3, 5]);
  assert.deepEqual(await collect({ tags: "even", maxMessages: 2 }), [2, 4]);
  assert.deepEqual(await collect({ where: ".data.i > 4", timeoutMs: 50 }), [5, 6]);
  assert.deepEqual(await collect({ where: [".data.i > 1", ".data.i < 3"], maxMessages: 1 }), [2]);
  const t = Date.now();
  assert.deepEqual(await collect({ sinceSeq: 7, timeoutMs: 100 }), []);
  const idle = Date.now() - t;
  assert.ok(idle >= 90 && idle < 1000, `ended after ${idle} ms idle`);
  assert.throws(() => pool.tail({ maxMessages: -1 }), RangeError);
  assert.throws(() => pool.tail({ timeoutMs: "soon" }), TypeError);
  assert.throws(() => pool.tail({ where: 5 }), TypeError);
  assert.throws(() => pool.tail({ where: ".data |||" }), (e) => e instanceof PlasmiteNativeError && e.kind === "Usage");
});

test("the inactivity timeout restarts with every message", async () => {
  const { pool } = fresh();
  let n = 0;
  const timer = setInterval(() => pool.append({ n: ++n }), 40);
  const seen = [];
  for await (const m of pool.tail({ timeoutMs: 150 })) {
    seen.push(m.data.n);
    if (seen.length === 8) clearInterval(timer);
  }
  clearInterval(timer);
  assert.ok(seen.length >= 8, `saw ${seen.length}`);
});

test("errorOnGap ends a tail with a RetentionGap error naming the first missing seq", async () => {
  const { pool } = fresh(64 * 1024);
  for (let i = 0; i < 200; i++) pool.append({ i, pad: "x".repeat(1000) });
  await assert.rejects(
    (async () => {
      for await (const m of pool.tail({ sinceSeq: 1, errorOnGap: true })) void m;
    })(),
    (e) => e instanceof PlasmiteNativeError && e.kind === "RetentionGap" && e.seq === 1,
  );
  const first = await pool.tail({ sinceSeq: 1 }).next();
  assert.equal(first.value.seq, BigInt(pool.info().bounds.oldest), "without it, gaps are skipped");
});

test("concurrent next() calls get messages in order, each once", async () => {
  const { pool } = fresh();
  const it = pool.tail();
  const pending = [it.next(), it.next(), it.next()];
  pool.append({ k: 1 });
  await sleep(20);
  pool.append({ k: 2 });
  pool.append({ k: 3 });
  const got = (await Promise.all(pending)).map((r) => r.value.data.k);
  assert.deepEqual(got, [1, 2, 3]);
  await it.return();
});

test("large histories arrive complete and in order across batches", async () => {
  const { pool } = fresh(8 << 20);
  const N = 5000;
  for (let i = 0; i < N; i++) pool.appendJson(`{"i":${i}}`);
  let expect = 0;
  for await (const m of pool.tail({ maxMessages: N })) {
    assert.equal(m.data.i, expect);
    assert.equal(m.seq, BigInt(expect + 1));
    expect++;
  }
  assert.equal(expect, N);
  const raw = (await pool.tail({ sinceSeq: 42 }).next()).value.raw;
  assert.deepEqual(JSON.parse(raw), JSON.parse(pool.getJson(42)), "raw is the envelope's bytes");
  assert.match(raw.toString(), /^\{"data":\{"i":41\},"meta":\{"tags":\[\]\},"seq":42,"time":"[^"]+"\}$/);
});

test("each message of a batch keeps its own tags, time, data and raw envelope", async () => {
  const { pool } = fresh(8 << 20);
  const tagSets = [[], ["a"], ["a"], ["é", 'q"uote'], [], ["a", "b"]];
  const N = 1500;
  for (let i = 0; i < N; i++) {
    pool.append({ i, s: i % 7 === 0 ? "ünï\u2028\"x\"" : "plain", big: 2 ** 60 }, tagSets[i % tagSets.length]);
  }
  let i = 0;
  for await (const m of pool.tail({ maxMessages: N })) {
    const stored = JSON.parse(pool.getJson(m.seq));
    assert.equal(m.seq, BigInt(i + 1));
    assert.deepEqual(m.tags, tagSets[i % tagSets.length]);
    assert.ok(Object.isFrozen(m.tags));
    assert.deepEqual(m.data, stored.data);
    assert.equal(m.timeRfc3339, stored.time);
    assert.equal(m.time.getTime(), Date.parse(stored.time));
    assert.deepEqual(JSON.parse(m.raw), stored);
    assert.ok(m.raw.toString().startsWith('{"data":'), "raw keeps the envelope's sorted keys");
    i++;
  }
  assert.equal(i, N);
});
