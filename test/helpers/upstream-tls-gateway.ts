// Gateways and TLS upstreams for the upstream TLS suites, closed when the test file ends.
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGateway, type TestGateway } from './gateway.ts';
import { startTlsUpstream, type TlsUpstream } from './tls-upstream.ts';

// This process trusts neither the private CA nor the self-signed `localhost` certificate: only upstream.tls can.
export const SELF_SIGNED = fileURLToPath(new URL('./tls/localhost-cert.pem', import.meta.url));
export const open: { close(): Promise<void> }[] = [];
after(() => Promise.all(open.map((o) => o.close())));

export async function upstream(name: string, opts: Parameters<typeof startTlsUpstream>[1]): Promise<TlsUpstream> {
  const up = await startTlsUpstream(name, opts);
  open.push(up);
  return up;
}

export async function gateway(services: Record<string, unknown>[]): Promise<TestGateway> {
  const gw = await startGateway({ services });
  open.unshift(gw);
  return gw;
}

export const service = (name: string, url: string, upstreamExtra: Record<string, unknown> = {}) => ({
  name,
  routes: [{ paths: [`/${name}`] }],
  upstream: { targets: [{ url }], ...upstreamExtra },
});
