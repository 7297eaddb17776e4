import { PROTOCOLS } from '../../shared/access-event.ts';
import { GRPC_STATUS, GRPC_STATUS_NAMES } from '../../shared/grpc-status.ts';
import type { ClassFilter } from './source.ts';

/**
 * Query-string validation for the reports API. Every failure names the
 * field, so a 400 says which parameter to fix.
 */
export class ParamError extends Error {
  /** The admin API's error handler answers 400 GW_ERR_BAD_REQUEST with `message`. */
  readonly statusCode = 400;
  readonly field: string;
  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.name = 'ParamError';
    this.field = field;
  }
}

export const DAY_MS = 86_400_000;

type Query = Record<string, unknown>;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
// A zone is required: a time without one would depend on the server's time zone.
const TIME = /^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/** Refuses parameters not in `allowed`: a misspelt filter must not silently widen a report. */
export function rejectUnknown(query: Query, allowed: readonly string[]): void {
  for (const key of Object.keys(query)) {
    if (allowed.includes(key)) continue;
    throw new ParamError(
      key,
      allowed.length === 0
        ? 'unknown parameter; none are taken'
        : `unknown parameter; expected one of ${allowed.join(', ')}`,
    );
  }
}

/** The value of `field`, or undefined when absent. Given twice or empty is an error. */
export function optionalString(query: Query, field: string): string | undefined {
  const value = query[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new ParamError(field, 'give it once');
  if (value === '') throw new ParamError(field, 'must not be empty; omit it instead');
  return value;
}

export function requiredString(query: Query, field: string): string {
  const value = optionalString(query, field);
  if (value === undefined) throw new ParamError(field, 'is required');
  return value;
}

export function oneOf<T extends string>(query: Query, field: string, allowed: readonly T[], fallback: T): T {
  const value = optionalString(query, field);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value))
    throw new ParamError(field, `must be one of ${allowed.join(', ')}`);
  return value as T;
}

/**
 * `protocol` (http/1.1, h2, grpc, websocket, tcp) and `grpc_status` (a name such as UNAVAILABLE, or its code 0..16).
 * A gRPC status with a protocol other than grpc matches nothing, so it is refused rather than answered empty.
 */
export function classFilter(query: Query): ClassFilter {
  const protocol = optionalString(query, 'protocol');
  if (protocol !== undefined && !(PROTOCOLS as readonly string[]).includes(protocol))
    throw new ParamError('protocol', `must be one of ${PROTOCOLS.join(', ')}`);
  const status = optionalString(query, 'grpc_status');
  let grpcStatus: number | undefined;
  if (status !== undefined) {
    if (/^(0|[1-9]\d?)$/.test(status)) grpcStatus = Number(status);
    else if (Object.hasOwn(GRPC_STATUS, status)) grpcStatus = GRPC_STATUS[status as keyof typeof GRPC_STATUS];
    if (grpcStatus === undefined || grpcStatus >= GRPC_STATUS_NAMES.length)
      throw new ParamError('grpc_status', 'must be a gRPC status name (OK, UNAVAILABLE, …) or code 0..16');
    if (protocol !== undefined && protocol !== 'grpc')
      throw new ParamError('grpc_status', 'only gRPC calls have one; use it without protocol or with protocol=grpc');
  }
  return { protocol: protocol as ClassFilter['protocol'], grpcStatus };
}

/** Epoch ms of a YYYY-MM-DD calendar date at 00:00 UTC. */
export function dateParam(query: Query, field: string): number {
  const value = requiredString(query, field);
  const ms = calendarDateMs(value);
  if (ms === undefined) throw new ParamError(field, 'must be a date YYYY-MM-DD');
  return withinStore(field, ms, ms + DAY_MS);
}

/**
 * Times a report can ask for: those ClickHouse's DateTime holds (seconds since 1970 in 32 bits, to 2106-02-07).
 * Past them its toDateTime() wraps round (18.16: 2200-01-01 read as 2063-11-24) or stops at the end (current
 * releases), so a report of another time would come back as this one's; embedded reports take the same bounds.
 */
const FIRST_MS = 0;
const LAST_MS = Date.UTC(2106, 0, 1);

function withinStore(field: string, startMs: number, endMs = startMs): number {
  if (startMs < FIRST_MS || endMs > LAST_MS)
    throw new ParamError(field, 'must be from 1970-01-01 to 2106-01-01 (what the report store holds)');
  return startMs;
}

/** Epoch ms of an ISO 8601 time with a zone (2025-03-10T13:00:00Z) or a date (UTC midnight). */
export function timeParam(query: Query, field: string): number {
  const value = requiredString(query, field);
  const dateOnly = calendarDateMs(value);
  if (dateOnly !== undefined) return withinStore(field, dateOnly);
  const match = TIME.exec(value);
  const ms = match && calendarDateMs(match[1]) !== undefined ? Date.parse(value) : NaN;
  if (!Number.isFinite(ms))
    throw new ParamError(field, 'must be an ISO 8601 time with a zone, e.g. 2025-03-10T13:00:00Z');
  return withinStore(field, ms);
}

/** Checks from < to and that the range spans at most `maxDays`. */
export function checkRange(fromMs: number, toMs: number, maxDays: number): void {
  if (fromMs >= toMs) throw new ParamError('from', 'must be before to');
  if (toMs - fromMs > maxDays * DAY_MS) throw new ParamError('to', `the range may span at most ${maxDays} days`);
}

function calendarDateMs(value: string): number | undefined {
  const m = DATE.exec(value);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // Date.UTC rolls 2025-02-30 over into March; a date that does not round-trip does not exist.
  if (back.getUTCFullYear() !== year || back.getUTCMonth() !== month - 1 || back.getUTCDate() !== day) return undefined;
  return ms;
}

/** `limit` as an integer from 1 to `max`, `fallback` when absent. */
export function limitParam(query: Query, max: number, fallback: number): number {
  const text = optionalString(query, 'limit');
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > max) throw new ParamError('limit', `must be an integer from 1 to ${max}`);
  return n;
}

/** `status` as one status (`429`) or a class (`4xx`): the range of statuses it takes in. */
export function statusParam(query: Query): { statusFrom?: number; statusTo?: number } {
  const text = optionalString(query, 'status');
  if (text === undefined) return {};
  const m = /^([1-5])(xx|\d\d)$/i.exec(text);
  if (m === null) throw new ParamError('status', 'must be a status such as 429 or a class such as 5xx');
  if (m[2].toLowerCase() === 'xx') return { statusFrom: Number(m[1]) * 100, statusTo: Number(m[1]) * 100 + 99 };
  return { statusFrom: Number(text), statusTo: Number(text) };
}
