import type { IncomingHttpHeaders } from 'node:http';
import type { Target } from './target.ts';

/** What a balancer may look at to pick a target. Built once per request, lazily cheap. */
export interface BalanceRequest {
  clientIp: string;
  headers: IncomingHttpHeaders;
  /** Path without the query string, as the client sent it. */
  path: string;
  /** Raw query string without the leading `?` ('' when none). */
  query: string;
  /** The authenticated app's id, '' when none (no auth, an anonymous path, a TCP stream). */
  appId: string;
}

/** Where a hashing balancer takes its key from. */
export interface HashOn {
  source: 'ip' | 'app' | 'header' | 'cookie' | 'path' | 'query';
  /** Header, cookie or query-argument name; unused for ip and path. */
  name?: string;
}

export interface BalancerOptions {
  hashOn?: HashOn;
}

/**
 * Picks one target. `eligible` says whether a target may be used now
 * (healthy, not ejected, not already tried by this request). Returns
 * undefined only when no target is eligible. Implementations never throw
 * and never allocate per call beyond what their algorithm needs.
 */
export interface Balancer {
  pick(req: BalanceRequest, eligible: (t: Target) => boolean): Target | undefined;
}

export type BalancerFactory = (targets: readonly Target[], options: BalancerOptions) => Balancer;
