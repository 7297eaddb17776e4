import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirInUseError, LOCK_NAME, lockDataDirs, lockDir } from './dir-lock.ts';

const temp = () => mkdtempSync(join(tmpdir(), 'tollgate-lock-'));

/** A child process that takes the lock on `dir` and prints "locked". */
async function holder(dir: string) {
  const code = `import { lockDir } from ${JSON.stringify(new URL('./dir-lock.ts', import.meta.url).href)};
    await lockDir(${JSON.stringify(dir)}, 'events.dir', 'hint'); console.log('locked'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => {
      if (String(d).includes('locked')) resolve();
    });
    child.once('exit', (c) => reject(new Error(`holder exited ${c}`)));
  });
  return child;
}

test(
  'a directory locked here cannot be locked again until ' + 'released; the error names the setting and the directory',
  async () => {
    const dir = temp();
    const lock = await lockDir(dir, 'events.dir', 'give each its own');
    assert.ok(lock);
    await assert.rejects(
      lockDir(dir, 'events.dir', 'give each its own'),
      (err: Error) =>
        err instanceof DirInUseError &&
        err.message === `events.dir ${dir} is in use by another running Tollgate: give each its own`,
    );
    await lock.release();
    const again = await lockDir(dir, 'events.dir', 'hint');
    assert.ok(again);
    await again.release();
  },
);

test(
  'a lock held by another live process refuses, also while ' +
    'it is stopped; once it is killed the directory is taken over',
  async () => {
    const dir = temp();
    const child = await holder(dir);
    try {
      await assert.rejects(lockDir(dir, 'store.dir', 'hint'), DirInUseError);
      child.kill('SIGSTOP');
      await assert.rejects(lockDir(dir, 'store.dir', 'hint'), DirInUseError);
      child.kill('SIGCONT');
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
    }
    // SIGKILL left the socket file behind; nothing listens on it any more.
    assert.ok(existsSync(join(dir, LOCK_NAME)));
    const lock = await lockDir(dir, 'store.dir', 'hint');
    assert.ok(lock);
    await lock.release();
  },
);

test('two gateways that find the same stale lock at once: one takes the directory, the other is refused', {
  skip: process.platform !== 'linux' && 'the takeover is serialised on Linux only',
}, async () => {
  for (let round = 0; round < 5; round++) {
    const dir = temp();
    const child = await holder(dir);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    assert.ok(existsSync(join(dir, LOCK_NAME)), 'a stale lock');
    const results = await Promise.allSettled([lockDir(dir, 'store.dir', 'hint'), lockDir(dir, 'store.dir', 'hint')]);
    const taken = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected' && r.reason instanceof DirInUseError);
    assert.equal(taken.length, 1, `round ${round}: ${taken.length} took it`);
    assert.equal(refused.length, 1);
    await (taken[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof lockDir>>>).value!.release();
  }
});

test(
  'lockDataDirs locks a file store and an event directory once each, moves to those of the config the gateway ' +
    'runs with, and locks nothing for a Redis store without events',
  async () => {
    const dir = temp();
    const warned: string[] = [];
    const both = await lockDataDirs(
      { store: { kind: 'file', dir }, events: { sink: 'embedded', dir: `${dir}/` } },
      (m) => warned.push(m),
    );
    await assert.rejects(lockDir(dir, 'store.dir', 'hint'), DirInUseError);
    const adopted = temp(); // the events.dir of the config a joining node runs with
    await both.runWith({ store: { kind: 'redis', dir }, events: { sink: 'kafka', dir: adopted } });
    await assert.rejects(lockDir(adopted, 'events.dir', 'hint'), DirInUseError);
    const unused = await lockDir(dir, 'store.dir', 'hint');
    assert.ok(unused, 'the directory the adopted config does not use is let go');
    await unused.release();
    await both.release();
    const free = await lockDir(adopted, 'events.dir', 'hint');
    assert.ok(free, 'release let it go too');
    await free.release();
    const other = temp();
    const none = await lockDataDirs(
      { store: { kind: 'redis', dir: other }, events: { sink: 'none', dir: other } },
      (m) => warned.push(m),
    );
    const lock = await lockDir(other, 'store.dir', 'hint');
    assert.ok(lock, 'nothing held it');
    await lock.release();
    await none.release();
    assert.deepEqual(warned, []);
  },
);

test('a directory whose lock path is too long for a socket is not locked, and says so', async () => {
  const dir = join(temp(), 'x'.repeat(120));
  const skipped: string[] = [];
  assert.equal(await lockDir(dir, 'events.dir', 'hint', (p) => skipped.push(p)), undefined);
  assert.deepEqual(skipped, [join(dir, LOCK_NAME)]);
});
