"use strict";
// Every local method: pools, appends, reads, streams, errors, replay.

const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const {
  Client,
  Durability,
  ErrorKind,
  Message,
  PlasmiteNativeError,
  Pool,
  parseMessage,
  replay,
} = require("..");
const { scratch } = require("./helpers");

function fresh(size = 1 << 20) {
  const client = new Client(scratch());
  return { client, pool: client.createPool("p", size) };
}

function kindOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PlasmiteNativeError, `a PlasmiteNativeError, got ${e}`);
    return e;
  }
  assert.fail("expected an error");
}

test("clients create, open, list, describe and delete pools", () => {
  const dir = scratch();
  const client = new Client(dir);
  assert.equal(client.poolDir, dir);
  const pool = client.createPool("a", 2 * 1024 * 1024);
  assert.ok(pool instanceof Pool);
  assert.equal(pool.path, path.join(dir, "a.plasmite"));
  assert.equal(fs.statSync(pool.path).size, 2 * 1024 * 1024);
  assert.equal(kindOf(() => client.createPool("a")).kind, "AlreadyExists");
  const missing = kindOf(() => client.openPool("nope"));
  assert.equal(missing.kind, ErrorKind.NotFound);
  assert.equal(missing.kindCode, 3);
  assert.ok(client.openPool("a.plasmite") instanceof Pool);
  assert.ok(client.pool("b") instanceof Pool, "pool() creates a missing pool");
  assert.ok(client.pool("b") instanceof Pool, "and opens an existing one");
  assert.equal(fs.statSync(path.join(dir, "b.plasmite")).size, 1048576);
  const byPath = client.createPool(path.join(dir, "sub", "c.plasmite"), 1n << 20n);
  assert.ok(fs.existsSync(byPath.path));
  const names = client.listPools().map((p) => p.name);
  assert.deepEqual(names, ["a", "b"]);
  const info = client.poolInfo("a");
  assert.equal(info.name, "a");
  assert.equal(info.file_size, 2 * 1024 * 1024);
  assert.deepEqual(info.bounds, {});
  assert.equal(info.metrics.message_count, 0);
  client.deletePool("b");
  assert.equal(kindOf(() => client.deletePool("b")).kind, "NotFound");
  assert.equal(kindOf(() => client.openPool("http://127.0.0.1:1/x")).kind, "Usage");
  assert.equal(kindOf(() => client.openPool("")).kind, "Usage");
  client.close();
  client.close();
  assert.equal(kindOf(() => client.openPool("a")).kind, "Usage");
  assert.throws(() => new Client(42), TypeError);
});

test("appendJson takes bytes, JSON text or a value and returns the envelope", () => {
  const { pool } = fresh();
  const a = pool.appendJson(Buffer.from('{"b":1,"a":[true,null]}'), ["t1", "t2"]);
  assert.ok(Buffer.isBuffer(a));
  assert.match(
    a.toString(),
    /^\{"seq":1,"time":"\d{4}-[^"]+Z","meta":\{"tags":\["t1","t2"\]\},"data":\{"a":\[true,null\],"b":1\}\}$/,
  );
  const b = pool.appendJson('{"x":"y"}', [], Durability.Flush);
  assert.equal(JSON.parse(b).seq, 2);
  const c = pool.appendJson({ n: 1.5 }, "solo", "flush");
  assert.deepEqual(JSON.parse(c).meta.tags, ["solo"]);
  const d = pool.appendJson(new Uint8Array(Buffer.from('{"u8":1}')));
  assert.deepEqual(JSON.parse(d).data, { u8: 1 });
  assert.equal(kindOf(() => pool.appendJson("[1]")).message, "data must be object");
  assert.equal(kindOf(() => pool.appendJson("{nope")).kind, "Usage");
  assert.throws(() => pool.appendJson({}, [], 7), TypeError);
  assert.throws(() => pool.appendJson({}, [1]), TypeError);
  assert.deepEqual(pool.getJson(1), a, "get returns the bytes append returned");
  assert.deepEqual(pool.getJson(1n), a);
});

test("appendJson returns whole envelopes of every size, each its own Buffer", () => {
  const { pool } = fresh();
  const big = pool.appendJson(Buffer.from(JSON.stringify({ s: "x".repeat(100 * 1024) })));
  assert.equal(JSON.parse(big).data.s.length, 100 * 1024);
  assert.deepEqual(pool.getJson(1), big);
  const small = pool.appendJson(Buffer.from('{"s":"y"}'));
  const again = pool.appendJson(Buffer.from('{"s":"z"}'));
  assert.equal(JSON.parse(small).data.s, "y", "a later append does not change an earlier envelope");
  assert.equal(JSON.parse(again).data.s, "z");
  assert.deepEqual(pool.getJson(2), small);
  const m = pool.append({ s: "w".repeat(100 * 1024) }, ["big"]);
  assert.equal(m.seq, 4n);
  assert.equal(m.data.s.length, 100 * 1024);
  assert.deepEqual(m.tags, ["big"]);
  assert.deepEqual(m.raw, pool.getJson(4));
  const after = pool.append({ s: "v" });
  assert.equal(m.data.s[0], "w", "a later append does not change an earlier message");
  assert.equal(after.data.s, "v");
  // Envelopes kept across many appends (whatever buffers they share) stay what was stored.
  const { pool: roomy } = fresh(8 << 20);
  const kept = [];
  for (let i = 0; i < 3000; i++) {
    const body = { i, pad: "p".repeat(i % 700) };
    kept.push(i % 3 === 0 ? roomy.appendJson(body, ["k"]) : roomy.append(body).raw);
  }
  kept.forEach((env, i) => assert.deepEqual(env, roomy.getJson(i + 1), `message ${i + 1}`));
});

