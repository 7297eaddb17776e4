import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  constants,
  createServer,
  type Http2Server,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type AddressInfo, connect, createServer as createTcpServer, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Dispatcher } from 'undici';
import { H2cDispatcher, type H2cOptions } from './h2c-dispatcher.ts';

const OPTIONS: H2cOptions = {
  connectTimeoutMs: 1000,
  streams: 2,
  connections: 4,
  idleMs: 200,
  maxResponseBytes: 0,
  maxHeaderBytes: 16 * 1024,
  ping: undefined,
};

interface Outcome {
  status?: number;
  body: string;
  trailers?: Record<string, unknown>;
  error?: Error & { code?: string; http2ErrorCode?: number };
}

/** One request through the dispatcher, as the exchange makes it, resolved with what its handler saw. */
function call(dispatcher: H2cDispatcher, path: string, body: Buffer | null = null): Promise<Outcome> {
  return new Promise((resolve) => {
    const out: Outcome = { body: '' };
    const handler: Dispatcher.DispatchHandler = {
      onResponseStart: (_c, status) => void (out.status = status),
      onResponseData: (_c, chunk) => void (out.body += chunk.toString()),
      onResponseEnd: (_c, trailers) => resolve({ ...out, trailers }),
      onResponseError: (_c, error) => resolve({ ...out, error }),
    };
    dispatcher.dispatch({ path, method: 'POST', headers: { host: 'api.test', te: 'trailers' }, body }, handler);
  });
}

async function server(
  t: { after(fn: () => unknown): void },
  onStream: (s: ServerHttp2Stream, headers: IncomingHttpHeaders, rawHeaders: string[]) => void,
) {
  const sessions: unknown[] = [];
  const h2: Http2Server = createServer();
  h2.on('session', (s) => sessions.push(s));
  h2.on('stream', (stream, headers, _flags, rawHeaders) => onStream(stream, headers, rawHeaders));
  await new Promise<void>((resolve) => h2.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    // A session behind a stopped relay never ends by itself.
    for (const s of sessions) (s as { destroy(): void }).destroy();
    return new Promise((resolve) => h2.close(resolve));
  });
  return { origin: `http://127.0.0.1:${(h2.address() as AddressInfo).port}`, sessions };
}

