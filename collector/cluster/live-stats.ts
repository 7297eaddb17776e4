/**
 * Reads the live counters LiveCounters writes (live-counters.ts): current QPS
 * and today's and this hour's requests per (app, service). Answers within
 * timeoutMs whatever Redis does: a slow or absent Redis gives a `degraded`
 * answer with the reason, never an exception — the reports API still serves
 * exact numbers from ClickHouse meanwhile.
 */
import type { Redis } from 'ioredis';
import { dayKey, hourKey, secondKey } from './live-counters.ts';

/** QPS is averaged over this many complete seconds before the current one (events arrive up to ~0.5 s late). */
export const QPS_WINDOW_S = 10;

export interface LiveRow {
  app_id: string;
  service: string;
  requests: number;
}

export type LiveStats =
  | { status: 'ok'; qps: number; today: LiveRow[]; current_hour: LiveRow[] }
  | { status: 'degraded'; reason: string; qps: null; today: LiveRow[]; current_hour: LiveRow[] };

export async function readLiveStats(
  redis: Redis,
  prefix: string,
  nowMs = Date.now(),
  timeoutMs = 500,
): Promise<LiveStats> {
  let timer: NodeJS.Timeout | undefined;
  try {
    if (redis.status !== 'ready') throw new Error(`redis is ${redis.status}`);
    const nowS = Math.floor(nowMs / 1000);
    const seconds = Array.from({ length: QPS_WINDOW_S }, (_, i) => secondKey(prefix, nowS - QPS_WINDOW_S + i));
    const read = Promise.all([
      redis.hgetall(dayKey(prefix, nowS, 'service')),
      redis.hgetall(hourKey(prefix, nowS, 'service')),
      redis.mget(...seconds),
    ]);
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    const [today, hour, perSecond] = await Promise.race([read, timeout]);
    const total = perSecond.reduce((sum, n) => sum + Number(n ?? 0), 0);
    return { status: 'ok', qps: total / QPS_WINDOW_S, today: rows(today), current_hour: rows(hour) };
  } catch (error) {
    return {
      status: 'degraded',
      reason: `live counters unavailable: ${(error as Error).message}`,
      qps: null,
      today: [],
      current_hour: [],
    };
  } finally {
    clearTimeout(timer);
  }
}

function rows(hash: Record<string, string>): LiveRow[] {
  const out: LiveRow[] = [];
  for (const [field, n] of Object.entries(hash)) {
    const [app_id, service] = JSON.parse(field) as [string, string];
    out.push({ app_id, service, requests: Number(n) });
  }
  return out.sort((a, b) => a.app_id.localeCompare(b.app_id) || a.service.localeCompare(b.service));
}
