"use strict";
// plasmite: persistent JSON message pools. Local pools through the native addon, remote
// pools through a plasmite server's HTTP API. Declarations: index.d.ts.

const local = require("./lib/local");
const remote = require("./lib/remote");
const errors = require("./lib/errors");
const message = require("./lib/message");

module.exports = {
  Client: local.Client,
  Pool: local.Pool,
  Stream: local.Stream,
  Lite3Stream: local.Lite3Stream,
  LocalTail: local.LocalTail,
  Message: message.Message,
  DEFAULT_POOL_DIR: local.DEFAULT_POOL_DIR,
  DEFAULT_POOL_SIZE: local.DEFAULT_POOL_SIZE,
  DEFAULT_POOL_SIZE_BYTES: local.DEFAULT_POOL_SIZE_BYTES,
  Durability: local.Durability,
  ErrorKind: errors.ErrorKind,
  ErrorKindCode: errors.ErrorKindCode,
  PlasmiteNativeError: errors.PlasmiteNativeError,
  RemoteClient: remote.RemoteClient,
  RemoteError: errors.RemoteError,
  RemotePool: remote.RemotePool,
  RemoteTail: remote.RemoteTail,
  parseMessage: message.parseMessage,
  replay: local.replay,
};
