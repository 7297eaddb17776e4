import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import pino from 'pino';
import { decode, encode } from '../../../shared/access-event-codec.ts';
import { typical } from '../../../shared/access-event-codec.fixture.ts';
import type { EventSink } from './sink.ts';
import type { Config } from '../../control/config/schema.ts';
import { orphanedDirs } from './index.ts';
import { Unfinished } from './unfinished.ts';

const log = pino({ level: 'silent' });

/** A record of `service` lasting `totalUs`. */
const record = (service: string, totalUs: number): Buffer => encode({ ...typical, service, totalUs });

/** A sink that keeps what is appended to it, decoded: `service/totalUs`. */
function keepingSink(): EventSink & { kept: string[] } {
  const kept: string[] = [];
  return {
    kept,
    append: (r: Buffer) => void kept.push(`${decode(r).service}/${decode(r).totalUs}`),
    emit: () => assert.fail('not used'),
    unencodable: () => assert.fail('not used'),
    close: async () => {},
  };
}

/** The lines of this turn are written in a microtask. */
const written = () => new Promise((resolve) => setImmediate(resolve));

const tempJournal = () => mkdtempSync(join(tmpdir(), 'tollgate-unfinished-'));

test(
  'the next start appends the last kept final event of each request never settled, once, and starts the file ' +
    'again empty',
  async (t) => {
    const dir = tempJournal();
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const first = Unfinished.open(dir, keepingSink(), log);
    const ws = {};
    const grpc = {};
    const done = {};
    first.note(ws, record('chat', 60));
    first.note(grpc, record('greeter', 60));
    first.note(done, record('files', 60));
    first.note(ws, record('chat', 120));
    first.settle(done);
    first.settle({}); // never noted: nothing written
    assert.equal(first.size, 2);

    await written();
    // The gateway is gone (nothing closes the journal): the next one on the directory.
    const sink = keepingSink();
    Unfinished.open(dir, sink, log);
    assert.deepEqual(sink.kept.sort(), ['chat/120', 'greeter/60']);
    assert.equal(readFileSync(join(dir, 'unfinished'), 'latin1'), '');
    const again = keepingSink();
    Unfinished.open(dir, again, log);
    assert.deepEqual(again.kept, [], 'counted once');
  },
);

test('a line cut short by the kill, or one that is not an event, is skipped; the others still count', async (t) => {
  const dir = tempJournal();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = Unfinished.open(dir, keepingSink(), log);
  first.note({}, record('chat', 60));
  await written();
  const line = `9 ${record('cut', 60).toString('base64')}`;
  appendFileSync(join(dir, 'unfinished'), `8 ${Buffer.from('not an event').toString('base64')}\n`);
  appendFileSync(join(dir, 'unfinished'), line.slice(0, 40));
  const sink = keepingSink();
  Unfinished.open(dir, sink, log);
  assert.deepEqual(sink.kept, ['chat/60']);
});

test('past 1 MiB and twice what the open requests need, the file is written again with theirs only', async (t) => {
  const dir = tempJournal();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = Unfinished.open(dir, keepingSink(), log);
  const open = Array.from({ length: 50 }, () => ({}));
  for (const key of open) journal.note(key, record('chat', 1));
  // Connections that come and go, each with an interim event, and the open ones' updates: ~2.4 MB of lines.
  for (let i = 0; i < 6000; i++) {
    const key = {};
    journal.note(key, record('short', i));
    journal.settle(key);
    journal.note(open[i % open.length], record('chat', i));
    if (i % 100 === 0) await written();
  }
  await written();
  const size = statSync(join(dir, 'unfinished')).size;
  // At most 1 MiB, and the lines of the turn after (100 rounds here).
  assert.ok(size <= 1024 * 1024 + 64 * 1024, `compacted: ${size} bytes`);
  const sink = keepingSink();
  Unfinished.open(dir, sink, log);
  assert.deepEqual(sink.kept.sort(), open.map((_, j) => `chat/${5950 + j}`).sort(), 'the last event of each open one');
});

test('a file that cannot be written loses only what it would have kept: the caller goes on', async (t) => {
  const dir = tempJournal();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const journal = Unfinished.open(dir, keepingSink(), log);
  rmSync(dir, { recursive: true });
  const key = {};
  journal.note(key, record('chat', 1));
  journal.settle(key);
  await written();
  assert.equal(journal.size, 0);
});

test("another directory's journal is taken over and left empty; one without a journal is left as it is", async (t) => {
  const dir = tempJournal();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const [own, orphan, none] = ['w0', 'w3', 'w4'].map((w) => join(dir, w));
  const before = Unfinished.open(orphan, keepingSink(), log);
  before.note({}, record('chat', 7));
  await written();
  const sink = keepingSink();
  Unfinished.open(own, sink, log, [orphan, none]);
  assert.deepEqual(sink.kept, ['chat/7']);
  assert.equal(readFileSync(join(orphan, 'unfinished'), 'latin1'), '');
  assert.equal(existsSync(none), false);
});

test("orphanedDirs: the first worker takes the one process's journal and those of workers past the count", (t) => {
  const dir = tempJournal();
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const w of ['w0', 'w1', 'w2', 'w10', 'spool', 'wx']) mkdirSync(join(dir, w));
  const config = (workers: number) => ({ workers, events: { dir } }) as unknown as Config;
  assert.deepEqual(orphanedDirs(config(2), 'w0').sort(), [dir, join(dir, 'w10'), join(dir, 'w2')].sort());
  assert.deepEqual(orphanedDirs(config(2), 'w1'), [], 'only the first worker takes them');
  assert.deepEqual(orphanedDirs(config(1), '').sort(), ['w0', 'w1', 'w10', 'w2'].map((w) => join(dir, w)).sort());
});
