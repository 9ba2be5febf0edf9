// The ES module entry: the same objects as the CommonJS entry (one module instance).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const plasmite = require("./index.js");

export const {
  Client,
  Pool,
  Stream,
  Lite3Stream,
  LocalTail,
  Message,
  DEFAULT_POOL_DIR,
  DEFAULT_POOL_SIZE,
  DEFAULT_POOL_SIZE_BYTES,
  Durability,
  ErrorKind,
  ErrorKindCode,
  PlasmiteNativeError,
  RemoteClient,
  RemoteError,
  RemotePool,
  RemoteTail,
  parseMessage,
  replay,
} = plasmite;
export default plasmite;
