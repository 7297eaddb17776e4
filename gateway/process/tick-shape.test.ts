import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

// V8's own view of hidden classes needs --allow-natives-syntax, so the check runs in a child process.
const CHILD = `
const { createHook: hook } = await import('node:async_hooks');
const { pinTickShape } = await import(${JSON.stringify(new URL('./tick-shape.ts', import.meta.url).href)});
const pinned = pinTickShape();
// What start-up does next: fastify compiles the admin routes' schemas with ajv, which crowds the root object shape.
const { buildAdmin } = await import(${JSON.stringify(new URL('../control/admin/server.ts', import.meta.url).href)});
await (await buildAdmin({ control: {} })).ready();
const same = [];
for (let round = 0; round < 6; round++) {
  await new Promise((r) => setImmediate(r));
  globalThis.gc(); // a full GC while no queue entry is alive
  let entry;
  const h = hook({ init(_id, type, _t, resource) { if (type === 'TickObject') entry ??= resource; } }).enable();
  process.nextTick(() => {});
  h.disable();
  same.push(%HaveSameMap(pinned, entry));
}
console.log(JSON.stringify({ again: pinTickShape() === pinned, keys: Object.keys(pinned), same }));
`;

test('nextTick entries keep one hidden class across idle full GCs once one is pinned', () => {
  const out = execFileSync(
    process.execPath,
    ['--allow-natives-syntax', '--expose-gc', '--input-type=module', '-e', CHILD],
    { encoding: 'utf8' },
  );
  const result = JSON.parse(out.trim().split('\n').pop()!) as { again: boolean; keys: string[]; same: boolean[] };
  assert.equal(result.again, true, 'pinning is idempotent');
  assert.ok(
    result.keys.includes('callback'),
    `the pinned object is a nextTick entry (keys: ${result.keys.join(', ')})`,
  );
  assert.deepEqual(result.same, [true, true, true, true, true, true]);
});