test("append and get give Messages with bigint seqs and Date times", () => {
  const { pool } = fresh();
  const m = pool.append({ hello: "world" }, ["greeting"]);
  assert.ok(m instanceof Message);
  assert.equal(m.seq, 1n);
  assert.ok(m.time instanceof Date);
  assert.ok(Math.abs(m.time.getTime() - Date.now()) < 5000);
  assert.match(m.timeRfc3339, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.deepEqual(m.data, { hello: "world" });
  assert.deepEqual([...m.tags], ["greeting"]);
  assert.ok(Object.isFrozen(m.meta) && Object.isFrozen(m.tags));
  const got = pool.get(1);
  assert.deepEqual(got.data, m.data);
  assert.equal(got.timeRfc3339, m.timeRfc3339);
  assert.deepEqual(JSON.parse(got.raw), JSON.parse(m.raw));
  assert.deepEqual(parseMessage(got.raw).data, m.data);
  assert.equal(parseMessage(got), got);
  assert.equal(parseMessage({ seq: "5", time: m.timeRfc3339, data: {} }).seq, 5n);
  assert.throws(() => parseMessage(3), TypeError);
  assert.throws(() => new Message({ seq: 1, time: "never", data: {} }), TypeError);
});

test("each append carries the tags it was given, however they change between calls", () => {
  const { pool } = fresh();
  const same = ["x", "y"];
  const calls = [
    [["x", "y"], "json"],
    [same, "json"],
    [same, "value"],
    [[], "json"],
    [undefined, "value"],
    [["x", "y"], "text"],
    [["x"], "text"],
    [["x", "y", "z"], "value"],
    ["solo", "json"],
  ];
  let seq = 0n;
  for (const [tags, how] of calls) {
    seq += 1n;
    const body = { n: Number(seq) };
    if (how === "json") pool.appendJson(Buffer.from(JSON.stringify(body)), tags);
    else if (how === "text") pool.appendJson(JSON.stringify(body), tags);
    else pool.append(body, tags);
    const want = tags === undefined ? [] : typeof tags === "string" ? [tags] : tags;
    assert.deepEqual([...pool.get(seq).tags], want, `message ${seq}`);
  }
  // A refused append between two with the same new tags changes nothing for the second.
  assert.equal(kindOf(() => pool.appendJson("{nope", ["after"])).kind, "Usage");
  assert.deepEqual([...pool.append({ ok: 1 }, ["after"]).tags], ["after"]);
  assert.deepEqual([...pool.get(seq + 1n).tags], ["after"]);
  assert.deepEqual([...pool.append({ ok: 2 }).tags], []);
  assert.deepEqual([...pool.get(seq + 2n).tags], []);
});

test("append returns the message as stored, whatever its tags and data hold", () => {
  const { pool } = fresh();
  const tricky = ['q"data":', "\\", "é\u0000", "\n"];
  const data = { z: 'x"data":{"a":1}', a: [1, -0.5, null, "\u2028"], nested: { data: "v" } };
  const m = pool.append(data, tricky);
  const got = pool.get(m.seq);
  assert.deepEqual(m.data, got.data);
  assert.deepEqual(m.data, JSON.parse(JSON.stringify(data)));
  assert.deepEqual([...m.tags], tricky);
  assert.equal(m.timeRfc3339, got.timeRfc3339);
  assert.deepEqual(m.time, got.time);
  assert.deepEqual(m.raw, pool.getJson(m.seq));
});

test("sequence arguments accept numbers and bigints and refuse the rest", () => {
  const { pool } = fresh();
  pool.append({});
  assert.ok(pool.getJson(1) && pool.getJson(1n));
  assert.throws(() => pool.getJson(-1), RangeError);
  assert.throws(() => pool.getJson(1.5), RangeError);
  assert.throws(() => pool.getJson(-1n), RangeError);
  assert.throws(() => pool.getJson(1n << 64n), RangeError);
  assert.throws(() => pool.getJson(2 ** 60), RangeError);
  assert.throws(() => pool.getJson("1"), TypeError);
  const e = kindOf(() => pool.getJson(2n ** 63n));
  assert.equal(e.kind, "NotFound");
  assert.equal(e.seq, 2 ** 63);
});

test("a missing message is NotFound with its seq and a hint", () => {
  const { pool } = fresh();
  pool.append({ a: 1 });
  const e = kindOf(() => pool.getJson(999n));
  assert.equal(e.name, "PlasmiteNativeError");
  assert.equal(e.kind, "NotFound");
  assert.equal(e.seq, 999);
  assert.equal(typeof e.hint, "string");
  assert.ok(e.path.endsWith("p.plasmite"));
  assert.ok(e.cause instanceof Error);
});

test("Lite³ frames round-trip through appendLite3 and getLite3", () => {
  const { pool } = fresh();
  pool.append({ k: "v" }, ["t"]);
  const f = pool.getLite3(1);
  assert.equal(f.seq, 1n);
  assert.equal(typeof f.timestampNs, "bigint");
  assert.equal(f.flags, 0);
  assert.ok(Buffer.isBuffer(f.payload));
  assert.ok(f.time instanceof Date);
  assert.ok(Object.keys(f).includes("time"));
  const seq = pool.appendLite3(f.payload, Durability.Flush);
  assert.equal(seq, 2n);
  assert.deepEqual(pool.get(2).data, { k: "v" });
  assert.deepEqual([...pool.get(2).tags], ["t"]);
  assert.equal(kindOf(() => pool.appendLite3(Buffer.from("not lite3"))).kind, "Corrupt");
  assert.throws(() => pool.appendLite3("x"), TypeError);
});

test("streams read from the oldest message or sinceSeq, up to maxMessages", () => {
  const { pool } = fresh();
  for (let i = 1; i <= 5; i++) pool.append({ i });
  const all = [...pool.openStream()].map((b) => JSON.parse(b).data.i);
  assert.deepEqual(all, [1, 2, 3, 4, 5]);
  const some = pool.openStream(2n, 2);
  assert.equal(JSON.parse(some.nextJson()).seq, 2);
  assert.equal(JSON.parse(some.nextJson()).seq, 3);
  assert.equal(some.nextJson(), null);
  some.close();
  assert.equal(some.nextJson(), null, "a closed stream returns null");
  const lite = pool.openLite3Stream(4);
  const frames = [...lite];
  assert.deepEqual(frames.map((f) => f.seq), [4n, 5n]);
  assert.equal(lite.next(), null);
  lite.close();
});

test("a stream without a timeout never waits; with one it waits until the deadline", () => {
  const { pool } = fresh();
  const s = pool.openStream();
  let t = Date.now();
  assert.equal(s.nextJson(), null);
  assert.ok(Date.now() - t < 50);
  pool.append({ later: true });
  assert.equal(JSON.parse(s.nextJson()).data.later, true, "a polled stream sees later messages");
  const w = pool.openStream(undefined, undefined, 80);
  assert.ok(w.nextJson());
  t = Date.now();
  assert.equal(w.nextJson(), null);
  const waited = Date.now() - t;
  assert.ok(waited >= 50 && waited < 1000, `waited ${waited} ms`);
});

/** A small pool whose first messages were evicted. */
function wrapped() {
  const { client, pool } = fresh(64 * 1024);
  const big = "x".repeat(1000);
  for (let i = 0; i < 200; i++) pool.append({ i, big });
  return { client, pool };
}

test("errorOnGap turns evicted messages into a RetentionGap error with the first missing seq", () => {
  const { pool } = wrapped();
  const oldest = pool.info().bounds.oldest;
  assert.ok(oldest > 1);
  const skip = pool.openStream(1);
  assert.equal(JSON.parse(skip.nextJson()).seq, oldest, "gaps are skipped by default");
  const strict = pool.openStream(1, undefined, undefined, true);
  const e = kindOf(() => strict.nextJson());
  assert.equal(e.kind, "RetentionGap");
  assert.equal(e.seq, 1);
  assert.equal(strict.nextJson(), null, "the stream ended");
});

test("closed pools refuse calls with a Usage error", () => {
  const { pool } = fresh();
  pool.close();
  pool.close();
  const e = kindOf(() => pool.append({}));
  assert.equal(e.kind, "Usage");
  assert.match(e.message, /closed/);
});

test("replay yields the pool's messages spaced by their times divided by speed", async () => {
  const { pool } = fresh();
  pool.append({ n: 1 }, ["a"]);
  await new Promise((r) => setTimeout(r, 200));
  pool.append({ n: 2 }, ["b"]);
  pool.append({ n: 3 }, ["a"]);
  const t = Date.now();
  const seen = [];
  for await (const m of pool.replay({ speed: 2 })) seen.push(m.data.n);
  const took = Date.now() - t;
  assert.deepEqual(seen, [1, 2, 3]);
  assert.ok(took >= 80 && took < 1000, `took ${took} ms`);
  const tagged = [];
  for await (const m of replay(pool, { speed: 100, tags: ["a"] })) tagged.push(m.data.n);
  assert.deepEqual(tagged, [1, 3]);
  const limited = [];
  for await (const m of pool.replay({ speed: 100, maxMessages: 1, sinceSeq: 2 })) limited.push(m.data.n);
  assert.deepEqual(limited, [2]);
  await assert.rejects(pool.replay({ speed: 0 }).next(), /speed must be positive/);
});
