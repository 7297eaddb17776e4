/**
 * The project's ClickHouse client: the official `@clickhouse/client` (docs/decisions/0015-clickhouse-client.md)
 * behind the few calls the collector, the migrations and the reports make, written against what ClickHouse 18.16
 * (Debian) and current releases both understand: the database and settings as URL parameters, JSONEachRow in and
 * out, TabSeparated for the raw events. No server-side query parameters (`{name:Type}` arrived in 19.x), so values
 * are inlined with the quoting helpers in sql.ts.
 */
import { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ClickHouseError as ServerError, type ClickHouseClient as Official, createClient } from '@clickhouse/client';

export interface ClickHouseClientOptions {
  /** e.g. http://user:password@127.0.0.1:8123 — credentials in the URL become Basic auth. */
  url: string;
  /** Database for unqualified table names; omitted = the server's default. */
  database?: string;
  /** Per-request timeout (default 30000). */
  timeoutMs?: number;
}

/** An error the server reported, with its numeric code (e.g. 60 = unknown table). */
export class ClickHouseError extends Error {
  readonly code: number | undefined;
  constructor(message: string, code: number | undefined, options?: { cause: unknown }) {
    super(message, options);
    this.name = 'ClickHouseError';
    this.code = code;
  }
}

/** No answer from the server: refused, reset, or past the client's timeout. */
export class ClickHouseUnreachableError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'ClickHouseUnreachableError';
  }
}

export interface ClickHouseClient {
  readonly database: string | undefined;
  /**
   * Runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT), or, given bytes, an INSERT whose first
   * line is the statement and whose rest is its data (the collector's TabSeparated raw rows).
   */
  exec(sql: string | Uint8Array): Promise<void>;
  /** Runs a SELECT and returns its rows; 64-bit integers arrive as numbers. */
  query<Row = Record<string, unknown>>(sql: string): Promise<Row[]>;
  /** Inserts rows (objects keyed by column name) in one request, i.e. one block. */
  insert(table: string, rows: readonly Record<string, unknown>[]): Promise<void>;
  /** The server version, e.g. { major: 18, minor: 16, text: '18.16.1' }. */
  serverVersion(): Promise<ServerVersion>;
  /** The same server and credentials with another default database. */
  withDatabase(database: string | undefined): ClickHouseClient;
}

export interface ServerVersion {
  major: number;
  minor: number;
  text: string;
}

// wait_end_of_query makes the server buffer the result, so an error late in a query is a non-200 status rather than
// a 200 whose body ends in an exception text. Both settings exist in 18.16.
const SETTINGS = { wait_end_of_query: 1, output_format_json_quote_64bit_integers: 0 } as const;

export function createClickHouseClient(options: ClickHouseClientOptions): ClickHouseClient {
  const parsed = new URL(options.url);
  const username = decodeURIComponent(parsed.username) || 'default';
  const password = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  const url = parsed.toString().replace(/\/$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;
  const clients = new Map<string, Official>();
  let versionPromise: Promise<ServerVersion> | undefined;

  /** One official client per database (its `database` is per client); they share nothing but the settings. */
  function official(database: string | undefined): Official {
    const key = database ?? '';
    let c = clients.get(key);
    if (c === undefined) {
      c = createClient({
        url,
        username,
        password,
        database,
        request_timeout: timeoutMs,
        clickhouse_settings: SETTINGS,
        // 18.16 answers compressed only when asked; the collector's batches are on a local network.
        compression: { request: false, response: false },
      });
      clients.set(key, c);
    }
    return c;
  }

  async function call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      // The official client parses an error it recognises (current servers end it with the code's name); an older
      // server's `Code: N. DB::Exception: …` comes through as a plain error with that text.
      const e = error as Error & { cause?: Error };
      const code = error instanceof ServerError ? Number(error.code) : Number(/^Code: (\d+)/.exec(e.message)?.[1]);
      if (Number.isInteger(code)) throw new ClickHouseError(`ClickHouse: ${e.message.trim()}`, code, { cause: error });
      throw new ClickHouseUnreachableError(
        `cannot reach ClickHouse at ${parsed.origin}: ${e.cause?.message ?? e.message}`,
        {
          cause: error,
        },
      );
    }
  }

  function build(database: string | undefined): ClickHouseClient {
    return {
      database,
      async exec(sql) {
        const c = official(database);
        if (typeof sql === 'string') {
          await call(() => c.command({ query: sql }));
          return;
        }
        // The statement goes in the URL, its rows in the body, as the official client sends an insert.
        const newline = Buffer.from(sql.buffer, sql.byteOffset, sql.byteLength).indexOf(10);
        const statement = Buffer.from(sql.subarray(0, newline)).toString();
        const rows = sql.subarray(newline + 1);
        await call(async () => {
          const answer = await c.exec({ query: statement, values: Readable.from([rows]) });
          await finished(answer.stream.resume());
        });
      },
      async query<Row>(sql: string) {
        const c = official(database);
        return call(async () => (await c.query({ query: sql, format: 'JSONEachRow' })).json<Row>());
      },
      async insert(table, rows) {
        if (rows.length === 0) return;
        const c = official(database);
        await call(() => c.insert({ table, values: rows as Record<string, unknown>[], format: 'JSONEachRow' }));
      },
      serverVersion() {
        versionPromise ??= call(async () => {
          const [row] = await (
            await official(undefined).query({ query: 'SELECT version() AS v', format: 'JSONEachRow' })
          ).json<{ v: string }>();
          return parseVersion(row.v);
        });
        versionPromise.catch(() => (versionPromise = undefined));
        return versionPromise;
      },
      withDatabase(other) {
        return build(other);
      },
    };
  }
  return build(options.database);
}

function parseVersion(text: string): ServerVersion {
  const trimmed = text.trim();
  const match = /^(\d+)\.(\d+)/.exec(trimmed);
  if (!match) throw new Error(`unexpected ClickHouse version string ${JSON.stringify(trimmed)}`);
  return { major: Number(match[1]), minor: Number(match[2]), text: trimmed };
}

/** Table-level TTL arrived in ClickHouse 19.6; 18.16 rejects the clause. */
export function supportsTableTtl(version: ServerVersion): boolean {
  return version.major > 19 || (version.major === 19 && version.minor >= 6);
}
