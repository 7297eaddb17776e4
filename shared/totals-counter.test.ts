import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from 'prom-client';
import { totalsCounter } from './totals-counter.ts';

async function values(register: Registry, name: string): Promise<Record<string, number>> {
  const metric = (await register.getMetricsAsJSON()).find((m) => m.name === name)!;
  return Object.fromEntries(metric.values.map((v) => [JSON.stringify(v.labels), v.value]));
}

test('a totals counter advances by what each total grew between scrapes, per label set', async () => {
  const register = new Registry();
  const totals = { hit: 0, miss: 0 };
  totalsCounter({ name: 't_lookups_total', help: 'h', labelNames: ['result'] as const, registers: [register] }, () => [
    [{ result: 'hit' }, totals.hit],
    [{ result: 'miss' }, totals.miss],
  ]);
  assert.deepEqual(
    await values(register, 't_lookups_total'),
    { '{"result":"hit"}': 0, '{"result":"miss"}': 0 },
    'every listed total is a series from the first scrape',
  );
  totals.hit = 5;
  totals.miss = 1;
  assert.deepEqual(await values(register, 't_lookups_total'), { '{"result":"hit"}': 5, '{"result":"miss"}': 1 });
  assert.deepEqual(
    await values(register, 't_lookups_total'),
    { '{"result":"hit"}': 5, '{"result":"miss"}': 1 },
    'a second scrape adds nothing',
  );
  totals.hit = 8;
  assert.deepEqual(await values(register, 't_lookups_total'), { '{"result":"hit"}': 8, '{"result":"miss"}': 1 });
});

test(
  'a total that goes back moves only the mark: the ' + 'counter never decreases, and later growth still counts',
  async () => {
    const register = new Registry();
    let total = 10;
    totalsCounter({ name: 't_emitted_total', help: 'h', registers: [register] }, () => [[{}, total]]);
    assert.deepEqual(await values(register, 't_emitted_total'), { '{}': 10 });
    total = 2; // its owner was replaced and counts from 0 again
    assert.deepEqual(await values(register, 't_emitted_total'), { '{}': 10 });
    total = 5;
    assert.deepEqual(await values(register, 't_emitted_total'), { '{}': 13 });
  },
);
