// The statements the ClickHouse suites sent to the current ClickHouse engine (scripts/clickhouse-current/server.py
// logs each one), as shapes: comments, literals, inline data and scratch database names taken out, duplicates
// folded. Prints how many of each kind ran and every shape that failed on it; with --write, writes them all to
// docs/reference/clickhouse-statements.md.
// Usage: node scripts/clickhouse-current/statements.ts [LOG] [--write]
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '../..');
const args = process.argv.slice(2);
const logFile = args.find((a) => !a.startsWith('--')) ?? join(root, '.services/chdb/statements.jsonl');
const write = args.includes('--write');

interface Logged {
  sql: string;
  ok: boolean;
  error: string | null;
}

/** A statement without what varies from run to run: its comments, literals, inline rows and scratch names. */
export function shapeOf(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, '')
    .replace(/\b(FORMAT\s+\w+)[\s\S]*$/i, '$1') // rows after FORMAT (INSERTs), nothing after it in a SELECT
    .replace(/'(?:[^'\\]|\\.)*'/g, '?')
    .replace(/\btollgate_test_[0-9a-f]+\b/g, '<db>')
    .replace(/\b\d+(\.\d+)?\b/g, 'N')
    .replace(/\s+/g, ' ')
    .replace(/\((\s*N\s*,)+\s*N\s*\)/g, '(N, …)')
    .trim();
}

const kindOf = (shape: string) => /^\w+/.exec(shape)?.[0].toUpperCase() ?? '?';

const shapes = new Map<string, { kind: string; ok: number; failed: number; error?: string }>();
for (const line of readFileSync(logFile, 'utf8').split('\n')) {
  if (line === '') continue;
  const { sql, ok, error } = JSON.parse(line) as Logged;
  const shape = shapeOf(sql);
  const s = shapes.get(shape) ?? { kind: kindOf(shape), ok: 0, failed: 0 };
  if (ok) s.ok++;
  else {
    s.failed++;
    s.error = (error ?? '').split('\n')[0].slice(0, 200);
  }
  shapes.set(shape, s);
}

const kinds = new Map<string, number>();
for (const s of shapes.values()) kinds.set(s.kind, (kinds.get(s.kind) ?? 0) + 1);
const ran = [...shapes.values()].reduce((n, s) => n + s.ok + s.failed, 0);
console.log(
  `current ClickHouse (chDB): ${ran} statements ran, ${shapes.size} distinct: ` +
    [...kinds].map(([k, n]) => `${n} ${k}`).join(', '),
);
const neverOk = [...shapes].filter(([, s]) => s.ok === 0);
for (const [shape, s] of neverOk)
  console.log(`  never succeeded (a test of a failure, or a gap): ${shape.slice(0, 160)}\n    ${s.error}`);

if (write) {
  const out = [
    '# ClickHouse statements checked on a current ClickHouse',
    '',
    'Every statement shape the ClickHouse suites send — migrations, the',
    "collector's inserts, report and billing queries, retention, replay and the",
    "dashboards' queries — run by `npm test` against Debian's ClickHouse 18.16 and",
    "again against a current engine (chDB 26.9, ClickHouse's engine in a library,",
    'behind its HTTP interface: `scripts/clickhouse-current/server.py`). Literals,',
    'inline rows and scratch database names are folded (`?`, `N`, `<db>`).',
    'Written by `node scripts/clickhouse-current/statements.ts --write` after',
    '`npm test`; see [decision 14](../decisions/0014-current-clickhouse.md).',
    '',
    `${shapes.size} distinct statements: ${[...kinds].map(([k, n]) => `${n} ${k}`).join(', ')}.`,
    '',
    '| kind | statement | ran | failed |',
    '| --- | --- | --- | --- |',
    ...[...shapes]
      .sort(([a, x], [b, y]) => x.kind.localeCompare(y.kind) || a.localeCompare(b))
      .map(
        ([shape, s]) =>
          `| ${s.kind} | \`${shape.replace(/\|/g, '\\|').replace(/`/g, "'")}\` | ${s.ok + s.failed} | ${s.failed} |`,
      ),
    '',
    'A statement that failed is one a test sends to see it fail (an unknown type',
    'in a migration, a database dropped under a query).',
    '',
  ];
  writeFileSync(join(root, 'docs/reference/clickhouse-statements.md'), out.join('\n'));
  console.log('wrote docs/reference/clickhouse-statements.md');
}
