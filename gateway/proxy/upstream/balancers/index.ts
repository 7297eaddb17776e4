import type { BalancerFactory } from '../balancer.ts';
import { consistentHash } from './consistent-hash.ts';
import { ipHash } from './ip-hash.ts';
import { leastConnections } from './least-connections.ts';
import { random } from './random.ts';
import { roundRobin } from './round-robin.ts';
import { weightedRoundRobin } from './weighted-round-robin.ts';

/** Names accepted by the config schema's enum, in documentation order. */
export const balancerNames = [
  'round_robin',
  'weighted_round_robin',
  'random',
  'least_connections',
  'consistent_hash',
  'ip_hash',
] as const;

/** 'round_robin' | 'weighted_round_robin' | 'random' | 'least_connections' | 'consistent_hash' | 'ip_hash' */
export type BalancerName = (typeof balancerNames)[number];

export const balancers: Record<BalancerName, BalancerFactory> = {
  round_robin: roundRobin,
  weighted_round_robin: weightedRoundRobin,
  random,
  least_connections: leastConnections,
  consistent_hash: consistentHash,
  ip_hash: ipHash,
};
