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
  /** With `acl`: a new token whose policy reads services and nodes, nothing more. */
  readToken(): Promise<string>;
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

/** The management token of an agent started with `acl`; the helper's own calls send it. */
const MANAGEMENT = 'tollgate-test-management';

/**
 * `tls`: the HTTP API on https too (`httpsUrl`), client certificates required there; the helper's own calls stay
 * on plain HTTP. `acl`: ACLs on, denying by default (readToken makes a token that may read services).
 */
export async function startConsul(
  service: string,
  { tls, acl = false }: { tls?: { ca: string; cert: string; key: string }; acl?: boolean } = {},
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
  const aclArgs = acl
    ? ['-hcl', `acl { enabled = true default_policy = "deny" tokens { initial_management = "${MANAGEMENT}" } }`]
    : [];
  const call = async (method: string, path: string, body?: object): Promise<any> => {
    const headers = acl ? { 'x-consul-token': MANAGEMENT } : undefined;
    const res = await fetch(`${url}${path}`, { method, body: body && JSON.stringify(body), headers });
    if (res.status !== 200) throw new Error(`consul ${path}: ${res.status} ${await res.text()}`);
    const text = await res.text();
    return text ? JSON.parse(text) : undefined;
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
      ...aclArgs,
    ],
    async () => {
      const res = await fetch(`${url}/v1/status/leader`);
      if (res.status !== 200 || (await res.text()).length <= 2) return false; // a leader's address, not ""
      if (!acl) return true;
      // The leader makes the management token a moment after it is elected.
      const self = await fetch(`${url}/v1/acl/token/self`, { headers: { 'x-consul-token': MANAGEMENT } });
      await self.arrayBuffer();
      return self.status === 200;
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
    async readToken() {
      const rules = 'service_prefix "" { policy = "read" } node_prefix "" { policy = "read" }';
      await call('PUT', '/v1/acl/policy', { Name: 'tollgate-read', Rules: rules });
      return (await call('PUT', '/v1/acl/token', { Policies: [{ Name: 'tollgate-read' }] })).SecretID;
    },
    setPassing: (id, passing) => call('PUT', `/v1/agent/check/${passing ? 'pass' : 'fail'}/check-${id}`),
    kill: server.kill,
    restart: server.start,
    close: server.kill,
  };
}
