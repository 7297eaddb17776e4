// Durations in milliseconds: past what a Node timer runs, a timeout would fire at once; the config says so instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './load.ts';

test('a duration past what a timer runs (24.8 days) is refused where it is, not run as 1 ms', () => {
  const month = 30 * 24 * 3600 * 1000;
  const r = validateConfig(
    {
      proxy: { request_timeout_ms: month },
      services: [
        {
          name: 'ws',
          routes: [{ paths: ['/'] }],
          websocket: { max_lifetime_ms: month },
          upstream: { targets: [{ url: 'http://127.0.0.1:1' }], timeouts: { total_ms: month } },
        },
      ],
    },
    {},
  );
  assert.equal(r.ok, false);
  const byPath = Object.fromEntries((r.ok ? [] : r.errors).map((e) => [e.path, e.message]));
  for (const at of [
    '/proxy/request_timeout_ms',
    '/services/0/websocket/max_lifetime_ms',
    '/services/0/upstream/timeouts/total_ms',
  ])
    assert.match(byPath[at] ?? '', /must be at most 2147483647 \(24\.8 days/, at);
  // The longest a timer runs is accepted.
  assert.equal(validateConfig({ proxy: { request_timeout_ms: 2_147_483_647 } }, {}).ok, true);
});
