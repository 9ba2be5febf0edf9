"use strict";
// The README's examples, run as written (each in a scratch directory, as its own process,
// against this package; the remote ones against a `pls serve` started here).

const assert = require("node:assert");
const path = require("node:path");
const { after, before, test } = require("node:test");
const { PLS, pls, readmeBlocks, runNode, scratch, serve } = require("./helpers");

const blocks = readmeBlocks();
const js = (heading) => {
  const b = blocks.find((x) => x.lang === "js" && x.heading === heading);
  assert.ok(b, `README has a js example under "${heading}"`);
  return b.code;
};

let server;
let serverDir;

before(async () => {
  serverDir = scratch();
  server = await serve(serverDir);
});

after(async () => {
  if (server) await server.stop();
});

/** The remote examples run inside an async function, against the test server. */
function remote(code) {
  return `(async () => {\n${code.replaceAll("http://127.0.0.1:9700", server.url)}\n})().catch((e) => { console.error(e); process.exit(1); });`;
}

test("the local quick start runs and prints the message it appended", async () => {
  const cwd = scratch();
  const r = await runNode(js("Local pools (native, in-process)"), cwd);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /data: \{ kind: 'signup', user: 'alice' \}/);
  assert.match(r.stdout, /tags: \[ 'user-event' \]/);
  // getJson once, then the stream once: the same envelope twice.
  assert.equal(r.stdout.match(/kind: 'signup'/g).length, 2);
  assert.ok(require("node:fs").existsSync(path.join(cwd, "data", "events.plasmite")));
});

test("the for-await example tails, sees the later append, and ends on break", async () => {
  const r = await runNode(js("Live tails with `for await`"), scratch());
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split("\n");
  assert.equal(lines[0], "1n { id: 7, job: 'resize' }");
  assert.match(lines[1], /^1n \d{4}-\d\d-\d\dT.*Z \{ id: 7, job: 'resize' \}$/);
  assert.match(lines[2], /^2n .* \{ id: 8, job: 'crop' \}$/);
});

test("the remote quick start runs against pls serve", async () => {
  const created = pls(["--dir", serverDir, "pool", "create", "events"]);
  assert.equal(created.status, 0, created.stderr);
  const r = await runNode(remote(js("Remote pools (HTTP/JSON)")), scratch());
  assert.equal(r.status, 0, r.stderr);
  const out = r.stdout;
  assert.match(out, /^1n$/m);
  assert.match(out, /^\{ kind: 'deploy', sha: 'abc123' \}$/m);
  assert.match(out, /Message \{\n {2}seq: 1n,/);
  assert.match(out, /tags: \[ 'ops' \]/);
});

test("the tail-options example is accepted by a remote tail", async () => {
  const code = `const { RemoteClient } = require("plasmite");
const pool = await new RemoteClient("http://127.0.0.1:9700").openPool("events");
${js("Tail options")}
console.log("ok");`;
  const r = await runNode(remote(code), scratch());
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "ok\n");
});

test("the error-handling example prints the kind and the sequence", async () => {
  const code = `const { Client, PlasmiteNativeError } = require("plasmite");
const pool = new Client("./data").createPool("events");
${js("Error handling")}`;
  const r = await runNode(code, scratch());
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "NotFound\n999\n");
});

test("npx plasmite --version runs the shipped pls", async () => {
  const cli = blocks.find((b) => b.heading === "CLI");
  assert.match(cli.code, /^npx plasmite --version$/m);
  const { spawnSync } = require("node:child_process");
  const root = path.join(__dirname, "..");
  const r = spawnSync("npx", ["--no-install", "plasmite", "--version"], { cwd: root, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const direct = pls(["--version"]);
  assert.equal(r.stdout, direct.stdout);
  assert.match(r.stdout, /\d+\.\d+\.\d+/);
  const viaPls = spawnSync("npx", ["--no-install", "pls", "--version"], { cwd: root, encoding: "utf8" });
  assert.equal(viaPls.stdout, direct.stdout);
  void PLS;
});

test("the README's serve command line starts a server", async () => {
  const cli = blocks.find((b) => b.heading === "CLI");
  const line = cli.code.split("\n").find((l) => l.includes(" serve "));
  const args = line.replace(/^npx plasmite /, "").split(" ").map((a) => a === "127.0.0.1:9700" ? "127.0.0.1:0" : a);
  const cwd = scratch();
  const { spawn } = require("node:child_process");
  const ready = path.join(cwd, "ready");
  const child = spawn(path.join(__dirname, "..", "bin", "plasmite.js"), args, {
    cwd,
    env: { ...process.env, PLASMITE_SERVE_READY_FILE: ready, PLASMITE_LOG: "off" },
    stdio: "ignore",
  });
  const fs = require("node:fs");
  const started = Date.now();
  while (!fs.existsSync(ready)) {
    assert.ok(Date.now() - started < 15000, "server listens");
    assert.equal(child.exitCode, null, "server still running");
    await new Promise((r) => setTimeout(r, 20));
  }
  const addr = fs.readFileSync(ready, "utf8").trim();
  const res = await fetch(`http://${addr}/healthz`);
  assert.equal(res.status, 200);
  const exited = new Promise((r) => child.on("exit", (code, signal) => r({ code, signal })));
  child.kill("SIGTERM");
  const { code } = await exited;
  assert.equal(code, 0, "the shim exits with the server's status");
});
