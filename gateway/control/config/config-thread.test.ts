import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { askConfigThread } from './config-thread.ts';

/** A worker that answers each question with its thread id, and exits with code 3 when asked to die. */
function echoWorker(): URL {
  const file = join(mkdtempSync(join(tmpdir(), 'tollgate-config-thread-')), 'echo.mjs');
  writeFileSync(
    file,
    `import { parentPort, threadId } from 'node:worker_threads';
parentPort.on('message', ({ id, data }) => {
  if (data === 'die') process.exit(3);
  parentPort.postMessage({ id, answer: { threadId, data } });
});
`,
  );
  return pathToFileURL(file);
}

test(
  'questions in a row, or at once, go to one thread; ' + 'after idleMs without one it ends and the next starts another',
  async () => {
    const url = echoWorker();
    const first = (await askConfigThread(url, 1, 150)) as { threadId: number; data: number };
    const [second, third] = (await Promise.all([askConfigThread(url, 2, 150), askConfigThread(url, 3, 150)])) as {
      threadId: number;
      data: number;
    }[];
    assert.deepEqual([second!.data, third!.data], [2, 3]);
    assert.equal(second!.threadId, first.threadId);
    assert.equal(third!.threadId, first.threadId);
    await new Promise((r) => setTimeout(r, 400));
    const later = (await askConfigThread(url, 4, 150)) as { threadId: number };
    assert.notEqual(later.threadId, first.threadId, 'the idle thread was kept');
  },
);

test('a thread that dies rejects the questions it holds, and the next question gets a new thread', async () => {
  const url = echoWorker();
  const before = (await askConfigThread(url, 'hello')) as { threadId: number };
  await assert.rejects(askConfigThread(url, 'die'), /exited with code 3/);
  const after = (await askConfigThread(url, 'again')) as { threadId: number; data: string };
  assert.equal(after.data, 'again');
  assert.notEqual(after.threadId, before.threadId);
});
