// A gateway with one service for the health suites, and checks fast enough for tests.
import { startGateway, type TestGateway } from './gateway.ts';
import type { TestUpstream } from './upstream.ts';

// Stopped targets refuse at once, so checks find them down without waiting for
// the timeout; a short one would only let a stall of this loaded process (which
// also runs the upstreams) fail checks of live targets.
export const FAST_CHECKS = { interval_ms: 100, timeout_ms: 1000, unhealthy_threshold: 1, healthy_threshold: 1 };

export async function withGateway(
  upstream: Record<string, unknown>,
  fn: (gw: TestGateway) => Promise<void>,
  cleanup: TestUpstream[] = [],
) {
  const gw = await startGateway({ services: [{ name: 'svc', routes: [{ paths: ['/'] }], upstream }] });
  try {
    await fn(gw);
  } finally {
    await gw.close();
    await Promise.all(cleanup.map((u) => u.close()));
  }
}
