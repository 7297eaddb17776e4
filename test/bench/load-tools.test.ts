// The bench's own pieces, run briefly: the floor proxy and the open-loop
// generator both drive undici's dispatch API directly, so an undici upgrade
// that changes the handler contract breaks them here, not halfway through a
// ten-minute `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitReady } from './ready.ts';
import { runCount } from './load.ts';
import { countRounds, cycleEstimate } from './instructions.ts';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

function start(script: string, args: string[], wrapper: string[] = []): ChildProcess {
  const [cmd, ...rest] = [...wrapper, process.execPath, here(script), ...args];
  return spawn(cmd, rest, { stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The bench's origin and its floor proxy (optionally under a wrapper such as valgrind), both ready. */
async function floorProxy(
  t: { after(fn: () => void): void },
  wrapper: string[] = [],
): Promise<{ url: string; floor: ChildProcess }> {
  const [upstreamPort, floorPort] = [await freePort(), await freePort()];
  const upstream = start('./upstream.ts', [String(upstreamPort)]);
  const floor = start('./bare-undici.ts', [String(floorPort), `http://127.0.0.1:${upstreamPort}`], wrapper);
  t.after(() => {
    upstream.kill();
    floor.kill();
  });
  await waitReady(`http://127.0.0.1:${upstreamPort}/`, upstream);
  await waitReady(`http://127.0.0.1:${floorPort}/`, floor, 60_000);
  return { url: `http://127.0.0.1:${floorPort}/`, floor };
}

test('the open-loop generator measures every request it sends through the floor proxy', async (t) => {
  const { url } = await floorProxy(t);

  // 200 req/s for 1 s after a 0.5 s warm-up, over 4 connections.
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(
      process.execPath,
      [here('./rate-load.ts'), url, '200', '4', '1', '0.5'],
      { timeout: 30_000 },
      (err, out, errOut) => (err ? reject(new Error(`rate-load failed: ${err.message}\n${errOut}`)) : resolve(out)),
    );
  });
  const line = stdout.split('\n').find((l) => l.startsWith('BENCH_JSON '));
  assert.ok(line, `no BENCH_JSON line in:\n${stdout}`);
  const result = JSON.parse(line.slice('BENCH_JSON '.length)) as { completed: number; errors: number; p99Ms: number };
  assert.equal(result.errors, 0);
  assert.equal(result.completed, 200);
  assert.ok(result.p99Ms > 0 && result.p99Ms < 1000, `p99 ${result.p99Ms} ms`);
});

test('the fixed-count generator sends exactly the requests asked for', async (t) => {
  const { url } = await floorProxy(t);
  assert.deepEqual(await runCount(url, 777, 10), { requests: 777, errors: 0, non2xx: 0 });
});

// `npm run bench -- --instructions` end to end on the floor, tiny, with the cache simulation:
// callgrind's counters are zeroed and dumped around each round, and a round of twice the
// requests costs about twice.
const valgrind = process.env.TOLLGATE_TEST_VALGRIND;
const noValgrind =
  !valgrind && process.env.CI !== 'true' ? 'TOLLGATE_TEST_VALGRIND is unset; run `npm run services:up`' : false;
test('callgrind counts the instructions of each round of requests through the floor', {
  skip: noValgrind,
}, async (t) => {
  assert.ok(valgrind, 'TOLLGATE_TEST_VALGRIND is unset under CI=true');
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-callgrind-'));
  const outPrefix = join(dir, 'floor');
  const { url, floor } = await floorProxy(t, [
    valgrind,
    '-q',
    '--tool=callgrind',
    '--instr-atstart=no',
    '--cache-sim=yes',
    '--branch-sim=yes',
    `--callgrind-out-file=${outPrefix}.%p.out`,
  ]);
  // callgrind writes its last file as the process exits: remove the folder after that.
  t.after(async () => {
    if (floor.exitCode === null && floor.signalCode === null) {
      floor.kill();
      await once(floor, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const counts = await countRounds({ pid: floor.pid!, url, outPrefix }, 500, [400, 800], 1000);
  const [single, double] = counts.totals.map((e) => e.Ir);
  const { seconds } = counts;
  const idlePerSecond = counts.idlePerSecond.Ir;
  // With the cache simulation every event is read, and misses weigh on the cycle estimate.
  const events = counts.totals[0];
  assert.ok(events.I1mr > 0 && events.D1mr > 0 && events.Bcm > 0, JSON.stringify(events));
  assert.ok(
    cycleEstimate(events)! > events.Ir + 10 * events.I1mr,
    `estimate ${cycleEstimate(events)} for ${JSON.stringify(events)}`,
  );
  const perRequest = single / 400;
  // A pass-through request costs some 10^5 user-space instructions in Node; the bound only rejects nonsense.
  assert.ok(perRequest > 10_000 && perRequest < 10_000_000, `${perRequest} instructions per request`);
  assert.ok(double / single > 1.4 && double / single < 2.8, `800 requests cost ${double}, 400 cost ${single}`);
  assert.ok(
    seconds.every((s) => s > 0),
    `round lengths ${seconds}`,
  );
  // Idle, the floor runs only its event loop: far less per second than under load.
  assert.ok(
    idlePerSecond >= 0 && idlePerSecond < single / seconds[0],
    `idle ${idlePerSecond}/s, busy ${single / seconds[0]}/s`,
  );
});
