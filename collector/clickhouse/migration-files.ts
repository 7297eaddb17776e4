/**
 * Reading migrations/NNNN_description.sql: naming rules, checksums, the
 * `{{name}}` placeholders and the `-- if supports_ttl:` line marker, and
 * splitting a file into statements. Pure functions (plus one directory read)
 * so the rules are tested without a server.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface MigrationFile {
  /** The number in the file name (0001 → 1). */
  version: number;
  /** The file name, e.g. 0001_access_events.sql. */
  name: string;
  /** sha256 of the file as written (before placeholders), hex. */
  checksum: string;
  /** The file's text as written. */
  source: string;
}

/** What the runner fills in; every placeholder in a file must be one of these. */
export interface RenderContext {
  /** Raw-event retention in days, for `{{retention_days}}`. */
  retentionDays: number;
  /** Whether the server takes table TTL clauses (19.6+); enables `-- if supports_ttl:` lines. */
  supportsTtl: boolean;
}

const FILE_NAME = /^(\d{4})_([a-z0-9_]+)\.sql$/;
const TTL_MARKER = /^(\s*)-- if supports_ttl: ?(.*)$/;
const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

export function checksumOf(source: string): string {
  return createHash('sha256').update(source).digest('hex');
}

/**
 * Every migration in `dir`, ordered by version. Other files (README.md) are
 * ignored; a .sql file with a bad name or a repeated number is an error, since
 * it would silently never run or run in an undefined order.
 */
export async function loadMigrations(dir: string): Promise<MigrationFile[]> {
  const names = (await readdir(dir)).filter((name) => name.endsWith('.sql')).sort();
  const byVersion = new Map<number, string>();
  const files: MigrationFile[] = [];
  for (const name of names) {
    const match = FILE_NAME.exec(name);
    if (!match)
      throw new Error(
        `migration file ${name} must be named NNNN_description.sql (4 digits, lower-case letters, digits, _)`,
      );
    const version = Number(match[1]);
    if (version === 0) throw new Error(`migration file ${name}: numbers start at 0001`);
    const clash = byVersion.get(version);
    if (clash) throw new Error(`migration files ${clash} and ${name} share the number ${match[1]}`);
    byVersion.set(version, name);
    const source = await readFile(join(dir, name), 'utf8');
    files.push({ version, name, checksum: checksumOf(source), source });
  }
  return files;
}

/**
 * The file's SQL for this server: `-- if supports_ttl:` lines are uncommented
 * on servers with table TTL and left as comments elsewhere (so the file stays
 * valid SQL either way), then placeholders are substituted.
 */
export function renderMigration(file: Pick<MigrationFile, 'name' | 'source'>, context: RenderContext): string {
  if (!Number.isInteger(context.retentionDays) || context.retentionDays < 1) {
    throw new Error(`retention must be a whole number of days >= 1, got ${context.retentionDays}`);
  }
  const values: Record<string, string> = { retention_days: String(context.retentionDays) };
  const lines = file.source.split('\n').map((line) => {
    const marked = TTL_MARKER.exec(line);
    return marked && context.supportsTtl ? `${marked[1]}${marked[2]}` : line;
  });
  return lines.join('\n').replace(PLACEHOLDER, (_, key: string) => {
    const value = values[key];
    if (value === undefined)
      throw new Error(`${file.name}: unknown placeholder {{${key}}} (known: ${Object.keys(values).join(', ')})`);
    return value;
  });
}

/**
 * Statements end with `;` at the end of a line. A chunk that is only comments
 * and blank lines is not a statement (ClickHouse rejects an empty query).
 */
export function splitStatements(sql: string): string[] {
  return sql
    .split(/;[ \t]*(?:\r?\n|$)/)
    .map((chunk) => chunk.trim())
    .filter((chunk) => chunk.split('\n').some((line) => line.trim() !== '' && !line.trim().startsWith('--')));
}
