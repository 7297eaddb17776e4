/**
 * Literal and identifier quoting for SQL sent to ClickHouse. ClickHouse 18.16
 * has no server-side query parameters, so every value is inlined; these are
 * the only places that turn a value into SQL text.
 */

/** A single-quoted string literal; backslash and quote are escaped as ClickHouse's lexer expects. */
export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A database or table name. Only plain identifiers are accepted (no quoting
 * games): names come from config and tests, never from requests.
 */
export function identifier(name: string): string {
  if (!IDENTIFIER.test(name))
    throw new Error(`invalid ClickHouse identifier ${JSON.stringify(name)}: use letters, digits and _`);
  return name;
}

/** A DateTime literal from epoch seconds, independent of the server's time zone. */
export function dateTimeFromEpochS(epochS: number): string {
  if (!Number.isInteger(epochS) || epochS < 0)
    throw new Error(`epoch seconds must be a non-negative integer, got ${epochS}`);
  return `toDateTime(${epochS})`;
}