test('a call gets the status, body and trailers; the Host goes as :authority', async (t) => {
  const { origin } = await server(t, (stream, headers) => {
    let got = '';
    stream.on('data', (c) => (got += c));
    stream.on('end', () => {
      stream.respond({ ':status': 200 }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(`${headers[':authority']} ${headers.te} ${got}`);
    });
  });
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  const out = await call(dispatcher, '/echo', Buffer.from('hello'));
  assert.equal(out.status, 200);
  assert.equal(out.body, 'api.test trailers hello');
  assert.deepEqual(out.trailers, { 'grpc-status': '0' });
});

test("each value of a repeated header is a field of its own; with no Host, :authority is the target's", async (t) => {
  let seen: string[] = [];
  const { origin } = await server(t, (stream, _headers, rawHeaders) => {
    seen = rawHeaders;
    stream.respond({ ':status': 204 }, { endStream: true });
  });
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  const status = await new Promise<number>((resolve) => {
    const handler: Dispatcher.DispatchHandler = {
      onResponseStart: (_c, code) => resolve(code),
      onResponseError: (_c, error) => resolve(String(error) as never),
    };
    const headers = { 'x-tag': ['one', 'two'], accept: 'text/plain', skipped: undefined };
    dispatcher.dispatch({ path: '/h', method: 'GET', headers }, handler);
  });
  assert.equal(status, 204);
  const pairs: string[] = [];
  for (let i = 0; i < seen.length; i += 2) pairs.push(`${seen[i]}=${seen[i + 1]}`);
  assert.deepEqual(pairs, [
    ':method=GET',
    ':path=/h',
    ':scheme=http',
    `:authority=${new URL(origin).host}`,
    'x-tag=one',
    'x-tag=two',
    'accept=text/plain',
  ]);
});

test('calls share a connection up to its stream limit, then open another', async (t) => {
  const held: ServerHttp2Stream[] = [];
  const { origin, sessions } = await server(t, (stream) => {
    stream.resume();
    held.push(stream);
  });
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  const calls = Array.from({ length: 4 }, () => call(dispatcher, '/slow'));
  while (held.length < 4) await new Promise((r) => setTimeout(r, 10));
  assert.equal(sessions.length, 2, 'two streams per connection: four calls, two connections');
  for (const stream of held) stream.respond({ ':status': 204 }, { endStream: true });
  assert.deepEqual(
    (await Promise.all(calls)).map((o) => o.status),
    [204, 204, 204, 204],
  );
});

test('a refused connection reaches the handler as ECONNREFUSED, which the exchange may retry elsewhere', async () => {
  const dispatcher = new H2cDispatcher('http://127.0.0.1:9', OPTIONS);
  const out = await call(dispatcher, '/x');
  assert.equal(out.error?.code, 'ECONNREFUSED', String(out.error));
  await dispatcher.close();
});

test('a stream the target resets keeps its HTTP/2 error code (REFUSED_STREAM may be retried)', async (t) => {
  const { origin } = await server(t, (stream) => {
    stream.on('error', () => undefined);
    stream.close(constants.NGHTTP2_REFUSED_STREAM);
  });
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  const out = await call(dispatcher, '/x');
  assert.equal(out.error?.http2ErrorCode, constants.NGHTTP2_REFUSED_STREAM, String(out.error));
});

test('a target that drops its connection mid-response: the connection is lost, not a stream reset', async (t) => {
  const { origin } = await server(t, (stream) => {
    stream.respond({ ':status': 200 });
    stream.write('part');
    setTimeout(() => stream.session?.destroy(), 20);
  });
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  const out = await call(dispatcher, '/x');
  assert.equal(out.status, 200);
  assert.equal(out.body, 'part');
  assert.ok(out.error, 'the call fails');
  assert.equal(out.error.http2ErrorCode, undefined, String(out.error));
});

test('a response over the size limit is cut with the limit error', async (t) => {
  const { origin } = await server(t, (stream) => {
    stream.respond({ ':status': 200 });
    stream.end(Buffer.alloc(5000));
  });
  const dispatcher = new H2cDispatcher(origin, { ...OPTIONS, maxResponseBytes: 1000 });
  t.after(() => dispatcher.close());
  const out = await call(dispatcher, '/big');
  assert.equal(out.error?.code, 'UND_ERR_RES_EXCEEDED_MAX_SIZE');
});

test('an idle connection is closed after idleMs', async (t) => {
  const { origin, sessions } = await server(t, (stream) => stream.respond({ ':status': 204 }, { endStream: true }));
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  assert.equal((await call(dispatcher, '/a')).status, 204);
  const [session] = sessions as { closed: boolean; destroyed: boolean }[];
  await new Promise((r) => setTimeout(r, OPTIONS.idleMs + 200));
  assert.ok(session.closed || session.destroyed, 'the idle connection was closed');
  assert.equal((await call(dispatcher, '/b')).status, 204, 'the next call opens a new one');
  assert.equal(sessions.length, 2);
});

test('a closed stream lets go of its call handler (a stream Node still holds does not hold the request)', async (t) => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const { origin } = await server(t, (stream) => stream.respond({ ':status': 204 }, { endStream: true }));
  const streams: unknown[] = [];
  const created = ({ stream }: { stream: unknown }) => streams.push(stream);
  subscribe('http2.client.stream.created', created as (m: unknown) => void);
  t.after(() => unsubscribe('http2.client.stream.created', created as (m: unknown) => void));
  const dispatcher = new H2cDispatcher(origin, OPTIONS);
  t.after(() => dispatcher.close());
  let handler: Dispatcher.DispatchHandler | undefined;
  const ended = new Promise<void>((resolve) => {
    handler = { onResponseEnd: () => resolve(), onResponseError: () => resolve() };
    dispatcher.dispatch({ path: '/x', method: 'GET', headers: { host: 'api.test' } }, handler);
  });
  await ended;
  const closed = streams[0] as { closed: boolean; once(e: string, f: () => void): void };
  if (!closed.closed) await new Promise<void>((resolve) => closed.once('close', resolve));
  const gone = new WeakRef(handler!);
  handler = undefined;
  for (let i = 0; i < 5 && gone.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(streams.length, 1, 'the test holds the stream');
  assert.equal(gone.deref(), undefined, 'the closed stream still holds the handler');
});

/**
 * A TCP relay in front of `origin` that can stop forwarding while keeping both sockets open: a target that hangs or
 * vanishes without a reset, as far as the dispatcher can tell (the relay's kernel still acknowledges its bytes).
 */
async function relay(t: { after(fn: () => unknown): void }, origin: string) {
  const target = new URL(origin);
  const sockets: Socket[] = [];
  const tcp = createTcpServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.push(client, upstream);
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    return new Promise((resolve) => tcp.close(resolve));
  });
  return {
    origin: `http://127.0.0.1:${(tcp.address() as AddressInfo).port}`,
    blackhole: () => {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
  };
}

const PING = { intervalMs: 150, timeoutMs: 150 };

