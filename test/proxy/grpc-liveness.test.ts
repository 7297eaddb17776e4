// An upstream that hangs in the middle of a call (its process stopped: its kernel still acknowledges TCP, so nothing
// resets) is found by an HTTP/2 PING it does not answer (upstream.pool.ping_interval_ms), and the call ends with
// UNAVAILABLE; without it the call would wait for its own timeouts, here an hour. A real grpc-js server in a process
// of its own, stopped with SIGSTOP, also after it began a graceful stop (GOAWAY, its calls left to finish).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, test } from 'node:test';
import { sleep, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { echoClient } from '../helpers/grpc-client.ts';
import { eventsWhere } from '../helpers/events.ts';

let server: ChildProcess;
let port: number;
let gw: TestGateway;
let client: ReturnType<typeof echoClient>;

/** The example gRPC server in a child process, on a free port: its port once it listens. */
function startServerProcess(on = 0): Promise<number> {
  server = spawn(process.execPath, ['gateway/examples/grpc/server.ts', String(on)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    server.stdout!.on('data', (chunk: Buffer) => {
      out += chunk;
      const port = /on 127\.0\.0\.1:(\d+)/.exec(out)?.[1];
      if (port) resolve(Number(port));
    });
    server.once('exit', (code) => reject(new Error(`the gRPC server exited (${code})`)));
  });
}

before(async () => {
  port = await startServerProcess();
  gw = await startGateway({
    listeners: [{ name: 'internal', listen: '127.0.0.1:0', protocols: ['h2c'] }],
    services: [
      {
        name: 'echo',
        routes: [{ paths: ['/helloworld.Echo/'], grpc: true }],
        upstream: {
          protocol: 'h2c',
          targets: [{ url: `http://127.0.0.1:${port}` }],
          // Long quiet streams: no total deadline, an hour between messages.
          timeouts: { total_ms: 0, body_idle_ms: 3_600_000 },
          pool: { ping_interval_ms: 300, ping_timeout_ms: 300 },
        },
      },
    ],
  });
  client = echoClient(gw.port('internal'));
});
after(async () => {
  client?.close();
  await gw?.close();
  server?.kill('SIGKILL');
});

test('a stream whose upstream stops answering ends UNAVAILABLE within the PING settings; next call works', async () => {
  // One reply at once, the next a minute later.
  const pending = client.serverStream({ message: 'quiet', repeat: 2, delay_ms: 60_000 });
  await new Promise((r) => setTimeout(r, 500));
  server.kill('SIGSTOP');
  const stoppedAt = performance.now();
  const { replies, error } = await pending;
  const tookMs = performance.now() - stoppedAt;
  server.kill('SIGCONT');
  assert.equal(replies.length, 1, 'the reply sent before the stop');
  assert.equal(error?.code, 14, `UNAVAILABLE, got ${JSON.stringify(error)}`);
  assert.ok(
    tookMs < 3000,
    `ended ${Math.round(tookMs)} ms after the stop (a PING at 300-375 ms of quiet, 300 to answer)`,
  );
  const [event] = await eventsWhere(gw, (e) => e.service === 'echo' && !e.interim && e.grpcStatus === 14);
  assert.ok(event, 'the call is counted with its status');
  // The lost connection is gone; the resumed server answers on a new one.
  const unary = await client.unary({ message: 'again' });
  assert.equal(unary.message, 'again');
});

test('one that began a graceful stop (GOAWAY, calls left to run) and then hangs is found all the same', async () => {
  const pending = client.serverStream({ message: 'closing', repeat: 2, delay_ms: 60_000 });
  await sleep(500);
  server.kill('SIGTERM'); // GOAWAY: the gateway's connection is closing, the stream goes on
  await sleep(200);
  server.kill('SIGSTOP');
  const stoppedAt = performance.now();
  const { replies, error } = await pending;
  const tookMs = performance.now() - stoppedAt;
  assert.equal(replies.length, 1, 'the reply sent before the stop');
  assert.equal(error?.code, 14, `UNAVAILABLE, got ${JSON.stringify(error)}`);
  assert.ok(tookMs < 3000, `ended ${Math.round(tookMs)} ms after the stop`);
  server.kill('SIGKILL');
  await startServerProcess(port); // on the same port: the target the gateway knows
  const unary = await client.unary({ message: 'again' });
  assert.equal(unary.message, 'again');
});
