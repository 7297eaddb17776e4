// The quiet-time memory release is opt-in (proxy.release_memory_after_idle_ms):
// after it, the first seconds of traffic cost 1.5-2.5x the CPU per request
// (docs/performance.md), so a default gateway never runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { validateConfig } from '../control/config/load.ts';
import { DataPlane } from './data-plane.ts';
import { createGatewayMetrics } from '../metrics.ts';

const log = pino({ level: 'silent' });

function config(proxy: Record<string, unknown>) {
  const result = validateConfig({ proxy: { listen: '127.0.0.1:0', ...proxy }, services: [] }, {});
  assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
  return result.config;
}

async function quietReleaseOf(proxy: Record<string, unknown>): Promise<unknown> {
  const plane = new DataPlane(config(proxy), 1, createGatewayMetrics(), log);
  await plane.listen();
  try {
    return (plane as unknown as { quietRelease: unknown }).quietRelease;
  } finally {
    await plane.close(0);
  }
}

test(
  'a default gateway never runs the quiet-time ' + 'release; one that sets release_memory_after_idle_ms does',
  async () => {
    assert.equal(await quietReleaseOf({}), undefined);
    assert.equal(await quietReleaseOf({ release_memory_after_idle_ms: 0 }), undefined);
    assert.notEqual(await quietReleaseOf({ release_memory_after_idle_ms: 30_000 }), undefined);
  },
);

test('release_memory_after_idle_ms is 0 or at least 5000, and a bad value names the field', () => {
  for (const value of [0, 5000, 60_000])
    assert.ok(validateConfig({ proxy: { release_memory_after_idle_ms: value } }, {}).ok, String(value));
  for (const value of [100, -1, 'soon']) {
    const result = validateConfig({ proxy: { release_memory_after_idle_ms: value } }, {});
    assert.equal(result.ok, false, String(value));
    assert.ok(
      !result.ok && result.errors.some((e) => e.path === '/proxy/release_memory_after_idle_ms'),
      JSON.stringify(!result.ok && result.errors),
    );
  }
});
