import assert from 'node:assert/strict';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { after, before, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

// A full GC before each sample, so garbage buffers do not count as held ones.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'z');

let gw: TestGateway;
let up: TestUpstream;
/** What the producing upstream has done for the current /produce request. */
const producer = { written: 0, blocked: false };
let firstBodyChunk: (() => void) | undefined;
/** Resolved when the upstream's response to /trickle, /hang or /produce closes. */
let upstreamClosed: Promise<void> = Promise.resolve();

/** /trickle writes forever, /hang never answers; /produce/N writes N MiB as fast as the socket lets it; /consume
 * reports request body progress. */
function handler(req: IncomingMessage, res: ServerResponse) {
  if (req.url === '/trickle' || req.url === '/hang') {
    req.resume();
    upstreamClosed = new Promise((resolve) => res.once('close', resolve));
    if (req.url === '/hang') return;
    res.writeHead(200, { 'content-type': 'text/plain' });
    const t = setInterval(() => res.write('tick\n'), 20);
    res.once('close', () => clearInterval(t));
    return;
  }
  const m = /^\/produce\/(\d+)$/.exec(req.url ?? '');
  if (m) {
    req.resume();
    const total = Number(m[1]) * MB;
    upstreamClosed = new Promise((resolve) => res.once('close', resolve));
    producer.written = 0;
    producer.blocked = false;
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(total) });
    const pump = () => {
      producer.blocked = false;
      while (producer.written < total) {
        const n = Math.min(CHUNK.length, total - producer.written);
        producer.written += n;
        if (!res.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) {
          producer.blocked = true;
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
    return;
  }
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    if (bytes === 0) firstBodyChunk?.();
    bytes += c.length;
  });
  req.on('end', () => res.writeHead(200).end(String(bytes)));
}

before(async () => {
  up = await startUpstream('stream', handler);
  gw = await startGateway({
    proxy: { max_body_bytes: 0 },
    services: [{ name: 'stream', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: up.url }] } }],
  });
});

after(async () => {
  await gw?.close();
  await up?.close();
});

test('a 20 MB response streams to the client in full without the gateway holding it', async () => {
  // Live buffer memory, sampled after a full GC: RSS alone counts garbage not yet collected.
  const held = () => {
    gc();
    return process.memoryUsage().arrayBuffers;
  };
  const baseline = held();
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, held());
  }, 10);
  try {
    const received = await new Promise<number>((resolve, reject) => {
      request(`${gw.url}/produce/20`, (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
        });
        res.on('end', () => resolve(n));
        res.on('error', reject);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(received, 20 * MB);
  } finally {
    clearInterval(sampler);
  }
  // Client, gateway and upstream share this process: all of them together hold far less than the body.
  assert.ok(peak - baseline < 15 * MB, `buffers held grew by ${((peak - baseline) / MB).toFixed(1)} MB`);
});

test('a slow client holds back a fast upstream (backpressure end to end) and still gets all 50 MB', async () => {
  const total = 50 * MB;
  let received = 0;
  /** Bytes received when the client stopped reading. */
  let paused = 0;
  let res!: IncomingMessage;
  const ended = new Promise<void>((resolve, reject) => {
    request(`${gw.url}/produce/50`, (r) => {
      res = r;
      r.on('data', (c: Buffer) => {
        received += c.length;
        if (received >= MB && paused === 0) {
          paused = received;
          r.pause();
        }
      });
      r.on('end', resolve);
      r.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
  const deadline = Date.now() + 3000;
  while (paused === 0 && Date.now() < deadline) await sleep(10);
  assert.ok(paused > 0, 'never received the first MB');
  // Every buffer on the way (sockets, undici, the response) has filled by now; then nothing more moves.
  await sleep(300);
  const writtenA = producer.written;
  await sleep(300);
  assert.equal(producer.written, writtenA, 'the upstream kept writing while the client read nothing');
  assert.ok(producer.blocked, 'the upstream never saw backpressure');
  assert.ok(
    writtenA < 30 * MB,
    `the upstream wrote ${(writtenA / MB).toFixed(1)} MB while the client had read ${(paused / MB).toFixed(1)} MB`,
  );
  res.resume();
  await ended;
  assert.equal(received, total);
});

/** `p`, or an assertion failure with `message` once `ms` have passed; the timer is cleared either way. */
async function within<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new assert.AssertionError({ message })), ms);
  });
  try {
    return await Promise.race([p, late]);
  } finally {
    clearTimeout(timer);
  }
}

