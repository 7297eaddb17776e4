import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventsWhere } from '../helpers/events.ts';
import { service, sleep } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { get } from './client.ts';

/**
 * The system clock of a running gateway steps 2 hours forward (NTP correcting a clock that was wrong at boot, a VM
 * resumed): the events after it carry the new time, as the day a quota counts in and a span do (shared/wall-clock.ts).
 * Regression: times came from performance.timeOrigin, read once at start, so every event after a step stayed off by
 * it until a restart. libfaketime (the faketime package, `npm run services:up`) steps the gateway process's
 * CLOCK_REALTIME alone; its monotonic clock, and this process's clocks, go on as they were.
 */
const faketime = process.env.TOLLGATE_TEST_FAKETIME;
const skip =
  !faketime && process.env.CI !== 'true'
    ? 'TOLLGATE_TEST_FAKETIME is unset; install libfaketime with `npm run services:up`'
    : false;
const LIBRARY = `/usr/lib/${process.arch === 'arm64' ? 'aarch64' : 'x86_64'}-linux-gnu/faketime/libfaketimeMT.so.1`;
const HOURS_2 = 2 * 3600_000;

test('a step of the system clock reaches the events of a running gateway within a second or so', {
  skip,
}, async (t) => {
  assert.ok(faketime, 'TOLLGATE_TEST_FAKETIME is unset under CI=true');
  assert.ok(existsSync(LIBRARY), `the faketime package's library is not at ${LIBRARY}`);
  const up = await startUpstream('up');
  t.after(() => up.close());
  const dir = tempDir();
  const offsetFile = join(dir, 'faketime');
  writeFileSync(offsetFile, '+0\n');
  const gw = await startGatewayProcess(
    writeYaml(dir, 'gw.yaml', {
      proxy: { listen: '127.0.0.1:0' },
      admin: { listen: '127.0.0.1:0' },
      log: { level: 'info' },
      store: { dir: join(dir, 'store') },
      services: [service('api', [up.url], [{ paths: ['/api'] }])],
    }),
    {
      env: {
        LD_PRELOAD: LIBRARY,
        FAKETIME_TIMESTAMP_FILE: offsetFile,
        FAKETIME_NO_CACHE: '1',
        FAKETIME_DONT_FAKE_MONOTONIC: '1',
        TOLLGATE_EVENTS_DIR: join(dir, 'events'),
      },
    },
  );
  t.after(() => gw.stop());

  const beforeMs = Date.now();
  assert.equal((await get(`${gw.proxyUrl}/api/before`)).status, 200);
  writeFileSync(offsetFile, '+2h\n');
  await sleep(2500); // the gateway checks its clock every second
  const afterMs = Date.now();
  assert.equal((await get(`${gw.proxyUrl}/api/after`)).status, 200);

  const events = await eventsWhere({ dir }, (e) => e.service === 'api', 2);
  assert.equal(events.length, 2, 'both requests have their event');
  const [before, after] = events;
  assert.ok(Math.abs(before.startMs - beforeMs) < 1000, `before the step: ${before.startMs - beforeMs} ms off`);
  assert.ok(
    Math.abs(after.startMs - (afterMs + HOURS_2)) < 1000,
    `after it: ${after.startMs - afterMs} ms from this process's clock, 2 h expected`,
  );
});
