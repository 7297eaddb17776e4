// Autobahn's WebSocket conformance suite (its fuzzing client, every case) run twice in the same test: straight
// against an echo server, and through the gateway to it. Every case must end the same way both times.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { WebSocketServer } from 'ws';
import { startGateway } from '../helpers/gateway.ts';

const WSTEST = process.env.TOLLGATE_TEST_WSTEST;
const skip = !WSTEST && process.env.CI !== 'true' && 'needs wstest (TOLLGATE_TEST_WSTEST): npm run services:up';

interface CaseResult {
  behavior: string;
  behaviorClose: string;
}

/** Runs the fuzzing client against `url`; its verdict per case. */
async function fuzz(agent: string, url: string, dir: string): Promise<Record<string, CaseResult>> {
  const outdir = join(dir, agent);
  const spec = join(dir, `${agent}.json`);
  writeFileSync(
    spec,
    JSON.stringify({
      outdir,
      servers: [{ agent, url }],
      cases: [process.env.WSTEST_CASES ?? '*'],
      'exclude-cases': [],
    }),
  );
  await promisify(execFile)(WSTEST!, ['-m', 'fuzzingclient', '-s', spec], { cwd: dir, timeout: 300_000 });
  return JSON.parse(readFileSync(join(outdir, 'index.json'), 'utf8'))[agent];
}

test('Autobahn: every case ends through the gateway as it ends against the echo server directly', {
  skip,
  timeout: 600_000,
}, async (t) => {
  // An echo server without compression: the compression cases (12.*, 13.*) are answered "unimplemented" both ways.
  const echo = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false, maxPayload: 64 << 20 });
  echo.on('connection', (ws) => {
    ws.on('error', () => undefined); // a protocol error the fuzzer provokes ends that connection only
    ws.on('message', (data, binary) => ws.send(data, { binary }));
  });
  await new Promise((r) => echo.once('listening', r));
  t.after(() => echo.close());
  const echoUrl = `127.0.0.1:${(echo.address() as AddressInfo).port}`;
  const gw = await startGateway({
    services: [{ name: 'echo', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: `http://${echoUrl}` }] } }],
  });
  t.after(() => gw.close());
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-autobahn-'));
  // The two runs side by side (each fuzzer is a Python process of its own): half the wall time of one after the other.
  const [direct, through] = await Promise.all([
    fuzz('direct', `ws://${echoUrl}`, dir),
    fuzz('tollgate', gw.url.replace('http', 'ws'), dir),
  ]);
  const cases = Object.keys(direct);
  assert.ok(cases.length > (process.env.WSTEST_CASES ? 0 : 500), `${cases.length} cases ran`);
  const differ = cases.filter(
    (c) => through[c]?.behavior !== direct[c].behavior || through[c]?.behaviorClose !== direct[c].behaviorClose,
  );
  const tally: Record<string, number> = {};
  for (const c of cases) tally[through[c].behavior] = (tally[through[c].behavior] ?? 0) + 1;
  t.diagnostic(`${cases.length} cases through the gateway: ${JSON.stringify(tally)}`);
  assert.deepEqual(
    differ.map((c) => `${c}: direct ${direct[c].behavior}/${direct[c].behaviorClose}, through ${through[c]?.behavior}`),
    [],
  );
});