// Every wait below is bounded, and the gateway drains nothing on close: without the timeout the test sat in
// the gateway's 30 s drain behind the stalled exchange before it could fail.
test(
  'a client that reads nothing for proxy.send_timeout_ms ' +
    'loses the connection, and the upstream request is aborted',
  async () => {
    const g = await startGateway({
      proxy: { max_body_bytes: 0, send_timeout_ms: 400, drain_timeout_ms: 0 },
      services: [
        {
          name: 'stream',
          routes: [{ paths: ['/'] }],
          upstream: { targets: [{ url: up.url }], timeouts: { total_ms: 0 } },
        },
      ],
    });
    let res: IncomingMessage | undefined;
    try {
      let received = 0;
      let stalled = false;
      const paused = new Promise<void>((resolve, reject) => {
        request(`${g.url}/produce/50`, (r) => {
          res = r;
          r.on('data', (c: Buffer) => {
            received += c.length;
            if (received >= MB && !stalled) {
              stalled = true;
              r.pause();
              resolve();
            }
          });
        })
          .on('error', reject)
          .end();
      });
      await within(paused, 5000, 'the client did not receive its first MiB within 5 s');
      const stalledAt = performance.now();
      // The gateway gives up on the client: the upstream request is aborted, not left paused for good.
      await within(
        upstreamClosed,
        2000,
        'the client read nothing for 2 s (send_timeout_ms is 400) and ' +
          'still held its connection: the upstream response was not aborted',
      );
      const ms = performance.now() - stalledAt;
      assert.ok(ms >= 300, `aborted after ${ms.toFixed(0)} ms, before send_timeout_ms`);
      assert.ok(producer.written < 50 * MB, 'the upstream finished writing');
      // A paused client reads nothing, so it learns of the cut when it reads again: an aborted response, never a clean
      // end.
      const outcome = await within(
        new Promise<string>((resolve) => {
          res!.on('end', () => resolve('ended'));
          res!.on('error', (err) => resolve(`error ${err.message}`));
          res!.resume();
        }),
        2000,
        'the client, reading again, saw neither an end nor an error within 2 s',
      );
      assert.match(outcome, /^error/, outcome);
      assert.ok(received < 50 * MB);
      // Recorded as a client that left during the response (README): its 200, not an aborted response.
      const text = await (await fetch(`${g.adminUrl}/metrics`)).text();
      assert.ok(
        !text.includes('tollgate_responses_aborted_total{'),
        text
          .split('\n')
          .filter((l) => l.startsWith('tollgate_responses_aborted_total'))
          .join('\n'),
      );
      assert.match(text, /^tollgate_requests_total\{service="stream",[^}]*status_class="2xx"\} 1$/m);
    } finally {
      // A client still connected after a failure above leaves now, which aborts the stalled upstream exchange.
      res?.destroy();
      await g.close();
    }
  },
);

async function streamsBodyFirst(headers: Record<string, string>, first: string, rest: string) {
  const seen = new Promise<void>((resolve) => {
    firstBodyChunk = resolve;
  });
  let answer = '';
  const done = new Promise<number>((resolve, reject) => {
    const req = request(`${gw.url}/consume`, { method: 'POST', headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        answer += c;
      });
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.write(first);
    const timeout = setTimeout(
      () => req.destroy(new Error('the upstream saw no body before the client finished')),
      2000,
    );
    void seen.then(() => {
      clearTimeout(timeout);
      req.end(rest);
    });
  });
  try {
    assert.equal(await done, 200);
    assert.equal(answer, String(first.length + rest.length));
  } finally {
    firstBodyChunk = undefined;
  }
}

test('a chunked request body reaches the upstream while the client is still sending it', async () => {
  await streamsBodyFirst({ 'transfer-encoding': 'chunked' }, 'first-part;', 'second-part');
});

test('a Content-Length request body reaches the upstream while the client is still sending it', async () => {
  await streamsBodyFirst({ 'content-length': '22' }, 'first-part;', 'second-part');
});

async function clientLeaves(path: string, afterFirstByte: boolean) {
  await new Promise<void>((resolve) => {
    const req = request(`${gw.url}${path}`, (res) => {
      res.once('data', () => {
        if (afterFirstByte) req.destroy();
      });
    });
    req.on('error', () => resolve());
    req.on('close', () => resolve());
    req.end();
    if (!afterFirstByte) setTimeout(() => req.destroy(), 100);
  });
  const closed = await Promise.race([upstreamClosed.then(() => true), sleep(2000).then(() => false)]);
  assert.ok(closed, 'the upstream exchange outlived the client');
  const active = () =>
    gw.manager
      .health()
      .flatMap((u) => u.targets)
      .reduce((n, t) => n + t.active, 0);
  for (let i = 0; i < 50 && active() > 0; i++) await sleep(10);
  assert.equal(active(), 0, 'the target still counts the request as active');
}

test('a client that disconnects mid-response cancels the upstream exchange and frees the target', async () => {
  await clientLeaves('/trickle', true);
});

test('a client that disconnects before the response cancels the upstream exchange and frees the target', async () => {
  await clientLeaves('/hang', false);
});
