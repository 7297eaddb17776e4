/**
 * Applies migrations/NNNN_*.sql to ClickHouse in order, forward only, and
 * records each in <database>.schema_migrations. Safe to run twice and to run
 * again after a failure: ClickHouse has no transactions, so every statement in
 * a migration is written to be idempotent (IF NOT EXISTS) and a version is
 * recorded only after all of its statements succeeded; a half-applied
 * migration is simply run again from its first statement.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ClickHouseClient } from './http-client.ts';
import { supportsTableTtl } from './http-client.ts';
import type { MigrationFile } from './migration-files.ts';
import { loadMigrations, renderMigration, splitStatements } from './migration-files.ts';
import { identifier, quoteString } from './sql.ts';

export const DEFAULT_DATABASE = 'tollgate';
export const DEFAULT_RETENTION_DAYS = 30;
/** The repository's migrations/, from the sources (collector/clickhouse/) or from the build (dist/collector/…). */
export const DEFAULT_MIGRATIONS_DIR = [
  fileURLToPath(new URL('../../migrations/', import.meta.url)),
  fileURLToPath(new URL('../../../migrations/', import.meta.url)),
].find((dir) => existsSync(dir)) as string;

export interface MigrateOptions {
  /** Any client of the server; its own default database is not used. */
  client: ClickHouseClient;
  /** Database holding the tables and schema_migrations (default tollgate). */
  database?: string;
  /** Folder of NNNN_description.sql files (default the repo's migrations/). */
  dir?: string;
  /** Raw-event retention substituted for {{retention_days}} (default 30). */
  retentionDays?: number;
  /** One line per applied migration; default silent. */
  log?: (line: string) => void;
}

export interface AppliedMigration {
  version: number;
  name: string;
  statements: number;
}

export interface MigrateResult {
  database: string;
  serverVersion: string;
  /** Whether the raw table got a TTL clause (19.6+) or relies on partition drops (see retention.ts). */
  ttl: boolean;
  /** Applied by this run, in order. */
  applied: AppliedMigration[];
  /** Already applied before this run (checksums verified). */
  alreadyApplied: number;
}

interface AppliedRow {
  version: number;
  name: string;
  checksum: string;
}

export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const database = identifier(options.database ?? DEFAULT_DATABASE);
  const retentionDays = options.retentionDays ?? DEFAULT_RETENTION_DAYS;
  const log = options.log ?? (() => {});
  const files = await loadMigrations(options.dir ?? DEFAULT_MIGRATIONS_DIR);
  const server = options.client.withDatabase(undefined);
  const version = await server.serverVersion();
  const ttl = supportsTableTtl(version);

  await server.exec(`CREATE DATABASE IF NOT EXISTS ${database}`);
  const db = server.withDatabase(database);
  await ensureHistoryTable(db);
  const applied = await readApplied(db);
  const pending = checkHistory(files, applied);

  const done: AppliedMigration[] = [];
  for (const file of pending) {
    const statements = splitStatements(renderMigration(file, { retentionDays, supportsTtl: ttl }));
    for (const [index, statement] of statements.entries()) {
      try {
        await db.exec(statement);
      } catch (error) {
        throw new Error(
          `${file.name}: statement ${index + 1} of ${statements.length} failed; ` +
            `nothing of it is recorded, fix it and run again: ${(error as Error).message}`,
          { cause: error },
        );
      }
    }
    await db.exec(
      `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ` +
        `(${file.version}, ${quoteString(file.name)}, ${quoteString(file.checksum)}, now())`,
    );
    done.push({ version: file.version, name: file.name, statements: statements.length });
    log(`applied ${file.name} (${statements.length} statement${statements.length === 1 ? '' : 's'})`);
  }
  return { database, serverVersion: version.text, ttl, applied: done, alreadyApplied: applied.length };
}

async function ensureHistoryTable(db: ClickHouseClient): Promise<void> {
  // ReplacingMergeTree so two runners that raced and both recorded a version
  // collapse to one row; reads still GROUP BY version and never rely on merges.
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations
(
    version UInt32,
    name String,
    checksum String,
    applied_at DateTime
)
ENGINE = ReplacingMergeTree()
ORDER BY version`);
}

async function readApplied(db: ClickHouseClient): Promise<AppliedRow[]> {
  return db.query<AppliedRow>(
    'SELECT version, any(name) AS name, any(checksum) AS ' +
      'checksum FROM schema_migrations GROUP BY version ORDER BY version',
  );
}

/**
 * Verifies the history against the files before anything runs, and returns
 * the files still to apply. Forward only: an applied file must not change or
 * vanish, and a new file must be numbered above every applied one.
 */
export function checkHistory(files: readonly MigrationFile[], applied: readonly AppliedRow[]): MigrationFile[] {
  const byVersion = new Map(files.map((file) => [file.version, file]));
  let highestApplied = 0;
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (!file)
      throw new Error(`migration ${row.name} was applied but its file is missing; migrations are never deleted`);
    if (file.checksum !== row.checksum) {
      throw new Error(
        `migration ${file.name} was changed after it was applied (recorded checksum ` +
          `${row.checksum.slice(0, 12)}…, file now ` +
          `${file.checksum.slice(0, 12)}…); restore it and add a new migration instead`,
      );
    }
    highestApplied = Math.max(highestApplied, row.version);
  }
  const appliedVersions = new Set(applied.map((row) => row.version));
  const pending = files.filter((file) => !appliedVersions.has(file.version));
  const late = pending.find((file) => file.version < highestApplied);
  if (late) {
    throw new Error(
      `migration ${late.name} is numbered below the already applied ${String(highestApplied).padStart(4, '0')}; ` +
        'renumber it above every applied migration',
    );
  }
  return pending;
}
