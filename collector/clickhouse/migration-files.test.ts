import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkHistory, DEFAULT_MIGRATIONS_DIR } from './migrate.ts';
import { checksumOf, loadMigrations, renderMigration, splitStatements } from './migration-files.ts';
import type { MigrationFile } from './migration-files.ts';

function file(version: number, name: string, source = 'SELECT 1;\n'): MigrationFile {
  return { version, name, source, checksum: checksumOf(source) };
}

async function withDir(files: Record<string, string>, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-migrations-'));
  try {
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('splits a file into statements at a semicolon that ends a line, dropping comment-only chunks', () => {
  const sql =
    "-- header\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory;\n\n-- " +
    'between\nCREATE TABLE b (x UInt8) ENGINE = Memory ;  \n-- trailing comment\n';
  assert.deepEqual(splitStatements(sql), [
    "-- header\nCREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory",
    '-- between\nCREATE TABLE b (x UInt8) ENGINE = Memory',
  ]);
});

test('uncomments supports_ttl lines only for servers with table TTL and fills in the retention', () => {
  const source = 'ORDER BY ts\n-- if supports_ttl: TTL ts + toIntervalDay({{retention_days}})\n;\n';
  const withTtl = renderMigration({ name: 'x.sql', source }, { retentionDays: 14, supportsTtl: true });
  const withoutTtl = renderMigration({ name: 'x.sql', source }, { retentionDays: 14, supportsTtl: false });
  assert.equal(withTtl, 'ORDER BY ts\nTTL ts + toIntervalDay(14)\n;\n');
  assert.match(withoutTtl, /^-- if supports_ttl: /m);
});

test('rejects an unknown placeholder and a retention that is not a whole number of days', () => {
  assert.throws(
    () =>
      renderMigration({ name: '0007_x.sql', source: 'SELECT {{ttl_days}}' }, { retentionDays: 30, supportsTtl: true }),
    /0007_x\.sql: unknown placeholder \{\{ttl_days\}\}/,
  );
  assert.throws(
    () => renderMigration({ name: 'x.sql', source: '' }, { retentionDays: 0.5, supportsTtl: true }),
    /whole number of days/,
  );
});

test('loads the repo migrations numbered from 0001 without gaps', async () => {
  const files = await loadMigrations(DEFAULT_MIGRATIONS_DIR);
  assert.ok(files.length >= 3);
  assert.deepEqual(
    files.map((f) => f.version),
    files.map((_, i) => i + 1),
  );
});

test('rejects a .sql file with a bad name or a number used twice', async () => {
  await withDir({ '1_short.sql': '', 'README.md': 'ignored' }, async (dir) => {
    await assert.rejects(loadMigrations(dir), /1_short\.sql must be named NNNN_description\.sql/);
  });
  await withDir({ '0001_a.sql': '', '0001_b.sql': '' }, async (dir) => {
    await assert.rejects(loadMigrations(dir), /0001_a\.sql and 0001_b\.sql share the number 0001/);
  });
});

test('returns only unapplied files, and refuses a changed, missing or out-of-order file', () => {
  const one = file(1, '0001_a.sql');
  const two = file(2, '0002_b.sql');
  const three = file(3, '0003_c.sql');
  const applied = (f: MigrationFile) => ({ version: f.version, name: f.name, checksum: f.checksum });
  assert.deepEqual(checkHistory([one, two, three], [applied(one)]), [two, three]);
  assert.throws(
    () => checkHistory([file(1, '0001_a.sql', 'SELECT 2;\n')], [applied(one)]),
    /0001_a\.sql was changed after it was applied/,
  );
  assert.throws(
    () => checkHistory([two], [applied(one), applied(two)]),
    /0001_a\.sql was applied but its file is missing/,
  );
  assert.throws(
    () => checkHistory([one, two, three], [applied(one), applied(three)]),
    /0002_b\.sql is numbered below the already applied 0003/,
  );
});
