// An answered request is never lost: a response completes only once its access event is in the
// log. A body with a declared length is complete for an HTTP/1.1 client at its last byte, so those
// bytes wait for the event too; a chunked body completes at its terminating chunk, sent by end().
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { pino } from 'pino';
import { validateConfig } from '../../control/config/load.ts';
import { createGatewayMetrics } from '../../metrics.ts';
import { DataPlane } from '../data-plane.ts';
import type { EventSink } from './sink.ts';

/** A sink that keeps every `written` callback: its log never reports a write until the test says so. */
function holdingSink(): EventSink & { held: (() => void)[] } {
  const held: (() => void)[] = [];
  const hold = (_record: unknown, written?: () => void) => void (written && held.push(written));
  return { held, emit: hold, append: hold, unencodable: () => undefined, close: async () => undefined };
}

async function listen(server: Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

const waitFor = async (check: () => boolean, what: string) => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.ok(check(), what);
};

for (const framing of ['content-length', 'chunked'] as const) {
  test(`a proxied ${framing} body is not complete for the client before its event is written`, async (t) => {
    const upstream = createServer((_req, res) => {
      if (framing === 'content-length') res.setHeader('content-length', 11);
      res.write('hello ');
      setTimeout(() => res.end('world'), 20);
    });
    const upstreamPort = await listen(upstream);
    t.after(() => upstream.close());
    const result = validateConfig(
      {
        proxy: { listen: '127.0.0.1:0' },
        services: [
          {
            name: 'a',
            routes: [{ paths: ['/a'] }],
            upstream: { targets: [{ url: `http://127.0.0.1:${upstreamPort}` }] },
          },
        ],
      },
      {},
    );
    assert.ok(result.ok);
    const sink = holdingSink();
    const plane = new DataPlane(result.config, 1, createGatewayMetrics(), pino({ level: 'silent' }), {
      sink,
      node: 'test',
    });
    const { port } = await plane.listen();
    t.after(() => plane.close(0));

    const client = connect(port, '127.0.0.1');
    let received = '';
    client.on('data', (chunk) => (received += chunk.toString('latin1')));
    client.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
    await waitFor(() => sink.held.length === 1, 'the event reached the sink');
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(received, /hello /, 'the body streams as it comes');
    const whole = framing === 'content-length' ? /\r\n\r\nhello world$/ : /\r\n0\r\n\r\n$/;
    assert.doesNotMatch(received, whole, 'the response is not complete before its event is written');
    sink.held[0]!();
    await waitFor(() => whole.test(received), `the response completes once the event is written: ${received}`);
    client.destroy();
  });
}
