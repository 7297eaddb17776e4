import type { IncomingHttpHeaders } from 'node:http';
import type { Balancer, BalanceRequest } from '../balancer.ts';
import { Target } from '../target.ts';

/** Targets on made-up loopback ports; balancers never connect to them. */
export function makeTargets(...weights: number[]): Target[] {
  return weights.map((w, i) => new Target(`http://127.0.0.1:${9001 + i}`, w));
}

export function request(
  clientIp = '127.0.0.1',
  headers: IncomingHttpHeaders = {},
  path = '/',
  query = '',
  appId = '',
): BalanceRequest {
  return { clientIp, headers, path, query, appId };
}

export const everyTarget = (): boolean => true;

export function available(t: Target): boolean {
  return t.available();
}

/** Picks `count` times and returns how often each target (by position in `targets`) was picked. */
export function countPicks(
  balancer: Balancer,
  targets: readonly Target[],
  count: number,
  eligible: (t: Target) => boolean = everyTarget,
  req: (i: number) => BalanceRequest = () => request(),
): number[] {
  const counts = targets.map(() => 0);
  for (let i = 0; i < count; i++) {
    const picked = balancer.pick(req(i), eligible);
    if (picked) counts[targets.indexOf(picked)]++;
  }
  return counts;
}

/** Sequence of picks as letters a, b, c… by position in `targets`; '-' for none. */
export function pickLetters(
  balancer: Balancer,
  targets: readonly Target[],
  count: number,
  eligible: (t: Target) => boolean = everyTarget,
): string {
  let letters = '';
  for (let i = 0; i < count; i++) {
    const picked = balancer.pick(request(), eligible);
    letters += picked ? String.fromCharCode(0x61 + targets.indexOf(picked)) : '-';
  }
  return letters;
}
