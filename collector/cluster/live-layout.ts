/**
 * Where the live counters live in Redis: key names (read by live-stats.ts and
 * the reports API too), the per-partition offset marks, and the Lua script
 * that applies a range of one partition's offsets at most once.
 */
import { DAY_S } from './live-delta.ts';

export const DEFAULT_LIVE_PREFIX = 'tollgate:live:';
/** Marks outlive every counter key; an idle partition's mark may then go. */
export const MARK_TTL_S = 7 * DAY_S;

/** YYYY-MM-DD (UTC) of the day holding epoch second s. */
export function dayKey(prefix: string, epochS: number, kind: 'app' | 'service'): string {
  return `${prefix}day:${new Date(epochS * 1000).toISOString().slice(0, 10)}:${kind}`;
}

/** YYYY-MM-DDTHH (UTC) of the hour holding epoch second s. */
export function hourKey(prefix: string, epochS: number, kind: 'app' | 'service'): string {
  return `${prefix}hour:${new Date(epochS * 1000).toISOString().slice(0, 13)}:${kind}`;
}

export function secondKey(prefix: string, epochS: number): string {
  return `${prefix}qps:${epochS}`;
}

export function markKey(prefix: string, topic: string, partition: number): string {
  return `${prefix}offset:${topic}/${partition}`;
}

/** The hash field of an (app, service) pair: JSON, so no separator can collide. */
export function serviceField(appId: string, service: string): string {
  return JSON.stringify([appId, service]);
}

// KEYS[1] = mark; KEYS[2..] = counters. ARGV: first offset, last offset, mark
// ttl, then per counter key: ttl, kind ('hash' | 'string'), n, n × (field,
// increment). Returns {1, last} applied, {2, mark} the mark is already at or
// past the range (applied before), {3, mark} the mark is inside the range.
export const APPLY_LUA = `
local stored = redis.call('GET', KEYS[1]) or '-1'
local mark = tonumber(stored)
if mark >= tonumber(ARGV[2]) then return {2, stored} end
if mark >= tonumber(ARGV[1]) then return {3, stored} end
local a = 4
for k = 2, #KEYS do
  local ttl = ARGV[a]
  local kind = ARGV[a + 1]
  local n = tonumber(ARGV[a + 2])
  a = a + 3
  for i = 1, n do
    if kind == 'string' then redis.call('INCRBY', KEYS[k], ARGV[a + 1])
    else redis.call('HINCRBY', KEYS[k], ARGV[a], ARGV[a + 1]) end
    a = a + 2
  end
  redis.call('EXPIRE', KEYS[k], ttl)
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
return {1, ARGV[2]}
`;
