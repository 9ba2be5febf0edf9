#!/usr/bin/env node
// The Node runner of the conformance suite (spec/CONFORMANCE.md).
//
// Runs manifests through the `plasmite` package (local pools, the native addon) and prints,
// per manifest, `conformance: N passed, M failed, K unsupported (node: PATH)`; failed steps as
// `step I (ID): REASON` and unsupported ones as `step I (ID): unsupported FEATURE: WHY` on
// stderr. Every step is run and counted. Exit 1 when a step failed, 2 when a manifest could not
// be read. The command line (`spawn_poke`, `spawn_reader`) is `$PLASMITE_BIN`.
//
// Usage: node runner.js MANIFEST...
"use strict";

const fs = require("node:fs");
const path = require("node:path");
const { spawn } = require("node:child_process");
const { isDeepStrictEqual } = require("node:util");
const plasmite = require("..");

// Features (spec/CONFORMANCE.md §5) this package does not offer.
const UNSUPPORTED = new Set(["append_batch", "tail.live", "tail.last"]);
const PLS = process.env.PLASMITE_BIN || "pls";

class Fail extends Error {}
class Unsupported extends Error {
  constructor(feature, why) {
    super(`${feature}: ${why}`);
    this.feature = feature;
    this.why = why;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function failure(e) {
  if (!(e instanceof plasmite.PlasmiteNativeError)) throw e;
  return {
    kind: e.kind,
    message: e.message || "",
    hasPath: e.path != null,
    seq: e.seq == null ? null : Number(e.seq),
    hasOffset: e.offset != null,
  };
}

const describe = (f) => `${f.kind}: ${f.message}${f.seq != null ? ` (seq: ${f.seq})` : ""}`;

function tagsOf(v) {
  if (v == null) return [];
  if (!Array.isArray(v)) throw new Fail("tags must be array");
  if (!v.every((t) => typeof t === "string")) throw new Fail("expected string array");
  return v;
}

function messagesOf(v) {
  if (!Array.isArray(v)) throw new Fail("input.messages must be array");
  return v.map((m) => {
    if (!("data" in m)) throw new Fail("message.data is required");
    return [m.data, tagsOf(m.tags)];
  });
}

function matchError(w, e) {
  if (typeof w.kind !== "string") throw new Fail("expect.error.kind is required");
  if (w.kind !== e.kind) throw new Fail(`expected error kind ${w.kind}, got ${e.kind}`);
  if (typeof w.message_contains === "string" && !e.message.includes(w.message_contains)) {
    throw new Fail(`expected message to contain '${w.message_contains}', got '${e.message}'`);
  }
  for (const [key, has, what] of [
    ["has_path", e.hasPath, "path"],
    ["has_seq", e.seq != null, "seq"],
    ["has_offset", e.hasOffset, "offset"],
  ]) {
    if (typeof w[key] === "boolean" && w[key] !== has) throw new Fail(`${what} presence mismatch`);
  }
  if (typeof w.seq === "number" && e.seq !== w.seq) {
    throw new Fail(`expected error seq ${w.seq}, got ${e.seq}`);
  }
}

function checkError(expect, op) {
  const want = expect.error;
  let got;
  try {
    got = op();
  } catch (err) {
    const e = failure(err);
    if (want == null) throw new Fail(`unexpected error: ${describe(e)}`);
    matchError(want, e);
    return undefined;
  }
  if (want != null) throw new Fail("expected error but operation succeeded");
  return got;
}

const msgMatches = (w, m) =>
  (!("data" in w) || isDeepStrictEqual(w.data, m.data)) &&
  (!("tags" in w) || isDeepStrictEqual(w.tags, m.tags)) &&
  (!("seq" in w) || w.seq === m.seq);

function checkMessages(expect, got, required) {
  const ordered = expect.messages;
  const unordered = expect.messages_unordered;
  if (ordered != null && unordered != null) {
    throw new Fail("expect.messages and expect.messages_unordered are mutually exclusive");
  }
  if (ordered == null && unordered == null) {
    if (required) throw new Fail("expect.messages or expect.messages_unordered is required");
    return;
  }
  const want = ordered ?? unordered;
  if (want.length !== got.length) {
    throw new Fail(`expected ${want.length} messages, got ${got.length} (seqs ${JSON.stringify(got.map((m) => m.seq))})`);
  }
  for (let i = 1; i < got.length; i++) {
    if (got[i - 1].seq >= got[i].seq) throw new Fail("tail messages out of order");
  }
  if (ordered != null) {
    want.forEach((w, i) => {
      if (!msgMatches(w, got[i])) {
        throw new Fail(`message mismatch at ${i}: expected ${JSON.stringify(w)}, got seq ${got[i].seq}`);
      }
    });
  } else {
    const used = got.map(() => false);
    for (const w of want) {
      const j = got.findIndex((m, k) => !used[k] && msgMatches(w, m));
      if (j < 0) throw new Fail(`message mismatch: nothing matches ${JSON.stringify(w)}`);
      used[j] = true;
    }
  }
}

const asMsg = (m) => ({ seq: Number(m.seq), data: m.data, tags: [...m.tags] });

class Run {
  constructor(manifest, workdir) {
    this.dir = path.dirname(manifest);
    this.workdir = workdir;
    this.client = new plasmite.Client(workdir);
    this.readers = new Map();
  }

  resolve(pool) {
    if (pool.includes("/")) return pool;
    return path.join(this.workdir, pool.endsWith(".plasmite") ? pool : `${pool}.plasmite`);
  }

  sideAppend(pool, data, tags) {
    const p = this.client.openPool(pool);
    try {
      return Number(p.append(data, tags).seq);
    } finally {
      p.close();
    }
  }

  fillPast(pool, seq) {
    const p = this.client.openPool(pool);
    try {
      for (let n = 0; n < 10000; n++) {
        try {
          p.get(seq);
        } catch (e) {
          if (failure(e).kind === "NotFound") return;
          throw e;
        }
        p.append({ i: n, padding: "x".repeat(4096) }, []);
      }
    } finally {
      p.close();
    }
    throw new Fail(`sequence ${seq} remained retained after filling pool`);
  }

  async tail(pool, inp, hook) {
    const start = inp.start ?? "oldest";
    if (!["oldest", "live", "last"].includes(start)) throw new Fail(`invalid input.start: ${start}`);
    if (start !== "oldest") throw new Unsupported(`tail.${start}`, "tails start at a sequence or the oldest message");
    const gap = inp.gap ?? "continue";
    if (!["continue", "error"].includes(gap)) throw new Fail(`invalid input.gap: ${gap}`);
    const messages = [];
    let error = null;
    let t;
    try {
      t = this.client.openPool(pool).tail({
        sinceSeq: inp.since_seq ?? null,
        maxMessages: inp.max ?? null,
        timeoutMs: inp.timeout_ms ?? 1000,
        tags: tagsOf(inp.tags),
        where: inp.where ?? undefined,
        errorOnGap: gap === "error",
      });
    } catch (e) {
      return [[], failure(e)];
    }
    hook(0);
    try {
      for await (const m of t) {
        messages.push(asMsg(m));
        hook(messages.length);
      }
    } catch (e) {
      if (e instanceof Fail) throw e;
      error = failure(e);
    }
    return [messages, error];
  }

  async step(step) {
    let op = step.op;
    if (typeof op !== "string") throw new Fail("missing op");
    if (op === "fetch") op = "get";
    for (const f of step.requires ?? []) {
      if (UNSUPPORTED.has(f)) throw new Unsupported(f, "a step this one builds on needs it");
    }
    const inp = step.input ?? {};
    const expect = step.expect ?? {};
    const pool = () => {
      if (typeof step.pool !== "string") throw new Fail("missing pool");
      return step.pool;
    };
    switch (op) {
      case "create_pool":
        checkError(expect, () => this.client.createPool(pool(), inp.size_bytes ?? 1048576).close());
        break;
      case "append": {
        if (!("input" in step)) throw new Fail("missing input");
        if (!("data" in inp)) throw new Fail("missing input.data");
        const tags = tagsOf(inp.tags);
        const seq = checkError(expect, () => Number(this.client.openPool(pool()).append(inp.data, tags).seq));
        if (seq !== undefined && "seq" in expect && expect.seq !== seq) {
          throw new Fail(`expected seq ${expect.seq}, got ${seq}`);
        }
        break;
      }
      case "append_batch":
        throw new Unsupported("append_batch", "the package appends one message per call");
      case "append_many": {
        const count = inp.count ?? 1;
        const base = inp.data ?? {};
        const tags = tagsOf(inp.tags);
        if (typeof base !== "object" || Array.isArray(base)) throw new Fail("input.data must be an object");
        const last = checkError(expect, () => {
          const p = this.client.openPool(pool());
          let l = null;
          for (let k = 1; k <= count; k++) l = Number(p.append({ ...base, i: k }, tags).seq);
          p.close();
          return l;
        });
        if (last !== undefined && "last_seq" in expect && expect.last_seq !== last) {
          throw new Fail(`expected last_seq ${expect.last_seq}, got ${last}`);
        }
        break;
      }
      case "get": {
        if (typeof inp.seq !== "number") throw new Fail("missing input.seq");
        const m = checkError(expect, () => asMsg(this.client.openPool(pool()).get(inp.seq)));
        if (m !== undefined) {
          if ("data" in expect && !isDeepStrictEqual(expect.data, m.data)) {
            throw new Fail(`data mismatch: expected ${JSON.stringify(expect.data)}, got ${JSON.stringify(m.data)}`);
          }
          if ("tags" in expect && !isDeepStrictEqual(tagsOf(expect.tags), m.tags)) throw new Fail("tags mismatch");
          if (m.seq !== inp.seq) throw new Fail(`expected seq ${inp.seq}, got ${m.seq}`);
        }
        break;
      }
      case "tail": {
        const after = "append_after_open" in inp ? messagesOf(inp.append_after_open) : [];
        const name = pool();
        const [messages, error] = await this.tail(name, inp, (n) => {
          if (n === 0) for (const [d, t] of after) this.sideAppend(name, d, t);
        });
        const want = expect.error;
        if (error == null && want != null) throw new Fail("expected error but operation succeeded");
        if (error != null && want == null) throw new Fail(`unexpected error: ${describe(error)}`);
        if (error != null) matchError(want, error);
        checkMessages(expect, messages, want == null);
        break;
      }
      case "retention_gap":
        await this.retentionGap(pool(), inp.size_bytes ?? 65536);
        break;
      case "list_pools": {
        const names = checkError(expect, () => this.client.listPools().map((p) => p.name));
        if (names !== undefined && "names" in expect) {
          const a = [...tagsOf(expect.names)].sort();
          const b = [...names].sort();
          if (!isDeepStrictEqual(a, b)) throw new Fail(`pool list mismatch: expected ${a}, got ${b}`);
        }
        break;
      }
      case "pool_info": {
        const info = checkError(expect, () => this.client.poolInfo(pool()));
        if (info !== undefined) {
          for (const key of ["file_size", "ring_size"]) {
            if (key in expect && expect[key] !== Number(info[key])) {
              throw new Fail(`${key} mismatch: expected ${expect[key]}, got ${info[key]}`);
            }
          }
          const bounds = info.bounds ?? {};
          for (const [key, want] of Object.entries(expect.bounds ?? {})) {
            if (want !== null && typeof want !== "number") throw new Fail(`bounds.${key} must be a number or null`);
            const got = bounds[key] == null ? null : Number(bounds[key]);
            if (got !== want) throw new Fail(`bounds.${key} mismatch`);
          }
        }
        break;
      }
      case "delete_pool":
        checkError(expect, () => this.client.deletePool(pool()));
        break;
      case "spawn_poke": {
        const runs = messagesOf(inp.messages).map(([data, tags]) => {
          const args = ["--dir", this.workdir, "feed", pool(), JSON.stringify(data)];
          for (const t of tags) args.push("--tag", t);
          return new Promise((res) => {
            const c = spawn(PLS, args, { stdio: ["ignore", "ignore", "inherit"] });
            c.on("exit", (code) => res(code === 0));
            c.on("error", () => res(false));
          });
        });
        if (!(await Promise.all(runs)).every(Boolean)) throw new Fail("feed process failed");
        break;
      }
      case "corrupt_pool_header":
        fs.writeFileSync(this.resolve(pool()), "NOPE");
        break;
      case "install_pool":
        fs.copyFileSync(path.join(this.dir, "pools", inp.fixture), this.resolve(pool()));
        break;
      case "chmod_path": {
        if (!("path" in inp)) throw new Fail("missing input.path");
        const mode = parseInt(inp.mode ?? "", 8);
        if (Number.isNaN(mode)) throw new Fail("invalid input.mode");
        fs.chmodSync(inp.path, mode);
        break;
      }
      case "spawn_reader":
        await this.spawnReader(pool(), inp);
        break;
      case "await_reader": {
        const r = this.readers.get(inp.name);
        if (!r) throw new Fail(`no reader named ${inp.name}`);
        this.readers.delete(inp.name);
        const lines = await r.done;
        r.child.kill();
        const got = lines.map((l) => {
          const v = JSON.parse(l);
          return { seq: v.seq, data: v.data, tags: v.meta.tags };
        });
        checkMessages(expect, got, true);
        break;
      }
      default:
        throw new Fail(`unknown op: ${op}`);
    }
  }

  async spawnReader(pool, inp) {
    const args = ["--dir", this.workdir, "follow", pool, "--jsonl", "--tail", "1000000000",
      "--where", `.seq >= ${inp.since_seq ?? 1}`, "--timeout", `${inp.timeout_ms ?? 10000}ms`];
    for (const t of tagsOf(inp.tags)) args.push("--tag", t);
    const child = spawn(PLS, args, { stdio: ["ignore", "pipe", "ignore"] });
    const want = inp.max ?? 1;
    const done = new Promise((res) => {
      const lines = [];
      let buf = "";
      child.stdout.on("data", (chunk) => {
        buf += chunk;
        let i;
        while ((i = buf.indexOf("\n")) >= 0) {
          if (lines.length < want) lines.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        if (lines.length >= want) res(lines);
      });
      child.on("exit", () => res(lines));
    });
    const target = fs.realpathSync(this.resolve(pool));
    for (let i = 0; i < 500; i++) {
      let maps = "";
      try {
        maps = fs.readFileSync(`/proc/${child.pid}/maps`, "utf8");
      } catch {}
      if (maps.includes(target)) {
        await sleep(30);
        break;
      }
      await sleep(10);
    }
    this.readers.set(inp.name, { child, done });
  }

  async retentionGap(base, size) {
    const stale = `${base}-stale`;
    this.client.createPool(stale, size).close();
    const first = this.sideAppend(stale, { kind: "first" }, []);
    this.fillPast(stale, first);
    let [msgs, err] = await this.tail(stale, { since_seq: first, max: 1 }, () => {});
    if (err != null || msgs.length !== 1 || msgs[0].seq <= first) {
      throw new Fail("default tail did not continue after gap");
    }
    [msgs, err] = await this.tail(stale, { since_seq: first, gap: "error", tags: ["never"] }, () => {});
    if (msgs.length || err == null || err.kind !== "RetentionGap" || err.seq !== first) {
      throw new Fail(`fail-closed tail did not fail with RetentionGap at ${first}: ${JSON.stringify(err)}`);
    }
    const est = `${base}-established`;
    this.client.createPool(est, size).close();
    const s1 = this.sideAppend(est, { kind: "seed" }, []);
    this.sideAppend(est, { kind: "second" }, []);
    let missing = null;
    [msgs, err] = await this.tail(est, { since_seq: s1, gap: "error" }, (n) => {
      if (n === 2) {
        missing = this.sideAppend(est, { kind: "first-missing" }, []);
        this.fillPast(est, missing);
      }
    });
    const seqs = msgs.map((m) => m.seq);
    if (!isDeepStrictEqual(seqs, [s1, s1 + 1])) throw new Fail(`tail established the wrong sequence: ${seqs}`);
    if (err == null || err.kind !== "RetentionGap" || err.seq !== missing) {
      throw new Fail(`gap after an established position: expected RetentionGap at ${missing}, got ${JSON.stringify(err)}`);
    }
  }
}

async function runManifest(file) {
  let m;
  try {
    m = JSON.parse(fs.readFileSync(file, "utf8"));
  } catch (e) {
    throw new Error(e instanceof SyntaxError ? `failed to parse manifest json: ${e.message}` : `failed to read manifest: ${e.message}`);
  }
  if (!("conformance_version" in m)) throw new Error("missing conformance_version");
  if (m.conformance_version !== 0) throw new Error(`unsupported conformance_version: ${m.conformance_version}`);
  if (!Array.isArray(m.steps)) throw new Error("manifest steps must be an array");
  const workdir = path.join(path.dirname(file), m.workdir || "work");
  fs.rmSync(workdir, { recursive: true, force: true });
  fs.mkdirSync(workdir, { recursive: true });
  const run = new Run(file, workdir);
  let passed = 0, failed = 0, unsupported = 0;
  for (const [i, step] of m.steps.entries()) {
    const label = typeof step.id === "string" ? `step ${i} (${step.id})` : `step ${i}`;
    try {
      await run.step(step);
      passed++;
    } catch (e) {
      if (e instanceof Unsupported) {
        console.error(`${label}: unsupported ${e.feature}: ${e.why}`);
        unsupported++;
      } else {
        console.error(`${label}: ${e instanceof Fail ? e.message : `${e.name}: ${e.message}`}`);
        failed++;
      }
    }
  }
  for (const r of run.readers.values()) r.child.kill();
  return [passed, failed, unsupported];
}

async function main(argv) {
  if (!argv.length) {
    console.error("usage: node runner.js MANIFEST...");
    return 2;
  }
  let status = 0;
  for (const file of argv) {
    let counts;
    try {
      counts = await runManifest(file);
    } catch (e) {
      console.error(`conformance: ${file}: ${e.message}`);
      return 2;
    }
    const [p, f, u] = counts;
    console.log(`conformance: ${p} passed, ${f} failed, ${u} unsupported (node: ${file})`);
    if (f) status = 1;
  }
  return status;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
