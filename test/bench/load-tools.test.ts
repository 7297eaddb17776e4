// The bench's own pieces, run briefly: the floor proxy and the open-loop
// generator both drive undici's dispatch API directly, so an undici upgrade
// that changes the handler contract breaks them here, not halfway through a
// ten-minute `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { waitReady } from './ready.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function start(script: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [here(script), ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

test('the open-loop generator measures every request it sends through the floor proxy', async (t) => {
  const [upstreamPort, floorPort] = [await freePort(), await freePort()];
  const upstream = start('./upstream.ts', [String(upstreamPort)]);
  const floor = start('./bare-undici.ts', [String(floorPort), `http://127.0.0.1:${upstreamPort}`]);
  t.after(() => { upstream.kill(); floor.kill(); });
  await waitReady(`http://127.0.0.1:${upstreamPort}/`, upstream);
  await waitReady(`http://127.0.0.1:${floorPort}/`, floor);

  // 200 req/s for 1 s after a 0.5 s warm-up, over 4 connections.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(process.execPath, [here('./rate-load.ts'), `http://127.0.0.1:${floorPort}/`, '200', '4', '1', '0.5'], { timeout: 30_000 },
      (err, out, errOut) => (err ? reject(new Error(`rate-load failed: ${err.message}\n${errOut}`)) : resolve(out)));
  });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  assert.ok(line, `no BENCH_JSON line in:\n${stdout}`);
  const result = JSON.parse(line.slice('BENCH_JSON '.length)) as { completed: number; errors: number; p99Ms: number };
  assert.equal(result.errors, 0);
  assert.equal(result.completed, 200);
  assert.ok(result.p99Ms > 0 && result.p99Ms < 1000, `p99 ${result.p99Ms} ms`);
});