test(
  'a connection that stops answering with a call in flight is found by an unanswered PING and closed: the call ' +
    'fails as a lost connection, and the next call gets a new connection',
  async (t) => {
    let answer = true;
    const { origin } = await server(t, (stream) => {
      stream.respond({ ':status': 200 });
      stream.write('first');
      // The first call stays open and quiet; the next one is answered whole.
      if (answer) answer = false;
      else stream.end('second');
    });
    const front = await relay(t, origin);
    const dispatcher = new H2cDispatcher(front.origin, { ...OPTIONS, ping: PING });
    t.after(() => dispatcher.close());
    const quiet = call(dispatcher, '/quiet');
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    front.blackhole();
    const out = await quiet;
    const tookMs = performance.now() - started;
    assert.equal(out.body, 'first');
    assert.equal(out.error?.code, 'UND_ERR_SOCKET', String(out.error));
    assert.match(out.error?.message ?? '', /did not answer an HTTP\/2 PING within 150 ms/);
    assert.ok(tookMs < 1500, `found in ${Math.round(tookMs)} ms (1.25 intervals and the timeout: ~340 ms)`);
    const next = await call(dispatcher, '/next');
    assert.equal(next.error, undefined);
    assert.equal(next.body, 'firstsecond');
  },
);

test('a quiet call on a live connection is pinged, not cut; PINGs are never closer than the interval', async (t) => {
  const pings: number[] = [];
  const { origin, sessions } = await server(t, (stream) => {
    stream.respond({ ':status': 200 });
    stream.write('a');
    setTimeout(() => stream.end('b'), 1000);
  });
  const dispatcher = new H2cDispatcher(origin, { ...OPTIONS, ping: PING });
  t.after(() => dispatcher.close());
  const pending = call(dispatcher, '/slow');
  await new Promise((r) => setTimeout(r, 50));
  (sessions[0] as import('node:http2').ServerHttp2Session).on('ping', () => pings.push(performance.now()));
  const out = await pending;
  assert.equal(out.error, undefined);
  assert.equal(out.body, 'ab');
  assert.ok(pings.length >= 3, `${pings.length} PINGs in ~1 s at 150 ms`);
  for (let i = 1; i < pings.length; i++) assert.ok(pings[i] - pings[i - 1] >= 140, 'two PINGs an interval apart');
  // Idle now: the connection is not pinged (keep_alive closes it), nor was one that kept reading.
  const before = pings.length;
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(pings.length, before);
});

test(
  'a call that timed out (header_ms) has its connection PINGed at once: a dead one is closed long before the next ' +
    'quiet interval, and the next call gets a new connection',
  async (t) => {
    let first = true;
    const { origin } = await server(t, (stream) => {
      // The first call is never answered; the next ones are.
      if (first) first = false;
      else stream.respond({ ':status': 200 }, { endStream: true });
    });
    const front = await relay(t, origin);
    // Neither the quiet interval nor the idle close comes in the test's time: only the probe can find it.
    const ping = { intervalMs: 60_000, timeoutMs: 200 };
    const dispatcher = new H2cDispatcher(front.origin, { ...OPTIONS, idleMs: 60_000, ping });
    t.after(() => dispatcher.close());
    let controller: Dispatcher.DispatchController | undefined;
    const waiting = new Promise<Error>((resolve) => {
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart: (c) => void (controller = c),
        onResponseError: (_c, error) => resolve(error),
      };
      dispatcher.dispatch({ path: '/stuck', method: 'GET', headers: {}, body: null }, handler);
    });
    await new Promise((r) => setTimeout(r, 100));
    front.blackhole();
    controller!.abort(Object.assign(new Error('upstream header timeout'), { code: 'TOLLGATE_HEADERS_TIMEOUT' }));
    assert.equal(((await waiting) as NodeJS.ErrnoException).code, 'TOLLGATE_HEADERS_TIMEOUT');
    await new Promise((r) => setTimeout(r, 400)); // the PING's 200 ms and then some
    const next = await Promise.race([
      call(dispatcher, '/next'),
      new Promise<Outcome>((r) => setTimeout(() => r({ body: 'still waiting after 2 s' }), 2000)),
    ]);
    assert.equal(next.status, 200, next.body);
  },
);

test('without ping options a quiet call on a stopped connection waits for its own timeouts', async (t) => {
  const { origin } = await server(t, (stream) => {
    stream.respond({ ':status': 200 });
    stream.write('first');
  });
  const front = await relay(t, origin);
  const dispatcher = new H2cDispatcher(front.origin, OPTIONS);
  t.after(() => dispatcher.close());
  let settled = false;
  const pending = call(dispatcher, '/quiet').then(() => (settled = true));
  await new Promise((r) => setTimeout(r, 100));
  front.blackhole();
  await new Promise((r) => setTimeout(r, 800));
  assert.equal(settled, false);
  void pending;
});
