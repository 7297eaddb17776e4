import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { startRawUpstream, type RawUpstream } from '../../../../test/helpers/raw-upstream.ts';
import { connector } from '../undici.ts';
import { checkRequest, probeHttpFresh, type FreshHttpProbe } from './fresh-http-probe.ts';

function probeOf(upstream: { port: number }, overrides: Partial<FreshHttpProbe> = {}): FreshHttpProbe {
  return {
    endpoint: {
      protocol: 'http:',
      hostname: '127.0.0.1',
      host: `127.0.0.1:${upstream.port}`,
      port: String(upstream.port),
    },
    request: checkRequest('/healthz?deep=1', 'api.internal:8080'),
    expectedStatuses: new Set([200, 204]),
    connect: connector({ timeout: 1000 }),
    lingerMs: 1000,
    ...overrides,
  };
}

async function withRaw(
  respond: (socket: Socket, head: string) => void,
  fn: (u: RawUpstream) => Promise<void>,
): Promise<void> {
  const upstream = await startRawUpstream(respond);
  try {
    await fn(upstream);
  } finally {
    await upstream.close();
  }
}

const check = (u: RawUpstream, overrides?: Partial<FreshHttpProbe>) =>
  probeHttpFresh(probeOf(u, overrides), new AbortController().signal);

test('sends one GET with the Host it is given and Connection: close, and judges the status', async () => {
  for (const [status, ok] of [
    [200, true],
    [204, true],
    [503, false],
    [301, false],
  ] as const) {
    await withRaw(
      (socket) => socket.end(`HTTP/1.1 ${status} Whatever\r\ncontent-length: 2\r\n\r\nok`),
      async (u) => {
        assert.equal(await check(u), ok, String(status));
        assert.deepEqual(u.heads, ['GET /healthz?deep=1 HTTP/1.1\r\nHost: api.internal:8080\r\nConnection: close']);
      },
    );
  }
});

test('a status line without a reason phrase, HTTP/1.0, and an interim 103 before the answer are read', async () => {
  for (const answer of [
    'HTTP/1.1 200\r\n\r\n',
    'HTTP/1.1 200 \r\n\r\n',
    'HTTP/1.0 200 OK\r\n\r\nok',
    'HTTP/1.1 103 Early Hints\r\nlink: </a>\r\n\r\nHTTP/1.1 200 OK\r\n\r\n',
  ]) {
    await withRaw(
      (socket) => socket.end(answer),
      async (u) => assert.equal(await check(u), true, JSON.stringify(answer)),
    );
  }
  // The head may come a byte at a time.
  await withRaw(
    (socket) => {
      const bytes = Buffer.from('HTTP/1.1 204 No Content\r\nx: y\r\n\r\n');
      let i = 0;
      const next = (): void => {
        if (i < bytes.length) socket.write(bytes.subarray(i, ++i), () => setImmediate(next));
        else socket.end();
      };
      next();
    },
    async (u) => assert.equal(await check(u), true),
  );
});

test(
  'an answer that is not HTTP/1.x, a head over 16 KB, or ' + 'a close before the head rejects with a code saying which',
  async () => {
    const cases: Array<[string, (socket: Socket) => void]> = [
      ['TOLLGATE_CHECK_INVALID_RESPONSE', (s) => s.end('SSH-2.0-OpenSSH_9.2\r\n\r\n')],
      ['TOLLGATE_CHECK_INVALID_RESPONSE', (s) => s.end('HTTP/2 200\r\n\r\n')],
      ['TOLLGATE_CHECK_INVALID_RESPONSE', (s) => s.end('HTTP/1.1 20x OK\r\n\r\n')],
      ['TOLLGATE_CHECK_HEAD_TOO_LARGE', (s) => s.write(`HTTP/1.1 200 OK\r\nx-big: ${'a'.repeat(20_000)}`)],
      ['TOLLGATE_CHECK_CLOSED', (s) => s.end('HTTP/1.1 200 OK\r\n')],
      ['TOLLGATE_CHECK_CLOSED', (s) => s.end()],
    ];
    for (const [code, respond] of cases) {
      await withRaw(respond, async (u) => {
        await assert.rejects(check(u), (err: NodeJS.ErrnoException) => err.code === code, code);
      });
    }
  },
);

test('a refused connection rejects with the connect error', async () => {
  const u = await startRawUpstream(() => {});
  await u.close();
  await assert.rejects(check(u), (err: NodeJS.ErrnoException) => err.code === 'ECONNREFUSED');
});

test(
  'the status decides at once; the body is read and dropped ' +
    'until the target closes, at most 64 KB or lingerMs of silence',
  async () => {
    // A target that keeps the connection open after a 200: the check resolves on the head, then drops it after
    // lingerMs.
    let closed = 0;
    await withRaw(
      (socket) => {
        socket.on('close', () => closed++);
        socket.write('HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nhello');
      },
      async (u) => {
        const started = performance.now();
        assert.equal(await check(u, { lingerMs: 150 }), true);
        assert.ok(performance.now() - started < 140, 'resolved on the head');
        assert.equal(closed, 0);
        await sleep(400);
        assert.equal(closed, 1, 'the connection was dropped after lingerMs of silence');
      },
    );
    // A body that never ends: dropped past 64 KB.
    closed = 0;
    await withRaw(
      (socket) => {
        socket.on('close', () => closed++);
        socket.write('HTTP/1.1 200 OK\r\n\r\n');
        const chunk = Buffer.alloc(16 * 1024, 97);
        const pump = (): void => {
          if (!socket.destroyed) socket.write(chunk, () => setImmediate(pump));
        };
        pump();
      },
      async (u) => {
        assert.equal(await check(u, { lingerMs: 10_000 }), true);
        await sleep(300);
        assert.equal(closed, 1, 'the connection was dropped after 64 KB of body');
      },
    );
  },
);

test('an abort while waiting for the answer rejects with its reason and closes the connection', async () => {
  let closed = false;
  await withRaw(
    (socket) =>
      socket.on('close', () => {
        closed = true;
      }),
    async (u) => {
      const controller = new AbortController();
      const pending = probeHttpFresh(probeOf(u), controller.signal);
      await sleep(50);
      controller.abort(new Error('health check timed out'));
      await assert.rejects(pending, /health check timed out/);
      await sleep(50);
      assert.equal(closed, true);
    },
  );
  const aborted = AbortSignal.abort(new Error('already'));
  await assert.rejects(probeHttpFresh(probeOf({ port: 1 }), aborted), /already/);
});

test('a path or Host that could break the request line is refused', () => {
  for (const [path, host] of [
    ['/a b', 'h'],
    ['/a\r\nX: y', 'h'],
    ['/é', 'h'],
    ['/ok', 'h\r\nx: y'],
  ]) {
    assert.throws(() => checkRequest(path, host), RangeError, JSON.stringify([path, host]));
  }
  assert.equal(
    checkRequest('/healthz?x=%20', '[::1]:80'),
    'GET /healthz?x=%20 HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n',
  );
});
