import assert from 'node:assert/strict';
import { connect, createServer, type ClientHttp2Session, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import fc from 'fast-check';
import { sessionInternal } from './h2-session.ts';
import { adoptStreamTables, PendingStreams, StreamTable } from './h2-stream-table.ts';

// Ids as a session's go (odd, rising) and ids far apart, whose slots collide and wrap around the table.
const streamId = fc.oneof(
  fc.integer({ min: 0, max: 150 }).map((n) => 2 * n + 1),
  fc.integer({ min: 1, max: 2 ** 31 - 1 }),
);

test('a StreamTable holds what a Map would under any sequence of sets, deletes and walks', () => {
  const op = fc.tuple(fc.constantFrom('set', 'delete', 'get', 'walk'), streamId);
  fc.assert(
    fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
      const table = new StreamTable();
      const map = new Map<number, unknown>();
      for (const [kind, id] of ops) {
        if (kind === 'set') {
          const stream = { id };
          table.set(id, stream);
          map.set(id, stream);
        } else if (kind === 'delete') assert.equal(table.delete(id), map.delete(id));
        else if (kind === 'get') assert.equal(table.get(id), map.get(id));
        else {
          // Deleting while walking, as Node's destroy does, visits each entry once.
          const seen: number[] = [];
          table.forEach((_, k) => {
            seen.push(k);
            table.delete(k);
          });
          assert.deepEqual(seen.sort(), [...map.keys()].sort());
          map.clear();
        }
        assert.equal(table.size, map.size);
        assert.equal(table.has(id), map.has(id));
      }
      assert.deepEqual(new Map(table), map);
      assert.deepEqual(
        [...table.keys()],
        [...table].map(([id]) => id),
      );
      assert.deepEqual(
        [...table.values()],
        [...table].map(([, stream]) => stream),
      );
      table.clear();
      assert.equal(table.size, 0);
      assert.deepEqual([...table], []);
    }),
  );
});

test('a PendingStreams holds what a Set would under any sequence of adds and deletes', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 9 })), { maxLength: 200 }), (ops) => {
      const items = Array.from({ length: 10 }, (_, id) => ({ id }));
      const pending = new PendingStreams();
      const set = new Set<unknown>();
      for (const [add, k] of ops) {
        if (add) {
          pending.add(items[k]);
          set.add(items[k]);
        } else assert.equal(pending.delete(items[k]), set.delete(items[k]));
        assert.equal(pending.size, set.size);
        assert.equal(pending.has(items[k]), set.has(items[k]));
      }
      assert.deepEqual(new Set(pending), set);
      assert.deepEqual(
        [...pending.entries()],
        [...pending.keys()].map((s) => [s, s]),
      );
      pending.clear();
      assert.equal(pending.size, 0);
    }),
  );
});

type Tables = { streams: unknown; pendingStreams: unknown };
const tablesOf = (session: ServerHttp2Session | ClientHttp2Session) => sessionInternal<Tables>(session, 'state');

async function pair(): Promise<{ client: ClientHttp2Session; server: ReturnType<typeof createServer> }> {
  const server = createServer();
  server.on('session', (session) => assert.equal(adoptStreamTables(session), true));
  server.on('stream', (stream, headers) => {
    if (headers[':path'] === '/never') return; // left open: the test ends it from the client
    stream.respond({ ':status': 200 });
    stream.end(String(headers[':path']));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const client = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  // Node 24.21 keeps them where adoptStreamTables looks: should that change, this fails, not the gateway's speed.
  assert.equal(adoptStreamTables(client), true);
  return { client, server };
}

function get(client: ClientHttp2Session, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = client.request({ ':path': path });
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => resolve(body));
    req.on('error', reject);
    req.end();
  });
}

test("server and client sessions take the tables in place of Node's Map and Set, and serve through them", async () => {
  const { client, server } = await pair();
  assert.ok(tablesOf(client)?.streams instanceof StreamTable);
  assert.ok(tablesOf(client)?.pendingStreams instanceof PendingStreams);
  // Requests made before the session is up wait among the pending streams; 300 in three waves, 100 at once.
  for (let wave = 0; wave < 3; wave++) {
    const paths = Array.from({ length: 100 }, (_, i) => `/${wave}/${i}`);
    assert.deepEqual(await Promise.all(paths.map((p) => get(client, p))), paths);
  }
  // A stream leaves the table once destroyed, a tick or two after its body ended.
  await new Promise((resolve) => setTimeout(resolve, 20));
  client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.equal((tablesOf(client)!.streams as StreamTable).size, 0);
  assert.equal((tablesOf(client)!.pendingStreams as PendingStreams).size, 0);
});

test('a session destroyed with streams open still ends each of them', async () => {
  const { client, server } = await pair();
  const open = Array.from({ length: 5 }, () => client.request({ ':path': '/never' }));
  const closed = open.map((req) => new Promise<void>((resolve) => req.on('close', resolve)));
  for (const req of open) req.on('error', () => undefined);
  await new Promise((resolve) => open[4].on('ready', resolve));
  assert.equal((tablesOf(client)!.streams as StreamTable).size, 5);
  client.destroy();
  await Promise.all(closed);
  assert.ok(open.every((req) => req.destroyed));
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('a session that has a stream already is left as Node made it', async () => {
  const { client, server } = await pair();
  const other = connect(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const req = other.request({ ':path': '/a' });
  req.resume();
  assert.equal(adoptStreamTables(other), false);
  await new Promise((resolve) => req.on('close', resolve));
  other.close();
  client.close();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
