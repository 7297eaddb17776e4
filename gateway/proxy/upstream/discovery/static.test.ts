import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StaticSource } from './static.ts';
import type { DiscoveredTarget } from './source.ts';

test('emits the configured targets once, on start', () => {
  const configured = [
    { origin: 'http://127.0.0.1:9001', weight: 1 },
    { origin: 'http://127.0.0.1:9002', weight: 3 },
  ];
  const source = new StaticSource(configured);
  const emitted: DiscoveredTarget[][] = [];
  source.start((targets) => emitted.push(targets));
  source.stop();
  assert.deepEqual(emitted, [configured]);
  assert.notEqual(emitted[0], configured, 'a copy, so a listener cannot change the config');
});
