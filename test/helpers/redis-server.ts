import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { TestContext } from 'node:test';
import { freePort } from './ports.ts';

/**
 * A private redis-server on its own loopback port, for tests that stop Redis
 * mid-test: stopping the shared one (scripts/services.sh) would pull it from
 * under every other suite. No persistence; `stop()` kills it (SIGKILL, like a
 * crash or a pulled cable), `start()` brings it back empty on the same port.
 */
export interface PrivateRedis {
  url: string;
  port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers (a hung server, the case timeouts exist for). */
  freeze(): void;
  /** SIGCONT after freeze(). */
  thaw(): void;
}

/** Undefined (with a skip, or a failure under CI) when redis-server is not installed. */
export async function startPrivateRedis(t: TestContext): Promise<PrivateRedis | undefined> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: 'ignore' },
    );
    const failed = new Promise<Error>((resolve) => c.once('error', resolve));
    child = c;
    const up = await Promise.race([waitForPort(port, 5000), failed]);
    if (up instanceof Error) throw up;
    if (!up) throw new Error(`redis-server did not listen on ${port} within 5 s`);
  };
  const stop = async () => {
    const c = child;
    child = undefined;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGKILL');
    await exited;
  };
  try {
    await start();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    if (process.env.CI === 'true') throw new Error('redis-server is not installed (npm run services:up installs it)');
    t.skip('redis-server is not installed; npm run services:up installs it');
    return undefined;
  }
  t.after(stop);
  const signal = (sig: NodeJS.Signals) => {
    if (child && child.exitCode === null) child.kill(sig);
  };
  // A frozen server never exits on SIGKILL's behalf in stop(): thaw first.
  t.after(() => signal('SIGCONT'));
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    stop,
    start,
    freeze: () => signal('SIGSTOP'),
    thaw: () => signal('SIGCONT'),
  };
}

/** Resolves once something accepts connections on the port, or false after `ms`. */
function waitForPort(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  return new Promise((resolve) => {
    const attempt = () => {
      const s = connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > deadline) resolve(false);
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}
