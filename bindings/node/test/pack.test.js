"use strict";
// `npm pack` makes a package that installs into a new project, where the README's local
// example and the CLI run.

const assert = require("node:assert");
const { spawnSync } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { test } = require("node:test");
const { ROOT, readmeBlocks, scratch } = require("./helpers");

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8" });
  assert.equal(r.status, 0, `${cmd} ${args.join(" ")}:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

test("npm pack produces a package that installs and runs the README example", () => {
  const out = scratch();
  const packed = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", out], ROOT));
  const files = packed[0].files.map((f) => f.path);
  for (const f of ["index.js", "index.mjs", "index.d.ts", "bin/plasmite.js", "native/pls", "lib/local.js"]) {
    assert.ok(files.includes(f), `the package holds ${f}`);
  }
  assert.ok(files.some((f) => /^native\/plasmite\..*\.node$/.test(f)), "and the addon");
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("src/") || f.startsWith("node_modules/")));
  const project = scratch();
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "scratch", version: "1.0.0", private: true }));
  run("npm", ["install", "--offline", "--no-audit", "--no-fund", path.join(out, packed[0].filename)], project);
  const local = readmeBlocks().find((b) => b.lang === "js" && b.heading === "Local pools (native, in-process)");
  fs.writeFileSync(path.join(project, "example.js"), local.code);
  const printed = run(process.execPath, ["example.js"], project);
  assert.match(printed, /kind: 'signup', user: 'alice'/);
  const esm = "import { Client } from 'plasmite'; console.log(new Client('./data').openPool('events').get(1).data.user);";
  fs.writeFileSync(path.join(project, "example.mjs"), esm);
  assert.equal(run(process.execPath, ["example.mjs"], project), "alice\n");
  const version = run("npx", ["--no-install", "plasmite", "--version"], project);
  assert.match(version, /\d+\.\d+\.\d+/);
  const mode = fs.statSync(path.join(project, "node_modules", "plasmite", "native", "pls")).mode;
  assert.ok(mode & 0o100, "pls stays executable");
});
