// Type declarations of the `plasmite` package (CommonJS `index.js`, ES module `index.mjs`).
// Checked by `tsc --noEmit` over test/types-example.ts; test/exports.test.js keeps the value
// exports here equal to the runtime's.

/// <reference types="node" />

/** A sequence number argument: a non-negative integer number, or a bigint. */
export type SeqLike = number | bigint;

/** How appends reach the disk. */
export declare const Durability: Readonly<{
  /** Return once written to the shared mapping (the default). */
  Fast: 0;
  /** Also sync the written pages to disk before returning. */
  Flush: 1;
}>;
export type Durability = 0 | 1;
/** Remote appends also accept the names. */
export type DurabilityLike = Durability | "fast" | "flush";

/** The stable error kinds (values are the names). */
export declare const ErrorKind: Readonly<{
  Internal: "Internal";
  Usage: "Usage";
  NotFound: "NotFound";
  AlreadyExists: "AlreadyExists";
  Busy: "Busy";
  Permission: "Permission";
  Corrupt: "Corrupt";
  Io: "Io";
  RetentionGap: "RetentionGap";
}>;
export type ErrorKind =
  | "Internal"
  | "Usage"
  | "NotFound"
  | "AlreadyExists"
  | "Busy"
  | "Permission"
  | "Corrupt"
  | "Io"
  | "RetentionGap";

/** The stable number of each kind (the CLI's exit code). */
export declare const ErrorKindCode: Readonly<{ [K in ErrorKind]: number }>;

/** `path.join(os.homedir(), ".plasmite", "pools")`. */
export declare const DEFAULT_POOL_DIR: string;
/** 1 MiB. */
export declare const DEFAULT_POOL_SIZE: number;
/** 1 MiB. */
export declare const DEFAULT_POOL_SIZE_BYTES: number;

/** A raw frame. */
export interface Lite3Frame {
  seq: bigint;
  timestampNs: bigint;
  flags: number;
  /** The Lite³ envelope as stored. */
  payload: Buffer;
  /** `timestampNs` as a Date (ms precision). */
  readonly time: Date;
}

export interface MessageMeta {
  readonly tags: readonly string[];
}

/** The JSON envelope of a message, as the server and `getJson` send it. */
export interface MessageEnvelope {
  seq: number | bigint | string;
  /** RFC 3339, UTC. */
  time: string;
  data: unknown;
  meta?: { tags?: string[] };
}

/** One message. */
export declare class Message<T = any> {
  constructor(envelope: MessageEnvelope, raw?: Buffer | null);
  readonly seq: bigint;
  readonly time: Date;
  readonly timeRfc3339: string;
  readonly data: T;
  readonly meta: MessageMeta;
  readonly tags: readonly string[];
  /** The envelope's JSON bytes. */
  readonly raw: Buffer;
  toJSON(): { seq: number | string; time: string; meta: { tags: string[] }; data: T };
}

export declare function parseMessage(x: Message | Buffer | Uint8Array | MessageEnvelope): Message;

/** An error of a local operation. */
export declare class PlasmiteNativeError extends Error {
  readonly name: "PlasmiteNativeError";
  readonly kind: ErrorKind;
  readonly kindCode: number;
  readonly hint?: string;
  readonly path?: string;
  readonly seq?: number;
  readonly offset?: number;
  readonly cause?: unknown;
}

/** An error answered by a server. */
export declare class RemoteError extends Error {
  readonly name: "RemoteError";
  readonly status: number;
  readonly kind: ErrorKind;
  readonly kindCode: number;
  readonly hint?: string;
  readonly path?: string;
  readonly seq?: number;
  readonly offset?: number;
}

/** Pool info, as the engine, the CLI and the server report it. */
export interface PoolInfo {
  name: string;
  path: string;
  file_size: number;
  index_offset: number;
  index_capacity: number;
  index_size_bytes: number;
  ring_offset: number;
  ring_size: number;
  /** Empty when the pool is empty. */
  bounds: { oldest?: number; newest?: number };
  metrics: {
    message_count: number;
    seq_span: number;
    utilization: { used_bytes: number; free_bytes: number; used_percent: number };
    age: {
      oldest_time: string | null;
      newest_time: string | null;
      oldest_age_ms: number | null;
      newest_age_ms: number | null;
    };
  };
}

/** The error object of the engine and the server. */
export interface ErrorObject {
  kind: ErrorKind;
  message: string;
  hint?: string;
  path?: string;
  seq?: number;
  offset?: number;
  causes?: string[];
}

/** A listed pool that could not be read. */
export interface PoolListError {
  name: string;
  path?: string;
  error: ErrorObject;
}

export type RemotePoolInfo = PoolInfo;

