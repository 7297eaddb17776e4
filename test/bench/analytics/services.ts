// The real services the analytics benchmarks use (scripts/services.sh): where
// they are, whether they answer, and the line a skipped benchmark prints.
import { connect } from 'node:net';

export const kafkaBrokers = (
  process.env.TOLLGATE_TEST_KAFKA_BROKERS ??
  process.env.BENCH_KAFKA_BROKERS ??
  '127.0.0.1:9192'
).split(',');
export const clickhouseUrl = process.env.TOLLGATE_TEST_CLICKHOUSE_URL ?? 'http://127.0.0.1:8124';
export const redisUrl = process.env.TOLLGATE_TEST_REDIS_URL ?? 'redis://127.0.0.1:6399';

export type ServiceName = 'kafka' | 'clickhouse' | 'redis';

function address(name: ServiceName): { host: string; port: number } {
  if (name === 'kafka') {
    const [host, port] = kafkaBrokers[0].split(':');
    return { host, port: Number(port) };
  }
  const url = new URL(name === 'clickhouse' ? clickhouseUrl : redisUrl);
  return { host: url.hostname, port: Number(url.port) };
}

export function tcpOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, host, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** The services of `needed` that do not answer, with their address, e.g. ['kafka (127.0.0.1:9192)']. */
export async function missingServices(needed: readonly ServiceName[]): Promise<string[]> {
  const missing: string[] = [];
  for (const name of needed) {
    const { host, port } = address(name);
    if (!(await tcpOpen(host, port))) missing.push(`${name} (${host}:${port})`);
  }
  return missing;
}

/** Prints the skip line and returns true when a service is missing. */
export async function skipWithout(bench: string, needed: readonly ServiceName[]): Promise<boolean> {
  const missing = await missingServices(needed);
  if (missing.length === 0) return false;
  console.log(
    `  ${bench}: skipped, not reachable: ${missing.join(', ')}. Start them with \`npm run services:up\` ` +
      '(or point TOLLGATE_TEST_KAFKA_BROKERS / TOLLGATE_TEST_CLICKHOUSE_URL / TOLLGATE_TEST_REDIS_URL at yours).',
  );
  return true;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Nearest-rank percentile. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

export const passMiss = (ok: boolean) => (ok ? 'pass' : 'MISS');
