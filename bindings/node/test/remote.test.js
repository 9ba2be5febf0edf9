"use strict";
// The remote client against `pls serve`: pool lifecycle, appends, reads, tails (filters,
// reconnects, gaps), tokens, and the server's real JSON shapes.

const assert = require("node:assert");
const { after, before, test } = require("node:test");
const { Durability, Message, RemoteClient, RemoteError, RemotePool, RemoteTail } = require("..");
const { pls, scratch, serve } = require("./helpers");

let dir;
let server;
let client;
let n = 0;
const name = () => `r${++n}`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  dir = scratch();
  // Short server-side tails, so tails here must reconnect to go on.
  server = await serve(dir, ["--max-tail-timeout-ms", "300"]);
  client = new RemoteClient(server.url);
});

after(async () => {
  await server.stop();
});

async function rejectsWith(promise, check) {
  await assert.rejects(promise, (e) => {
    assert.ok(e instanceof RemoteError, `a RemoteError, got ${e}`);
    check(e);
    return true;
  });
}

test("base URLs must be http(s) without a path", () => {
  assert.throws(() => new RemoteClient("ftp://x"), /http or https/);
  assert.throws(() => new RemoteClient("http://x/y"), /must not include a path/);
  const c = new RemoteClient("http://127.0.0.1:1/?q=1#f", { token: "t" });
  assert.equal(c.baseUrl.href, "http://127.0.0.1:1/");
  assert.equal(c.token, "t");
  assert.equal(c.withToken("u"), c);
  assert.equal(c.token, "u");
});

test("pools are created, listed, described, opened and deleted with the server's shapes", async () => {
  const p = name();
  const info = await client.createPool(p, 2 * 1024 * 1024);
  assert.equal(info.name, p);
  assert.equal(info.file_size, 2 * 1024 * 1024);
  assert.deepEqual(info.bounds, {});
  for (const k of ["path", "index_offset", "index_capacity", "index_size_bytes", "ring_offset", "ring_size"]) {
    assert.ok(k in info, `info has ${k}`);
  }
  assert.equal(info.metrics.message_count, 0);
  const listed = await client.listPools();
  assert.ok(listed.some((x) => x.name === p));
  const pool = await client.openPool(p);
  assert.ok(pool instanceof RemotePool);
  assert.equal(pool.poolRef(), p);
  await pool.append({ a: 1 });
  const after1 = await client.poolInfo(p);
  assert.deepEqual(after1.bounds, { newest: 1, oldest: 1 });
  assert.deepEqual((await pool.info()).bounds, after1.bounds);
  await rejectsWith(client.createPool(p), (e) => {
    assert.equal(e.status, 409);
    assert.equal(e.kind, "AlreadyExists");
  });
  assert.equal(await client.deletePool(p), undefined);
  await rejectsWith(client.openPool(p), (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.kind, "NotFound");
    assert.equal(e.kindCode, 3);
    assert.ok(e.path.endsWith(`${p}.plasmite`));
  });
});

test("append and get return Messages; durability takes names or Durability values", async () => {
  const p = name();
  await client.createPool(p);
  const pool = await client.openPool(p);
  const m = await pool.append({ kind: "deploy" }, ["ops"], "FLUSH");
  assert.ok(m instanceof Message);
  assert.equal(m.seq, 1n);
  assert.ok(m.time instanceof Date);
  assert.deepEqual([...m.tags], ["ops"]);
  await pool.append({ b: 2 }, [], Durability.Flush);
  await pool.append({ c: 3 });
  await assert.rejects(pool.append({}, [], "sometimes"), TypeError);
  const got = await pool.get(1n);
  assert.deepEqual(got.data, { kind: "deploy" });
  assert.equal(got.timeRfc3339, m.timeRfc3339);
  await rejectsWith(pool.get(99), (e) => {
    assert.equal(e.status, 404);
    assert.equal(e.kind, "NotFound");
    assert.equal(e.seq, 99);
  });
  await rejectsWith(pool.append([1]), (e) => {
    assert.equal(e.status, 400);
    assert.equal(e.kind, "Usage");
    assert.equal(e.message, "data must be object");
  });
});

