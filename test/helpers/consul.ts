/**
 * A real Consul agent of a test's own (`consul agent -dev`, the binary `npm run services:up` builds), on free
 * loopback ports, so a suite can kill and restart it. Instances are registered through the agent's HTTP API with a
 * TTL check, so a test says when each one passes or fails, as a service's own health reporting would.
 */
import { freePort } from './ports.ts';
import { registryProcess } from './registry-process.ts';

export interface TestConsul {
  url: string;
  /** The HTTP API over TLS, when started with `tls`. */
  httpsUrl: string;
  register(
    id: string,
    port: number,
    opts?: { tags?: string[]; meta?: Record<string, string>; weight?: number },
  ): Promise<void>;
  deregister(id: string): Promise<void>;
  setPassing(id: string, passing: boolean): Promise<void>;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

export const consulSkip =
  process.env.TOLLGATE_TEST_CONSUL === undefined && process.env.CI !== 'true'
    ? 'consul not built (TOLLGATE_TEST_CONSUL unset); enable with: npm run services:up'
    : false;

/**
 * `tls`: the HTTP API on https too (`httpsUrl`), client certificates required there; the helper's own calls stay
 * on plain HTTP.
 */
export async function startConsul(
  service: string,
  tls?: { ca: string; cert: string; key: string },
): Promise<TestConsul> {
  const bin = process.env.TOLLGATE_TEST_CONSUL;
  if (bin === undefined) throw new Error('TOLLGATE_TEST_CONSUL is unset: npm run services:up builds consul');
  const ports = { http: await freePort(), serf: await freePort(), wan: await freePort(), server: await freePort() };
  const https = tls ? await freePort() : -1;
  const url = `http://127.0.0.1:${ports.http}`;
  const tlsArgs = tls
    ? [
        ...['-hcl', `ports { https = ${https} }`],
        ...['-hcl', `tls { defaults { ca_file = "${tls.ca}" cert_file = "${tls.cert}" key_file = "${tls.key}" } }`],
        ...['-hcl', 'tls { https { verify_incoming = true } }'],
      ]
    : [];
  const call = async (method: string, path: string, body?: object) => {
    const res = await fetch(`${url}${path}`, { method, body: body && JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`consul ${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  };
  const server = registryProcess(
    'consul',
    bin,
    [
      ...['agent', '-dev', '-bind', '127.0.0.1', '-client', '127.0.0.1', '-node', 'tollgate-test'],
      ...['-http-port', String(ports.http), '-dns-port', '-1', '-grpc-port', '-1'],
      ...['-serf-lan-port', String(ports.serf), '-serf-wan-port', String(ports.wan)],
      ...['-server-port', String(ports.server)],
      ...tlsArgs,
    ],
    async () => {
      const res = await fetch(`${url}/v1/status/leader`);
      return res.status === 200 && (await res.text()).length > 2; // a leader's address, not ""
    },
    30_000,
  );
  await server.start();
  return {
    url,
    httpsUrl: `https://127.0.0.1:${https}`,
    register: (id, port, opts = {}) =>
      call('PUT', '/v1/agent/service/register', {
        ID: id,
        Name: service,
        Address: '127.0.0.1',
        Port: port,
        Tags: opts.tags ?? [],
        Meta: opts.meta ?? {},
        Weights: { Passing: opts.weight ?? 1, Warning: 1 },
        Check: { CheckID: `check-${id}`, TTL: '10m', Status: 'passing' },
      }),
    deregister: (id) => call('PUT', `/v1/agent/service/deregister/${id}`),
    setPassing: (id, passing) => call('PUT', `/v1/agent/check/${passing ? 'pass' : 'fail'}/check-${id}`),
    kill: server.kill,
    restart: server.start,
    close: server.kill,
  };
}
