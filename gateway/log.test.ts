import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { outageLog } from './log.ts';

test(
  'outageLog: a store outage is a warn when it begins, a ' +
    'reminder each minute, and an info when the store answers again',
  () => {
    const lines: Record<string, any>[] = [];
    const log = pino(
      { level: 'info' },
      {
        write: (s: string) => {
          lines.push(JSON.parse(s));
        },
      },
    );
    let now = 1_000;
    const hooks = outageLog(log, 'config store (redis)', () => now);
    hooks.onOk();
    assert.equal(lines.length, 0, 'a store that answers says nothing');
    for (let i = 0; i < 50; i++) {
      hooks.onError(new Error(i === 0 ? 'connect ECONNREFUSED' : 'Command timed out'));
      now += 1_000;
    }
    // 50 errors over 50 s: the first one only.
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg, l.err]),
      [[40, 'config store (redis) failing; further errors are counted until it answers again', 'connect ECONNREFUSED']],
    );
    now = 61_000;
    hooks.onError(new Error('Command timed out'));
    hooks.onError(new Error('Command timed out'));
    assert.equal(lines.length, 2);
    assert.deepEqual(
      [lines[1].msg, lines[1].errors, lines[1].down_ms],
      ['config store (redis) still failing', 51, 60_000],
    );
    now = 70_000;
    hooks.onOk();
    hooks.onOk();
    assert.equal(lines.length, 3);
    assert.deepEqual(
      [lines[2].level, lines[2].msg, lines[2].errors, lines[2].down_ms],
      [30, 'config store (redis) answers again', 52, 69_000],
    );
    // The next outage starts its own count.
    hooks.onError(new Error('connect ECONNREFUSED'));
    assert.equal(lines.length, 4);
    assert.equal(lines[3].level, 40);
  },
);