export interface LocalTailOptions {
  /** First sequence (inclusive); default: the oldest retained message. */
  sinceSeq?: SeqLike | null;
  /** End after this many messages. */
  maxMessages?: SeqLike | null;
  /** End after this many ms without a message; default: never. */
  timeoutMs?: number | null;
  /** Every tag must be present (one string is one tag). */
  tags?: string | string[];
  /** jq predicates over the envelope, all true (run in this process). */
  where?: string | string[];
  /** End with a RetentionGap error when messages were evicted unread. */
  errorOnGap?: boolean;
}

export interface ReplayOptions extends LocalTailOptions {
  /** Playback speed (2 = twice as fast); must be positive. Default 1. */
  speed?: number;
}

/** A live tail of a local pool. */
export declare class LocalTail implements AsyncIterableIterator<Message> {
  next(): Promise<IteratorResult<Message, undefined>>;
  return(value?: any): Promise<IteratorResult<Message, any>>;
  throw(error?: any): Promise<IteratorResult<Message, any>>;
  cancel(): void;
  [Symbol.asyncIterator](): LocalTail;
}

export declare class Stream implements Iterable<Buffer> {
  nextJson(): Buffer | null;
  close(): void;
  [Symbol.iterator](): Iterator<Buffer>;
}

export declare class Lite3Stream implements Iterable<Lite3Frame> {
  next(): Lite3Frame | null;
  close(): void;
  [Symbol.iterator](): Iterator<Lite3Frame>;
}

export declare class Pool {
  private constructor();
  readonly path: string;
  appendJson(payload: Buffer | Uint8Array | string | object, tags?: string[], durability?: DurabilityLike): Buffer;
  append<T extends object = any>(payload: T, tags?: string[], durability?: DurabilityLike): Message<T>;
  appendLite3(payload: Buffer | Uint8Array, durability?: DurabilityLike): bigint;
  getJson(seq: SeqLike): Buffer;
  get(seq: SeqLike): Message;
  getLite3(seq: SeqLike): Lite3Frame;
  info(): PoolInfo;
  openStream(sinceSeq?: SeqLike | null, maxMessages?: SeqLike | null, timeoutMs?: number | null, errorOnGap?: boolean): Stream;
  openLite3Stream(sinceSeq?: SeqLike | null, maxMessages?: SeqLike | null, timeoutMs?: number | null, errorOnGap?: boolean): Lite3Stream;
  tail(options?: LocalTailOptions): LocalTail;
  replay(options?: ReplayOptions): AsyncGenerator<Message, void, undefined>;
  close(): void;
}

export declare class Client {
  constructor(poolDir?: string);
  readonly poolDir: string;
  createPool(poolRef: string, sizeBytes?: SeqLike): Pool;
  openPool(poolRef: string): Pool;
  pool(poolRef: string, sizeBytes?: SeqLike): Pool;
  listPools(): Array<PoolInfo | PoolListError>;
  poolInfo(poolRef: string): PoolInfo;
  deletePool(poolRef: string): void;
  close(): void;
}

export declare function replay(pool: Pool, options?: ReplayOptions): AsyncGenerator<Message, void, undefined>;

export interface RemoteClientOptions {
  token?: string | null;
}

export interface RemoteTailOptions {
  sinceSeq?: SeqLike | null;
  maxMessages?: SeqLike | null;
  /** End after this many ms without a message; default: never (reconnecting as needed). */
  timeoutMs?: number | null;
  tags?: string | string[];
  /** jq predicates, run by the server. */
  where?: string | string[];
  errorOnGap?: boolean;
}

export declare class RemoteClient {
  constructor(baseUrl: string | URL, options?: RemoteClientOptions);
  readonly baseUrl: URL;
  token: string | null;
  withToken(token: string): this;
  createPool(pool: string, sizeBytes?: SeqLike): Promise<PoolInfo>;
  openPool(pool: string): Promise<RemotePool>;
  poolInfo(pool: string): Promise<PoolInfo>;
  listPools(): Promise<Array<PoolInfo | PoolListError>>;
  deletePool(pool: string): Promise<void>;
}

export declare class RemotePool {
  readonly client: RemoteClient;
  readonly pool: string;
  poolRef(): string;
  append<T extends object = any>(data: T, tags?: string[], durability?: DurabilityLike): Promise<Message<T>>;
  get(seq: SeqLike): Promise<Message>;
  info(): Promise<PoolInfo>;
  tail(options?: RemoteTailOptions): RemoteTail;
}

/** A live tail of a remote pool. */
export declare class RemoteTail implements AsyncIterable<Message> {
  /** The next message, or null once the tail ended. */
  next(): Promise<Message | null>;
  cancel(): Promise<void>;
  [Symbol.asyncIterator](): AsyncIterableIterator<Message>;
}
