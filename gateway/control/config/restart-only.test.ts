import assert from 'node:assert/strict';
import { test } from 'node:test';
import { readFileSync } from 'node:fs';
import { validateConfig } from './load.ts';
import { RESTART_ONLY, restartPending } from './restart-only.ts';

const config = (raw: object) => {
  const r = validateConfig(raw, {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.config;
};

test('restartPending names the restart-only settings that differ from the start, and nothing else', () => {
  const started = config({ workers: 1, store: { dir: '/a' }, services: [] });
  assert.deepEqual(restartPending(started, started), []);
  const changed = config({
    workers: 2,
    proxy: { listen: '127.0.0.1:9999', keep_alive_ms: 5000 },
    store: { dir: '/b' },
    events: { interim_ms: 10000, kafka: { topic: 'other' } },
    services: [],
  });
  assert.deepEqual(restartPending(started, changed), ['workers', 'proxy.listen', 'store', 'events.kafka']);
});

test('the operations page lists every restart-only setting', () => {
  const page = readFileSync(new URL('../../../docs/operations.md', import.meta.url), 'utf8');
  for (const path of RESTART_ONLY) assert.ok(page.includes(`\`${path}\``), `docs/operations.md names ${path}`);
});
