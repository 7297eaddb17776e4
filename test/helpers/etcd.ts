/**
 * A real etcd of a test's own (Debian's etcd-server, the binary `npm run services:up` installs), on free loopback
 * ports with a fresh data dir, so a suite can kill, restart, pause and resume it without touching the shared one.
 * Keys are written through etcd's JSON gateway, as any client would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { registryProcess } from './registry-process.ts';

export interface TestEtcd {
  url: string;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  /** SIGKILL: gone, connections reset. */
  kill(): Promise<void>;
  /** Starts it again on the same ports and data. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: connections stay open and nothing answers. */
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Whether the etcd binary is here (services:up installs it); suites skip without it on a laptop. */
export const etcdSkip =
  process.env.TOLLGATE_TEST_ETCD_URL === undefined && process.env.CI !== 'true'
    ? 'etcd not running (TOLLGATE_TEST_ETCD_URL unset); enable with: npm run services:up'
    : false;

export async function startEtcd(): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const call = async (path: string, body: object) => {
    const res = await fetch(`${url}${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`etcd ${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const peerUrl = `http://127.0.0.1:${peer}`;
  const server = registryProcess(
    'etcd',
    'etcd',
    [
      ...['--name', 'test', '--data-dir', join(dir, 'data')],
      ...['--listen-client-urls', url, '--advertise-client-urls', url],
      ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
      ...['--initial-cluster', `test=${peerUrl}`],
    ],
    async () => (await fetch(`${url}/health`)).status === 200,
    15_000,
  );
  await server.start();
  return {
    url,
    put: (key, value) => call('/v3/kv/put', { key: b64(key), value: b64(value) }),
    del: (key) => call('/v3/kv/deleterange', { key: b64(key) }),
    kill: server.kill,
    restart: server.start,
    pause: () => server.signal('SIGSTOP'),
    resume: () => server.signal('SIGCONT'),
    close: async () => {
      server.signal('SIGCONT');
      await server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
