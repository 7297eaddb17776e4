/**
 * A small client for ClickHouse's HTTP interface, written against what
 * ClickHouse 18.16 (Debian) and current releases both understand: SQL in the
 * POST body, the database and settings as URL parameters, JSONEachRow in and
 * out. No server-side query parameters (`{name:Type}` arrived in 19.x), so
 * values are inlined with the quoting helpers in sql.ts.
 */

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
  readonly status: number;
  constructor(message: string, status: number, code: number | undefined) {
    super(message);
    this.name = 'ClickHouseError';
    this.status = status;
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
  /** Runs a statement that returns no rows (DDL, ALTER, INSERT ... SELECT, or an INSERT with its data as UTF-8 bytes).
   * */
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

// Settings sent with every request. wait_end_of_query makes the server buffer
// the result, so an error late in a query is a non-200 status rather than a
// 200 whose body ends in an exception text. Both settings exist in 18.16.
const COMMON_SETTINGS: Record<string, string> = {
  wait_end_of_query: '1',
  output_format_json_quote_64bit_integers: '0',
};

export function createClickHouseClient(options: ClickHouseClientOptions): ClickHouseClient {
  const parsed = new URL(options.url);
  const authorization =
    parsed.username || parsed.password
      ? 'Basic ' +
        Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')
      : undefined;
  parsed.username = '';
  parsed.password = '';
  const baseUrl = parsed.toString();
  const timeoutMs = options.timeoutMs ?? 30_000;
  let versionPromise: Promise<ServerVersion> | undefined;

  async function post(body: string | Uint8Array, database: string | undefined): Promise<string> {
    const url = new URL(baseUrl);
    for (const [key, value] of Object.entries(COMMON_SETTINGS)) url.searchParams.set(key, value);
    if (database) url.searchParams.set('database', database);
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (authorization) headers.authorization = authorization;
    let response: Response;
    try {
      // Bytes are never a SharedArrayBuffer view here; the DOM typing wants that said.
      response = await fetch(url, {
        method: 'POST',
        body: body as string | Uint8Array<ArrayBuffer>,
        headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      // fetch says only "fetch failed"; the cause (ECONNREFUSED, timeout) is what an operator needs.
      const cause = (error as Error).cause as Error | undefined;
      throw new ClickHouseUnreachableError(
        `cannot reach ClickHouse at ${url.origin}: ${cause?.message ?? (error as Error).message}`,
        { cause: error },
      );
    }
    const text = await response.text();
    if (!response.ok) {
      const code = /^Code: (\d+)/.exec(text)?.[1];
      throw new ClickHouseError(
        `ClickHouse ${response.status}: ${text.trim()}`,
        response.status,
        code === undefined ? undefined : Number(code),
      );
    }
    return text;
  }

  function build(database: string | undefined): ClickHouseClient {
    return {
      database,
      async exec(sql) {
        await post(sql, database);
      },
      async query<Row>(sql: string) {
        const text = await post(`${sql}\nFORMAT JSONEachRow`, database);
        const rows: Row[] = [];
        for (const line of text.split('\n')) if (line !== '') rows.push(JSON.parse(line) as Row);
        return rows;
      },
      async insert(table, rows) {
        if (rows.length === 0) return;
        const lines = rows.map((row) => JSON.stringify(row)).join('\n');
        await post(`INSERT INTO ${table} FORMAT JSONEachRow\n${lines}\n`, database);
      },
      serverVersion() {
        versionPromise ??= post('SELECT version()', undefined).then(parseVersion);
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
