// Two-node clusters on a private Redis behind a relay, for the cluster edit suites.
import { randomUUID } from 'node:crypto';
import type { TestContext } from 'node:test';
import { Redis } from 'ioredis';
import { service, startGateway, type TestGateway, NO_EVENTS } from '../helpers/gateway.ts';
import { startPrivateRedis } from '../helpers/redis-server.ts';
import { scriptOn, startRedisInterposer, type RedisInterposer, type Trap } from '../helpers/redis-interposer.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

/**
 * Admin edits made at the same time on different nodes of a cluster (one
 * Redis store). Each node used to append the config it derived from its own
 * head, so an edit appended by another node in between was silently dropped.
 * Every test has a private redis-server, so none depends on the shared one.
 * The nodes reach it through a relay (helpers/redis-interposer.ts), so a test
 * can store another node's version inside a node's own append.
 */

export interface Cluster {
  /** The server itself: what "another node" writes to. */
  redisUrl: string;
  /** What the nodes here connect to. */
  relay: RedisInterposer;
  prefix: string;
  upstream: TestUpstream;
  node(): Promise<TestGateway>;
}

export async function cluster(t: TestContext): Promise<Cluster | undefined> {
  const redis = await startPrivateRedis(t);
  if (!redis) return undefined;
  const relay = await startRedisInterposer(t, redis.url);
  const prefix = `tollgate-test-${randomUUID()}:`;
  const upstream = await startUpstream('one');
  const nodes: TestGateway[] = [];
  t.after(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    await upstream.close();
  });
  return {
    redisUrl: redis.url,
    relay,
    prefix,
    upstream,
    async node() {
      const gw = await startGateway({
        store: { kind: 'redis', redis_url: relay.url, prefix },
        events: NO_EVENTS,
        services: [service('api', [upstream.url], [{ paths: ['/api'] }])],
      });
      nodes.push(gw);
      return gw;
    },
  };
}

export const serviceNames = (gw: TestGateway) =>
  ((gw.manager.current().config.services ?? []) as Array<{ name: string }>).map((s) => s.name).sort();

/**
 * Another node's edit whose announcement this cluster's nodes have not
 * heard yet (stored and made the head, never published): until their next
 * poll they still serve the version before it.
 */
export async function appendUnannounced(
  c: Pick<Cluster, 'redisUrl' | 'prefix'>,
  change: (services: unknown[]) => unknown[],
): Promise<number> {
  const raw = new Redis(c.redisUrl);
  try {
    const headKey = `${c.prefix}config:head`;
    const versionsKey = `${c.prefix}config:versions`;
    const head = Number(await raw.get(headKey));
    const body = JSON.parse((await raw.hget(versionsKey, String(head)))!);
    body.config = { ...body.config, services: change(body.config.services) };
    body.source = 'admin';
    body.note = 'an edit on another node';
    await raw.hset(versionsKey, String(head + 1), JSON.stringify(body));
    await raw.set(headKey, String(head + 1));
    return head + 1;
  } finally {
    await raw.quit();
  }
}

/**
 * appendUnannounced, made while the next append a node here sends is on its
 * way to Redis: the node has made its change on the version it serves, and
 * no poll can tell it of the newer one first, so that append loses the race
 * every time (a version stored before the edit was sent was adopted instead
 * whenever the node's 1 s poll came first, and the race the test is about
 * never happened). `version()`: the version stored, once the step has run.
 */
export function beforeNextAppend(
  c: Pick<Cluster, 'redisUrl' | 'prefix' | 'relay'>,
  change: (services: unknown[]) => unknown[],
): Trap & { version(): number } {
  let version = 0;
  const trap = c.relay.before(scriptOn(`${c.prefix}config:head`), async () => {
    version = await appendUnannounced(c, change);
  });
  return { ran: () => trap.ran(), version: () => version };
}
