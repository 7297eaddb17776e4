// A kept-alive upstream connection the target closes (its idle timeout, a restart) just as a request goes out on
// it: an idempotent request without a body is sent once more, to the same target on a fresh connection, instead of
// the client getting a 502; a request with a body, or one a fresh connection lost, is not.
import assert from 'node:assert/strict';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';

/** How the upstream treats a request on a connection: answer it, or close (FIN) or reset the connection instead. */
type Mode = 'answer' | 'fin' | 'rst';

interface Upstream {
  server: Server;
  /** Requests that arrived, and what each connection did with them. */
  requests: string[];
  /** Applied to requests on connections that answered one already; `fresh` to every request. */
  mode: Mode;
  fresh: Mode;
}

/** A raw HTTP/1.1 upstream: keep-alive without a Keep-Alive hint (as nginx, HAProxy and Go servers answer). */
async function rawUpstream(): Promise<Upstream> {
  const up: Upstream = { server: undefined as unknown as Server, requests: [], mode: 'answer', fresh: 'answer' };
  up.server = createServer((socket: Socket) => {
    let answered = 0;
    let buffered = '';
    socket.on('error', () => undefined);
    socket.on('data', (chunk) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end >= 0; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end);
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        buffered = buffered.slice(end + 4 + length);
        const mode = answered > 0 ? up.mode : up.fresh;
        up.requests.push(`${head.split(' ', 2).join(' ')} ${mode}`);
        if (mode === 'fin') return void socket.end();
        if (mode === 'rst') return void socket.resetAndDestroy();
        answered++;
        socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => up.server.listen(0, '127.0.0.1', resolve));
  return up;
}

let kept: Upstream;
let lone: Upstream;
let gw: TestGateway;

before(async () => {
  kept = await rawUpstream();
  lone = await rawUpstream();
  const target = (u: Upstream) => ({
    targets: [{ url: `http://127.0.0.1:${(u.server.address() as AddressInfo).port}` }],
  });
  gw = await startGateway({
    services: [
      { name: 'kept', routes: [{ paths: ['/kept'] }], upstream: target(kept) },
      { name: 'lone', routes: [{ paths: ['/lone'] }], upstream: target(lone) },
    ],
  });
});
after(async () => {
  await gw?.close();
  for (const u of [kept, lone]) await new Promise((resolve) => u?.server.close(resolve));
});

const stale = (service: string) =>
  metric(gw, 'tollgate_upstream_stale_connection_retries_total', `service="${service}",group=""`);

async function call(path: string, method = 'GET'): Promise<number> {
  const res = await fetch(`${gw.url}${path}`, { method, body: method === 'POST' ? 'body' : undefined });
  await res.arrayBuffer();
  return res.status;
}

for (const how of ['fin', 'rst'] as const)
  test(`a GET on a kept-alive connection the target ${how === 'fin' ? 'closed' : 'reset'} is sent again`, async () => {
    kept.mode = 'answer';
    assert.equal(await call('/kept/a'), 200); // a connection that carried a response, now idle in the pool
    kept.requests.length = 0;
    const before = await stale('kept');
    kept.mode = how;
    const status = await call('/kept/b');
    assert.equal(status, 200, JSON.stringify(kept.requests));
    // Lost on kept-alive connections (each one the pool held), answered on a fresh one.
    const lost = kept.requests.length - 1;
    assert.ok(lost >= 1);
    assert.deepEqual(kept.requests, [...Array(lost).fill(`GET /kept/b ${how}`), 'GET /kept/b answer']);
    assert.equal((await stale('kept')) - before, lost);
  });

test('a POST with a body on such a connection is not sent again: part of it may have been taken', async () => {
  kept.mode = 'answer';
  assert.equal(await call('/kept/c'), 200);
  kept.requests.length = 0;
  const before = await stale('kept');
  kept.mode = 'fin';
  assert.equal(await call('/kept/d', 'POST'), 502);
  assert.deepEqual(kept.requests, ['POST /kept/d fin']);
  assert.equal((await stale('kept')) - before, 0);
});

test('a fresh connection lost before the response is no stale one: no resend to the lone target', async () => {
  lone.fresh = 'fin';
  lone.mode = 'fin';
  assert.equal(await call('/lone/a'), 502);
  assert.deepEqual(lone.requests, ['GET /lone/a fin']);
  assert.equal(await stale('lone'), 0);
});
