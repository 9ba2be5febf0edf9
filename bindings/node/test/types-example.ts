// A typed program over the package's declarations: `tsc --noEmit` must accept it.
import {
  Client,
  Durability,
  ErrorKind,
  Message,
  PlasmiteNativeError,
  Pool,
  PoolInfo,
  RemoteClient,
  RemoteError,
  RemotePool,
  parseMessage,
  replay,
} from "plasmite";

async function main(): Promise<void> {
  const client = new Client("./data");
  const pool: Pool = client.createPool("events", 64 * 1024 * 1024);
  const env: Buffer = pool.appendJson(Buffer.from(JSON.stringify({ kind: "signup" })), ["user-event"], Durability.Flush);
  const msg: Message<{ kind: string }> = pool.append({ kind: "signup" }, ["x"]);
  const seq: bigint = msg.seq;
  const when: Date = msg.time;
  const again: Message = parseMessage(env);
  const lite3Seq: bigint = pool.appendLite3(pool.getLite3(1n).payload);
  const info: PoolInfo = pool.info();
  const count: number = info.metrics.message_count;
  const stream = pool.openStream(0, 10, 100);
  for (const frame of stream) JSON.parse(frame.toString());
  stream.close();
  for await (const m of pool.tail({ sinceSeq: 1n, maxMessages: 2, tags: ["x"], timeoutMs: 100 })) {
    const t: readonly string[] = m.tags;
    void t;
    break;
  }
  for await (const m of replay(pool, { speed: 2 })) void m.data;
  try {
    pool.getJson(999n);
  } catch (err) {
    if (err instanceof PlasmiteNativeError && err.kind === ErrorKind.NotFound) {
      const s: number | undefined = err.seq;
      void s;
    }
  }
  pool.close();
  client.close();

  const remote = new RemoteClient("http://127.0.0.1:9700", { token: "secret" }).withToken("secret");
  const created: PoolInfo = await remote.createPool("events", 1 << 20);
  const rp: RemotePool = await remote.openPool("events");
  const m = await rp.append({ kind: "deploy", sha: "abc123" }, ["ops"], "flush");
  const got = await rp.get(1);
  const tail = rp.tail({ sinceSeq: 0, tags: ["ops"] });
  const next: Message | null = await tail.next();
  await tail.cancel();
  for await (const x of rp.tail({ maxMessages: 1 })) void x.seq;
  try {
    await remote.deletePool("missing");
  } catch (err) {
    if (err instanceof RemoteError) void [err.status, err.kind, err.hint];
  }
  void [seq, when, again, lite3Seq, count, created, m, got, next];
}

void main;
