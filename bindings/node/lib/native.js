"use strict";
// Loads the addon (`native/plasmite.<platform>.node`) once. A failure is remembered, not
// thrown: the remote client works without the addon, and local classes report the failure
// when used. PLASMITE_NODE_ADDON names another addon file (for development builds).

const fs = require("node:fs");
const path = require("node:path");

/** The addon file names this platform may use, most likely first. */
function candidates() {
  const { platform, arch } = process;
  if (platform === "linux") return [`linux-${arch}-gnu`, `linux-${arch}-musl`];
  if (platform === "win32") return [`win32-${arch}-msvc`];
  return [`${platform}-${arch}`];
}

let loaded = null;
let failure = null;
let file = null;

function load() {
  if (loaded || failure) return;
  const files = process.env.PLASMITE_NODE_ADDON
    ? [process.env.PLASMITE_NODE_ADDON]
    : candidates().map((tag) => path.join(__dirname, "..", "native", `plasmite.${tag}.node`));
  file = files.find((f) => fs.existsSync(f)) || files[0];
  try {
    loaded = require(file);
  } catch (e) {
    failure = e;
  }
}

/** The addon, or a plain Error naming the platform and the file tried. */
function addon() {
  load();
  if (loaded) return loaded;
  throw new Error(
    `plasmite: the native addon for ${process.platform}-${process.arch} could not be loaded ` +
      `from ${file}: ${failure && failure.message}`,
  );
}

module.exports = { addon };
