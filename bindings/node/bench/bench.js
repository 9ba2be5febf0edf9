"use strict";
// Throughput of the Node package, printed as msgs/s medians over several runs:
//   appendJson  — Buffer in, envelope Buffer out, one message per call
//   append(obj) — a plain object in, a Message out
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

function timeAppends(fn, n) {
  const pool = client.createPool(`a${poolNo++}`, 64 * 1024 * 1024);
  for (let i = 0; i < 2000; i++) fn(pool); // warm-up
  const t = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn(pool);
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  pool.close();
  return n / secs;
}

async function timeTail(pool, expected) {
  const t = process.hrtime.bigint();
  let count = 0;
  let last = 0n;
  for await (const m of pool.tail({ maxMessages: expected })) {
    count++;
    last = m.seq;
  }
  const secs = Number(process.hrtime.bigint() - t) / 1e9;
  if (count !== expected || last === 0n) throw new Error(`tail read ${count} of ${expected}`);
  return count / secs;
}

async function main() {
  const N = 200000;
  const results = [];
  const rows = [
    ["appendJson (Buffer)", () => timeAppends((p) => p.appendJson(sampleBuf, ["bench"]), N), 300000],
    ["append(obj)", () => timeAppends((p) => p.append(sample, ["bench"]), N), 200000],
  ];
  for (const [name, fn, target] of rows) {
    const runs = [];
    for (let r = 0; r < RUNS; r++) runs.push(fn());
    results.push([name, median(runs), target]);
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
  results.push([`for await (64 MiB pool, ${fmt(count)} msgs)`, median(tails), 500000]);
  console.log(`node ${process.version}, ${RUNS} runs, medians`);
  for (const [name, rate, target] of results) {
    const mark = rate >= target ? "ok" : "BELOW TARGET";
    console.log(`${name.padEnd(44)} ${fmt(rate).padStart(12)} msgs/s   (target >= ${fmt(target)}: ${mark})`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
