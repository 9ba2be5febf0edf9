#!/usr/bin/env node
"use strict";
// `plasmite` and `pls`: run the `pls` command-line tool shipped in native/, with the same
// arguments, inherited stdio and its exit status (a signal ends this process the same way).

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");

const exe = process.env.PLASMITE_PLS ||
  path.join(__dirname, "..", "native", process.platform === "win32" ? "pls.exe" : "pls");

if (!fs.existsSync(exe)) {
  process.stderr.write(`plasmite: the pls binary is missing (${exe})\n`);
  process.exit(1);
}

const child = spawn(exe, process.argv.slice(2), { stdio: "inherit" });
const forward = ["SIGINT", "SIGTERM", "SIGHUP"];
for (const sig of forward) {
  process.on(sig, () => {
    if (child.exitCode === null) child.kill(sig);
  });
}
child.on("error", (e) => {
  process.stderr.write(`plasmite: could not run ${exe}: ${e.message}\n`);
  process.exit(1);
});
child.on("exit", (code, signal) => {
  if (signal) {
    for (const sig of forward) process.removeAllListeners(sig);
    process.kill(process.pid, signal);
    setTimeout(() => process.exit(1), 100);
    return;
  }
  process.exit(code === null ? 1 : code);
});
