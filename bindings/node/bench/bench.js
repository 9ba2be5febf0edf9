"use strict";
// Throughput of the Node package, printed as msgs/s medians over several runs — by the wall
// clock, and per second of this process's CPU time (what the figure would be with a core to
// itself, on a machine that other work shares):
//   appendJson  — Buffer in, envelope Buffer out, one message per call
//   append(obj) — a plain object in, a Message out
// each on a pool already written through once (where a long-lived pool spends its life) and
// on a new one (where the first touch of each page also costs the kernel a fault)
//   for await   — a tail over a full 64 MiB pool (every message, in order)
// Usage: node bench/bench.js [runs]   (ci/bench-node builds the release addon first)

const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");
const { Client } = require("..");

const RUNS = Number(process.argv[2] || 5);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plasmite-bench-"));
process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
const client = new Client(dir);

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function fmt(n) {
  return Math.round(n).toLocaleString("en-US");
}

const sample = { kind: "signup", user: "alice", id: 12345, tags: ["a", "b"], ok: true };
const sampleBuf = Buffer.from(JSON.stringify(sample));
let poolNo = 0;

/** Runs `body` and returns [msgs per wall second, msgs per CPU second] for `n` messages. */
async function rates(n, body) {
  const cpu0 = process.cpuUsage();
  const t = process.hrtime.bigint();
  await body();
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  const used = process.cpuUsage(cpu0);
  const cpu = (used.user + used.system) / 1e6;
  return [n / wall, n / cpu];
}

/** The pool has been written through once: every later append evicts, no page is new. */
function fillOnce(pool) {
  for (;;) {
    for (let i = 0; i < 10000; i++) pool.appendJson(sampleBuf, ["bench"]);
    if (pool.info().bounds.oldest > 1) return;
  }
}

/**
 * Times `n` calls of `fn` on a new 64 MiB pool, or (`reused`) on one written through once:
 * on a new pool the kernel also pays for each page's first touch.
 */
function timeAppends(fn, n, reused) {
  const name = `a${poolNo++}`;
  const pool = client.createPool(name, 64 * 1024 * 1024);
  if (reused) fillOnce(pool);
  for (let i = 0; i < 2000; i++) fn(pool); // warm-up
  return rates(n, () => {
    for (let i = 0; i < n; i++) fn(pool);
  }).finally(() => {
    pool.close();
    client.deletePool(name);
  });
}

function timeTail(pool, expected) {
  return rates(expected, async () => {
    let count = 0;
    let last = 0n;
    for await (const m of pool.tail({ maxMessages: expected })) {
      count++;
      last = m.seq;
    }
    if (count !== expected || last === 0n) throw new Error(`tail read ${count} of ${expected}`);
  });
}

async function main() {
  const N = 200000;
  const results = [];
  const appendJson = (p) => p.appendJson(sampleBuf, ["bench"]);
  const append = (p) => p.append(sample, ["bench"]);
  const rows = [
    ["appendJson (Buffer), reused pool", () => timeAppends(appendJson, N, true), 300000],
    ["appendJson (Buffer), new pool", () => timeAppends(appendJson, N, false), 300000],
    ["append(obj), reused pool", () => timeAppends(append, N, true), 200000],
    ["append(obj), new pool", () => timeAppends(append, N, false), 200000],
  ];
  for (const [name, fn, target] of rows) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(await fn());
    results.push([name, runs, target]);
  }
  // A full 64 MiB pool: append until the ring has wrapped, so every byte holds messages.
  const full = client.createPool("full", 64 * 1024 * 1024);
  for (let i = 0; ; i++) {
    full.appendJson(sampleBuf, ["bench"]);
    if (i % 10000 === 0 && full.info().bounds.oldest > 1) break;
  }
  const info = full.info();
  const count = info.metrics.message_count;
  const tails = [];
  for (let r = 0; r < RUNS; r++) tails.push(await timeTail(full, count));
  results.push([`for await (64 MiB pool, ${fmt(count)} msgs)`, tails, 500000]);
  console.log(`node ${process.version}, ${RUNS} runs, medians; load average ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} CPUs`);
  console.log(`${"".padEnd(44)} ${"msgs/s".padStart(12)} ${"per CPU-s".padStart(12)}   target`);
  for (const [name, runs, target] of results) {
    const wall = median(runs.map((r) => r[0]));
    const cpu = median(runs.map((r) => r[1]));
    console.log(`${name.padEnd(44)} ${fmt(wall).padStart(12)} ${fmt(cpu).padStart(12)}   >= ${fmt(target)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
