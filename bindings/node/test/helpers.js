"use strict";
// Test support: scratch directories, the pls binary, a `pls serve` on a free port, and the
// README's code blocks.

const assert = require("node:assert");
const { spawn, spawnSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const ROOT = path.join(__dirname, "..");

/** The pls binary: PLASMITE_PLS, else the one shipped in native/. */
const PLS = process.env.PLASMITE_PLS || path.join(ROOT, "native", "pls");

/** A new empty directory, removed when the process exits. */
function scratch(prefix = "plasmite-node-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Runs pls synchronously; returns {status, stdout, stderr}. */
function pls(args, options = {}) {
  const r = spawnSync(PLS, args, { encoding: "utf8", ...options });
  if (r.error) throw r.error;
  return r;
}

/** `pls --dir DIR serve --bind 127.0.0.1:0`, resolved once it listens: {url, stop()}. */
async function serve(dir, args = []) {
  const ready = path.join(dir, `ready-${process.pid}-${Date.now()}`);
  const log = path.join(dir, `serve-${process.pid}-${Date.now()}.log`);
  const child = spawn(PLS, ["--dir", dir, "serve", "--bind", "127.0.0.1:0", ...args], {
    env: { ...process.env, PLASMITE_SERVE_READY_FILE: ready, PLASMITE_LOG: "warn" },
    stdio: ["ignore", "ignore", fs.openSync(log, "w")],
  });
  const exited = new Promise((resolve) => child.on("exit", resolve));
  const started = Date.now();
  for (;;) {
    let addr = "";
    try {
      addr = fs.readFileSync(ready, "utf8").trim();
    } catch {
      // not yet
    }
    if (addr) {
      return {
        url: `http://${addr}`,
        async stop() {
          if (child.exitCode === null) child.kill("SIGTERM");
          await exited;
        },
      };
    }
    if (child.exitCode !== null) {
      throw new Error(`pls serve exited before listening:\n${fs.readFileSync(log, "utf8")}`);
    }
    assert.ok(Date.now() - started < 15000, "pls serve did not listen within 15 s");
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The ```js / ```ts code blocks of README.md, in order, each with the heading above it. */
function readmeBlocks(file = path.join(ROOT, "README.md")) {
  const text = fs.readFileSync(file, "utf8");
  const blocks = [];
  let heading = "";
  const re = /^(#+ .*)$|^```(\w*)\n([\s\S]*?)^```$/gm;
  let m;
  while ((m = re.exec(text)) !== null) {
    if (m[1]) heading = m[1].replace(/^#+ /, "");
    else blocks.push({ heading, lang: m[2], code: m[3] });
  }
  return blocks;
}

/**
 * Runs `code` with node in `cwd`, where `require("plasmite")` finds this package; resolves to
 * {status, stdout, stderr}.
 */
function runNode(code, cwd, { input } = {}) {
  const modules = path.join(cwd, "node_modules");
  fs.mkdirSync(modules, { recursive: true });
  const link = path.join(modules, "plasmite");
  if (!fs.existsSync(link)) fs.symlinkSync(ROOT, link, "dir");
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["-e", code], { cwd, stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input ?? "");
  });
}

module.exports = { ROOT, PLS, scratch, pls, serve, readmeBlocks, runNode };
