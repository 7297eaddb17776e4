import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateConfig } from './config/load.ts';
import { ConfigReceiver, ConfigSender, Rollout, type ConfigWire, type RolloutWorker } from './config-wire.ts';

const service = (name: string, port = 9) => ({
  name,
  routes: [{ paths: [`/${name}`] }],
  upstream: { targets: [{ url: `http://127.0.0.1:${port}` }] },
});
function config(services: unknown[], level = 'info') {
  const r = validateConfig({ log: { level }, services }, {});
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  return r.config;
}
/** Through JSON, as IPC carries it. */
const ipc = (wire: ConfigWire): ConfigWire => JSON.parse(JSON.stringify(wire));

test(
  'after the first, each config goes as its changes: unchanged ' +
    'services as indexes, which the worker resolves to the objects it holds',
  () => {
    const sender = new ConfigSender();
    const worker = new ConfigReceiver();
    const first = config([service('a'), service('b'), service('c')]);
    const got1 = worker.take(ipc(sender.next(first, 1)));
    assert.ok(typeof got1 === 'object');
    assert.deepEqual(got1, first);

    // b changed, c gone, d new, a moved after d; a fresh object for a, as a reload makes.
    const second = config([service('b', 10), service('d'), service('a')], 'warn');
    const wire = sender.next(second, 2);
    assert.equal(sender.config, second, 'the sender holds the config sent last');
    assert.ok('base' in wire);
    assert.deepEqual(
      wire.services.map((s) => (typeof s === 'number' ? s : s.name)),
      ['b', 'd', 0],
    );
    const got2 = worker.take(ipc(wire));
    assert.ok(typeof got2 === 'object');
    assert.deepEqual(got2, second);
    assert.equal(got2.services[2], got1.services[0], 'a is the object the worker already held');
    assert.equal(got2.log.level, 'warn', 'settings outside services come whole');
  },
);

test('a change to one service of many sends that one', () => {
  const sender = new ConfigSender();
  const names = Array.from({ length: 200 }, (_, i) => `s${i}`);
  sender.next(config(names.map((n) => service(n))), 1);
  const next = config(names.map((n, i) => service(n, i === 150 ? 10 : 9)));
  const wire = sender.next(next, 2);
  assert.ok('base' in wire);
  assert.deepEqual(
    wire.services.filter((s) => typeof s !== 'number').map((s) => s.name),
    ['s150'],
  );
  const sizes = [JSON.stringify(wire).length, JSON.stringify(next).length];
  assert.ok(sizes[0] < sizes[1] / 10, `${sizes[0]} bytes against ${sizes[1]} whole`);
});

test(
  'a worker that does not hold the base of a change asks ' +
    'for the whole config; a whole one it applied already is held',
  () => {
    const sender = new ConfigSender();
    sender.next(config([service('a')]), 1);
    const change = ipc(sender.next(config([service('a'), service('b')]), 2));
    const fresh = new ConfigReceiver();
    assert.equal(fresh.take(change), 'resend', 'a worker with no config yet');
    const whole = ipc(sender.whole());
    const got = fresh.take(whole);
    assert.ok(typeof got === 'object');
    assert.deepEqual(
      got.services.map((s) => s.name),
      ['a', 'b'],
    );
    assert.equal(fresh.take(ipc(sender.whole())), 'held', 'the same send again (online, then resend)');
    assert.equal(fresh.take(change), 'held');
    // It follows the changes from there.
    const third = fresh.take(ipc(sender.next(config([service('b')]), 3)));
    assert.ok(typeof third === 'object');
    assert.deepEqual(
      third.services.map((s) => s.name),
      ['b'],
    );
    // A change that skips one it never got is refused.
    sender.next(config([service('c')]), 4);
    assert.equal(fresh.take(ipc(sender.next(config([service('d')]), 5))), 'resend');
  },
);

/** Workers that record what they were sent, in order, across all of them. */
function fakeWorkers(ids: number[], connected: (id: number) => boolean = () => true) {
  const log: string[] = [];
  const workers: RolloutWorker[] = ids.map((id) => ({
    id,
    send: (w: ConfigWire) => {
      if (!connected(id)) return false;
      log.push(`${id}:${w.seq}`);
      return true;
    },
  }));
  return { log, workers: () => workers };
}
const tick = () => new Promise((r) => setImmediate(r));

test(
  'the roll-out hands a config to the next worker only ' +
    'once the one before applied it (an older ack does not count)',
  async () => {
    const started = performance.now();
    const rollout = new Rollout(60_000);
    const sender = new ConfigSender();
    const { log, workers } = fakeWorkers([1, 2, 3]);
    sender.next(config([service('a')]), 1);
    const second = sender.next(config([service('a', 10)]), 2);
    const done = rollout.send(second, workers);
    await tick();
    assert.deepEqual(log, ['1:2']);
    rollout.applied(1, 1);
    await tick();
    assert.deepEqual(log, ['1:2'], 'an ack of an older config');
    rollout.applied(1, 2);
    await tick();
    assert.deepEqual(log, ['1:2', '2:2']);
    rollout.gone(2);
    await tick();
    assert.deepEqual(log, ['1:2', '2:2', '3:2'], 'a worker that exited is not waited for');
    const third = sender.next(config([service('b')]), 3);
    const next = rollout.send(third, workers);
    rollout.applied(3, 2);
    await done;
    await tick();
    assert.deepEqual(
      log,
      ['1:2', '2:2', '3:2', '1:3'],
      'the next config starts after the last worker has the one before',
    );
    rollout.applied(1, 3);
    await tick();
    rollout.applied(2, 3);
    await tick();
    rollout.applied(3, 3);
    await next;
    assert.deepEqual(log, ['1:2', '2:2', '3:2', '1:3', '2:3', '3:3']);
    assert.ok(performance.now() - started < 5000, 'no worker was passed by the timeout');
  },
);

test(
  'the roll-out passes a worker that does not answer ' + 'within its timeout, and one that is not connected at once',
  async () => {
    const rollout = new Rollout(50);
    const sender = new ConfigSender();
    const { log, workers } = fakeWorkers([1, 2, 3], (id) => id !== 2);
    const started = performance.now();
    await rollout.send(sender.next(config([service('a')]), 1), workers);
    const ms = performance.now() - started;
    assert.deepEqual(log, ['1:1', '3:1']);
    assert.ok(ms >= 95 && ms < 1000, `two timeouts of 50 ms (1 and 3 never answer), none for 2: ${ms} ms`);
  },
);