test("tails: next() resolves to Messages then null; for await and break; filters", async () => {
  const p = name();
  await client.createPool(p);
  const pool = await client.openPool(p);
  for (let i = 1; i <= 5; i++) await pool.append({ i }, i % 2 ? ["odd"] : ["even"]);
  const tail = pool.tail({ sinceSeq: 2, maxMessages: 2 });
  assert.ok(tail instanceof RemoteTail);
  assert.equal((await tail.next()).data.i, 2);
  assert.equal((await tail.next()).data.i, 3);
  assert.equal(await tail.next(), null);
  const collect = async (opts) => {
    const out = [];
    for await (const m of pool.tail(opts)) out.push(m.data.i);
    return out;
  };
  assert.deepEqual(await collect({ tags: ["odd"], timeoutMs: 100 }), [1, 3, 5]);
  assert.deepEqual(await collect({ where: ".data.i >= 4", timeoutMs: 100 }), [4, 5]);
  const seen = [];
  for await (const m of pool.tail()) {
    seen.push(m.data.i);
    if (seen.length === 3) break;
  }
  assert.deepEqual(seen, [1, 2, 3]);
  const raw = (await pool.tail({ sinceSeq: 4 }).next()).raw;
  assert.deepEqual(JSON.parse(raw).data, { i: 4 });
});

test("a remote tail outlives the server's tail timeout, resuming after the last message", async () => {
  const p = name();
  await client.createPool(p);
  const pool = await client.openPool(p);
  await pool.append({ n: 0 });
  const tail = pool.tail();
  assert.equal((await tail.next()).data.n, 0);
  // The server ends each response after 300 ms: these arrive over several connections.
  const writer = (async () => {
    for (let i = 1; i <= 4; i++) {
      await sleep(250);
      await pool.append({ n: i });
    }
  })();
  const seqs = [];
  for (let i = 1; i <= 4; i++) {
    const m = await tail.next();
    assert.equal(m.data.n, i, "each message once, in order");
    seqs.push(m.seq);
  }
  await writer;
  await tail.cancel();
  assert.deepEqual(seqs, [2n, 3n, 4n, 5n]);
});

test("a remote tail's inactivity timeout and cancel end it promptly", async () => {
  const p = name();
  await client.createPool(p);
  const pool = await client.openPool(p);
  let t = Date.now();
  assert.equal(await pool.tail({ timeoutMs: 150 }).next(), null);
  const idle = Date.now() - t;
  assert.ok(idle >= 140 && idle < 2000, `ended after ${idle} ms`);
  const tail = pool.tail({ timeoutMs: 800 });
  const pending = tail.next();
  await sleep(50);
  t = Date.now();
  await tail.cancel();
  assert.equal(await pending, null);
  assert.ok(Date.now() - t < 500);
  // A long inactivity timeout spans several server responses.
  const slow = pool.tail({ timeoutMs: 700 });
  setTimeout(() => pool.append({ late: true }), 500);
  assert.deepEqual((await slow.next()).data, { late: true });
  await slow.cancel();
});

test("errorOnGap: evicted messages end a remote tail with RetentionGap", async () => {
  const p = name();
  pls(["--dir", dir, "pool", "create", p, "--size", "64K"]);
  const pool = await client.openPool(p);
  for (let i = 0; i < 100; i++) await pool.append({ i, pad: "x".repeat(1000) });
  await rejectsWith((async () => {
    for await (const m of pool.tail({ sinceSeq: 1, errorOnGap: true })) void m;
  })(), (e) => {
    assert.equal(e.kind, "RetentionGap");
    assert.equal(e.seq, 1);
  });
});

test("tokens: a server with one refuses requests without it", async () => {
  const tdir = scratch();
  const s = await serve(tdir, ["--token", "sesame"]);
  try {
    const c = new RemoteClient(s.url);
    await rejectsWith(c.listPools(), (e) => {
      assert.equal(e.status, 401);
      assert.equal(e.kind, "Permission");
    });
    const ok = new RemoteClient(s.url, { token: "sesame" });
    await ok.createPool("t");
    const pool = await ok.openPool("t");
    await pool.append({ x: 1 });
    assert.equal((await pool.tail({ maxMessages: 1 }).next()).data.x, 1);
    await rejectsWith(c.withToken("wrong").poolInfo("t"), (e) => assert.equal(e.status, 401));
  } finally {
    await s.stop();
  }
});
