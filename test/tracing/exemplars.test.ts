// Exemplars end to end: a real Prometheus (Debian's, the promtool package's server) scrapes the gateway in
// OpenMetrics with exemplar storage on, and answers query_exemplars with the trace ids of traced requests.
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually, service, startGateway } from '../helpers/gateway.ts';
import { OTLP_HTTP, skipWithoutJaeger } from '../helpers/jaeger.ts';
import { freePort } from '../helpers/ports.ts';
import { startUpstream } from '../helpers/upstream.ts';

const prometheus = (() => {
  try {
    return execFileSync('sh', ['-c', 'command -v prometheus'], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
})();
const skip =
  skipWithoutJaeger ||
  (process.env.CI === 'true' || prometheus !== undefined ? false : 'needs prometheus (npm run services:up)');

test('Prometheus scraping OpenMetrics stores the trace ids of traced requests as latency exemplars', {
  skip,
}, async (t) => {
  Object.assign(process.env, { OTEL_EXPORTER_OTLP_ENDPOINT: OTLP_HTTP, OTEL_BSP_SCHEDULE_DELAY: '100' });
  const up = await startUpstream('up');
  const gw = await startGateway({
    tracing: { enabled: true },
    services: [service('api', [up.url], [{ paths: ['/api'] }])],
  });
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-prometheus-'));
  const port = await freePort();
  const admin = new URL(gw.adminUrl);
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: tollgate
    static_configs: [{ targets: ['${admin.host}'] }]
`,
  );
  const server: ChildProcess = spawn(
    prometheus!,
    [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--enable-feature=exemplar-storage',
    ],
    { stdio: 'ignore' },
  );
  t.after(async () => {
    server.kill();
    await gw.close();
    await up.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const traces = new Set<string>();
  const exemplars = await eventually(
    async () => {
      const trace = randomBytes(16).toString('hex');
      const res = await fetch(`${gw.url}/api/x`, {
        headers: { traceparent: `00-${trace}-${randomBytes(8).toString('hex')}-01` },
      });
      if (res.status === 200) traces.add(trace);
      const now = Date.now() / 1000;
      const range = `start=${now - 120}&end=${now + 5}`;
      const q = await fetch(
        `http://127.0.0.1:${port}/api/v1/query_exemplars?query=tollgate_request_duration_seconds_bucket&${range}`,
      ).catch(() => undefined);
      if (q?.status !== 200) return undefined;
      const body = (await q.json()) as {
        data: Array<{ seriesLabels: Record<string, string>; exemplars: Array<{ labels: { trace_id: string } }> }>;
      };
      const found = body.data.flatMap((s) =>
        s.exemplars.map((e) => ({ series: s.seriesLabels, traceId: e.labels.trace_id })),
      );
      return found.length > 0 ? found : undefined;
    },
    30_000,
    500,
  );
  assert.ok(exemplars, 'Prometheus holds exemplars of the latency buckets');
  for (const e of exemplars) {
    assert.ok(traces.has(e.traceId), `${e.traceId} is the trace of a request we sent`);
    assert.equal(e.series.service, 'api');
    assert.equal(e.series.status_class, '2xx');
  }
});
