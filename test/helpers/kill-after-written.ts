import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const NODE = fileURLToPath(new URL('../../node_modules/.bin/node', import.meta.url));

/**
 * Runs a crash fixture (`node FIXTURE ARGS…`) that prints `written N dropped M`
 * lines, SIGKILLs it `delayMs` after it reported `killAfterWritten` records,
 * and returns the highest counts it printed before it died.
 */
export async function runUntilWrittenThenKill(
  fixture: string,
  args: string[],
  killAfterWritten: number,
  delayMs = 0,
): Promise<{ written: number; dropped: number }> {
  const child = spawn(NODE, [fixture, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let written = 0;
  let dropped = 0;
  let pending = '';
  let killTimer: NodeJS.Timeout | undefined;
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => {
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const match = /^written (\d+) dropped (\d+)$/.exec(line);
      if (match === null) continue;
      written = Math.max(written, Number(match[1]));
      dropped = Math.max(dropped, Number(match[2]));
    }
    if (written >= killAfterWritten) killTimer ??= setTimeout(() => child.kill('SIGKILL'), delayMs);
  });
  const [, signal] = await once(child, 'close');
  clearTimeout(killTimer);
  assert.equal(signal, 'SIGKILL', 'the fixture ran until killed');
  return { written, dropped };
}
