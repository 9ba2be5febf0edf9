"use strict";
// Throughput of the Node package, printed as msgs/s medians over several runs — by the wall
// clock, and per second of this process's CPU time (what the figure would be with a core to
// itself, on a machine that other work shares):
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

function timeAppends(fn, n) {
  const pool = client.createPool(`a${poolNo++}`, 64 * 1024 * 1024);
  for (let i = 0; i < 2000; i++) fn(pool); // warm-up
  return rates(n, () => {
    for (let i = 0; i < n; i++) fn(pool);
  }).finally(() => pool.close());
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
  const rows = [
    ["appendJson (Buffer)", () => timeAppends((p) => p.appendJson(sampleBuf, ["bench"]), N), 300000],
    ["append(obj)", () => timeAppends((p) => p.append(sample, ["bench"]), N), 200000],
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
