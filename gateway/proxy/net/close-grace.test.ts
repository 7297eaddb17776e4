import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { cutIfStillOpen } from './close-grace.ts';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

test('a socket that closes within the grace is let go at once, and one that stays open is cut', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const accepted: Socket[] = [];
  const server = createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => {
    for (const s of accepted) s.destroy();
    server.close();
  });
  const { port } = server.address() as { port: number };
  const open = async () => {
    const client = connect(port, '127.0.0.1');
    await once(client, 'connect');
    while (accepted.length === 0) await new Promise((r) => setImmediate(r));
    return { client, side: accepted.shift()! };
  };

  // Closed before the grace ends: nothing holds it (the timer went with the close).
  let closing: { client: Socket; side: Socket } | undefined = await open();
  cutIfStillOpen(closing.side);
  closing.client.destroy();
  await once(closing.side, 'close');
  const gone = new WeakRef(closing.side);
  closing = undefined;
  for (let i = 0; i < 5 && gone.deref() !== undefined; i++) {
    await new Promise((r) => setImmediate(r));
    gc();
  }
  assert.equal(gone.deref(), undefined, 'a closed socket is still held');

  // Still open when the grace ends: cut.
  const stays = await open();
  cutIfStillOpen(stays.side);
  t.mock.timers.tick(4999);
  assert.equal(stays.side.destroyed, false);
  t.mock.timers.tick(1);
  assert.equal(stays.side.destroyed, true);
  stays.client.destroy();
});
