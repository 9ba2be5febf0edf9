"use strict";
// The package's surface: CommonJS and ES module entries export the same objects, and the
// value exports of index.d.ts are exactly the runtime's.

const assert = require("node:assert");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const plasmite = require("..");

test("index.d.ts declares exactly the values index.js exports", () => {
  const dts = fs.readFileSync(path.join(__dirname, "..", "index.d.ts"), "utf8");
  const declared = [...dts.matchAll(/^export declare (?:const|class|function) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(declared)].sort(), Object.keys(plasmite).sort());
});

test("the ES module entry exports the CommonJS objects", async () => {
  const esm = await import("plasmite");
  for (const [k, v] of Object.entries(plasmite)) assert.equal(esm[k], v, k);
  assert.equal(esm.default, plasmite);
});

test("constants and enums have the documented values", () => {
  assert.deepEqual({ ...plasmite.Durability }, { Fast: 0, Flush: 1 });
  assert.ok(Object.isFrozen(plasmite.Durability));
  assert.equal(plasmite.DEFAULT_POOL_SIZE, 1048576);
  assert.equal(plasmite.DEFAULT_POOL_SIZE_BYTES, 1048576);
  assert.equal(plasmite.DEFAULT_POOL_DIR, path.join(require("node:os").homedir(), ".plasmite", "pools"));
  assert.equal(plasmite.ErrorKind.NotFound, "NotFound");
  assert.deepEqual(Object.values(plasmite.ErrorKindCode), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("RemoteError reads the server's error object", () => {
  const e = new plasmite.RemoteError(404, {
    error: { kind: "NotFound", message: "message not found", hint: "h", seq: 9, path: "/p" },
  });
  assert.equal(e.name, "RemoteError");
  assert.equal(e.message, "message not found");
  assert.equal(e.kind, "NotFound");
  assert.equal(e.seq, 9);
  const bare = new plasmite.RemoteError(502, null);
  assert.equal(bare.message, "Remote error 502");
  assert.equal(bare.kind, "Io");
});
