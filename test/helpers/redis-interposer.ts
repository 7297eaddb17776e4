import { connect, createServer, type Socket } from 'node:net';
import type { TestContext } from 'node:test';

/**
 * A relay between gateway nodes and a Redis server that runs a step of the
 * test after a chosen command has left a node and before Redis runs it. Tests
 * of a lost compare-and-set race use it to store "another node's" version
 * inside the node's own save: the node has already decided what to save, and
 * neither its poll nor pub/sub can tell it first (nothing is published, and
 * the poll's reads on that connection queue behind the held command), so the
 * race is lost every time instead of when the poll happens not to fire.
 *
 * The relay forwards a connection's bytes command by command (RESP arrays,
 * what ioredis sends); holding one command holds everything the connection
 * sends after it, in order. Replies pass through untouched.
 */
export interface RedisInterposer {
  /** Give this to the gateway (`store.redis_url`) instead of the server's. */
  url: string;
  /**
   * Runs `step` before each of the next `times` commands that `match`
   * accepts reaches Redis. `match` sees the command's first four arguments
   * (name first, as sent).
   */
  before(match: (args: string[]) => boolean, step: () => Promise<unknown>, times?: number): Trap;
}

export interface Trap {
  /** How many times the step has run; throws the step's error if one failed. */
  ran(): number;
}

/** A script (EVAL or EVALSHA) whose first key is `key`: a store's compare-and-set save or append. */
export const scriptOn = (key: string) => (args: string[]) => /^eval(sha)?$/i.test(args[0] ?? '') && args[3] === key;

interface Rule {
  match: (args: string[]) => boolean;
  step: () => Promise<unknown>;
  left: number;
  ran: number;
  error?: unknown;
}

/** Starts the relay in front of `redisUrl` (redis://host:port); closed after the test. */
export async function startRedisInterposer(t: TestContext, redisUrl: string): Promise<RedisInterposer> {
  const target = new URL(redisUrl);
  const rules: Rule[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 6379) });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
      s.on('error', () => undefined);
    }
    upstream.pipe(client);
    let pending: Buffer = Buffer.alloc(0);
    let draining = false;
    const drain = async () => {
      if (draining) return;
      draining = true;
      try {
        for (;;) {
          const cmd = nextCommand(pending);
          if (!cmd) break;
          const rule = rules.find((r) => r.left > 0 && r.match(cmd.args));
          if (rule) {
            rule.left--;
            try {
              await rule.step();
            } catch (err) {
              rule.error ??= err;
            }
            rule.ran++;
          }
          upstream.write(pending.subarray(0, cmd.end));
          pending = pending.subarray(cmd.end);
        }
      } finally {
        draining = false;
      }
    };
    client.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      void drain();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const { port } = server.address() as { port: number };
  return {
    url: `redis://127.0.0.1:${port}`,
    before(match, step, times = 1) {
      const rule: Rule = { match, step, left: times, ran: 0 };
      rules.push(rule);
      return {
        ran() {
          if (rule.error !== undefined) throw rule.error;
          return rule.ran;
        },
      };
    },
  };
}

/**
 * The first whole command in `buf`: where it ends and its first four
 * arguments; undefined while it is incomplete. Anything that is not a RESP
 * array (inline commands, which ioredis never sends) passes as it is.
 */
function nextCommand(buf: Buffer): { end: number; args: string[] } | undefined {
  if (buf.length === 0) return undefined;
  if (buf[0] !== 0x2a /* * */) return { end: buf.length, args: [] };
  const line = (from: number) => {
    const eol = buf.indexOf('\r\n', from);
    return eol < 0 ? undefined : { text: buf.toString('latin1', from + 1, eol), next: eol + 2 };
  };
  const head = line(0);
  if (!head) return undefined;
  const count = Number(head.text);
  const args: string[] = [];
  let at = head.next;
  for (let i = 0; i < count; i++) {
    const len = line(at);
    if (!len) return undefined;
    const size = Number(len.text);
    if (buf.length < len.next + size + 2) return undefined;
    if (i < 4) args.push(buf.toString('utf8', len.next, len.next + size));
    at = len.next + size + 2;
  }
  return { end: at, args };
}
