/**
 * A real etcd of a test's own (Debian's etcd-server, the binary `npm run services:up` installs), on free loopback
 * ports with a fresh data dir, so a suite can kill, restart, pause and resume it without touching the shared one.
 * Keys are written through etcd's JSON gateway, as any client would.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Issued } from './certs.ts';
import { freePort } from './ports.ts';
import { registryProcess } from './registry-process.ts';

export interface TestEtcd {
  url: string;
  put(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  /** Turns etcd's auth on: root, and `user` with read on `prefix` (the helper's own calls go on as root). */
  enableAuth(user: string, password: string, prefix: string): Promise<void>;
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

/** TLS for a test's etcd: its server certificate, and the CA whose client certificates it asks for and trusts. */
export interface EtcdTls {
  ca: Issued;
  server: Issued;
  /** The client certificate the helper's own calls show. */
  client: Issued;
}

/** `tls`: https on the client port, client certificates required (etcd's --client-cert-auth). */
export async function startEtcd(tls?: EtcdTls): Promise<TestEtcd> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-etcd-'));
  const [client, peer] = [await freePort(), await freePort()];
  const url = `${tls ? 'https' : 'http'}://127.0.0.1:${client}`;
  const read = (f: string) => readFileSync(f, 'utf8');
  const agent = new Agent({
    connect: tls ? { ca: read(tls.ca.cert), cert: read(tls.client.cert), key: read(tls.client.key) } : {},
  });
  let token: string | undefined;
  const call = async (path: string, body: object): Promise<any> => {
    const headers: Record<string, string> = token ? { authorization: token } : {};
    const res = await request(`${url}${path}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers,
      dispatcher: agent,
    });
    const text = await res.body.text();
    if (res.statusCode !== 200) throw new Error(`etcd ${path}: ${res.statusCode} ${text}`);
    return JSON.parse(text);
  };
  const peerUrl = `http://127.0.0.1:${peer}`;
  const tlsArgs = tls
    ? ['--cert-file', tls.server.cert, '--key-file', tls.server.key, '--trusted-ca-file', tls.ca.cert]
    : [];
  const server = registryProcess(
    'etcd',
    'etcd',
    [
      ...['--name', 'test', '--data-dir', join(dir, 'data')],
      ...['--listen-client-urls', url, '--advertise-client-urls', url],
      ...['--listen-peer-urls', peerUrl, '--initial-advertise-peer-urls', peerUrl],
      ...['--initial-cluster', `test=${peerUrl}`],
      ...(tls ? [...tlsArgs, '--client-cert-auth'] : []),
    ],
    async () =>
      (await request(`${url}/health`, { dispatcher: agent }).then((r) => r.body.text().then(() => r))).statusCode ===
      200,
    15_000,
  );
  await server.start();
  return {
    url,
    put: (key, value) => call('/v3/kv/put', { key: b64(key), value: b64(value) }),
    del: (key) => call('/v3/kv/deleterange', { key: b64(key) }),
    async enableAuth(user, password, prefix) {
      const end = Buffer.from(prefix);
      end[end.length - 1]++;
      await call('/v3/auth/role/add', { name: 'root' });
      await call('/v3/auth/user/add', { name: 'root', password: 'root-secret' });
      await call('/v3/auth/user/grant', { user: 'root', role: 'root' });
      await call('/v3/auth/role/add', { name: 'reader' });
      await call('/v3/auth/role/grant', {
        name: 'reader',
        perm: { permType: 'READ', key: b64(prefix), range_end: end.toString('base64') },
      });
      await call('/v3/auth/user/add', { name: user, password });
      await call('/v3/auth/user/grant', { user, role: 'reader' });
      await call('/v3/auth/enable', {});
      token = (await call('/v3/auth/authenticate', { name: 'root', password: 'root-secret' })).token;
    },
    kill: server.kill,
    restart: server.start,
    pause: () => server.signal('SIGSTOP'),
    resume: () => server.signal('SIGCONT'),
    close: async () => {
      server.signal('SIGCONT');
      await server.kill();
      await agent.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
