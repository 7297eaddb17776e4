// The Helm chart (deploy/helm/tollgate), rendered and linted by a real Helm (built from its Go module by
// services:up): probes, the preStop delay, the PodDisruptionBudget, the optional autoscaler and ServiceMonitor, the
// migration before the collector, and a config the gateway itself accepts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments, stringify } from 'yaml';
import { loadConfigFile } from '../../gateway/control/config/load.ts';

const helm = process.env.TOLLGATE_TEST_HELM;
const skip = !helm && process.env.CI !== 'true' ? 'helm not built; enable with: npm run services:up' : false;
const chart = new URL('../../deploy/helm/tollgate', import.meta.url).pathname;
const token = ['--set', 'adminToken.value=0123456789abcdef0123'];

function render(...args: string[]): any[] {
  assert.ok(helm, 'CI=true needs TOLLGATE_TEST_HELM (npm run services:up)');
  const out = execFileSync(helm, ['template', 'edge', chart, ...token, ...args], { encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => d.toJSON())
    .filter(Boolean);
}
const find = (docs: any[], kind: string, name: string) =>
  docs.find((d) => d.kind === kind && d.metadata.name === name) ?? assert.fail(`no ${kind} ${name}`);

test('helm lint passes', { skip }, () => {
  execFileSync(helm!, ['lint', '--strict', chart, ...token], { stdio: 'pipe' });
});

test('the gateway has its probes, a preStop delay inside the grace period, and a PodDisruptionBudget', { skip }, () => {
  const docs = render();
  const gw = find(docs, 'Deployment', 'edge-tollgate-gateway');
  const pod = gw.spec.template.spec;
  const c = pod.containers[0];
  assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'admin' });
  assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'admin' });
  const delay = Number(c.lifecycle.preStop.exec.command[1]);
  assert.ok(delay > 0 && delay < pod.terminationGracePeriodSeconds, 'the delay leaves time to drain');
  assert.equal(c.securityContext.runAsNonRoot, true);
  assert.ok(c.resources.requests.cpu && c.resources.requests.memory);
  const mount = c.volumeMounts.find((m: any) => m.name === 'config');
  assert.equal(mount.subPath, undefined, 'a directory mount, so an edited ConfigMap reaches the pod');
  assert.equal(gw.spec.template.metadata.annotations['prometheus.io/scrape'], 'true');
  const pdb = find(docs, 'PodDisruptionBudget', 'edge-tollgate-gateway');
  assert.equal(pdb.spec.minAvailable, 1);
  for (const [k, v] of Object.entries(pdb.spec.selector.matchLabels))
    assert.equal(gw.spec.template.metadata.labels[k], v, 'the budget selects the gateway pods');
  assert.ok(!docs.some((d) => d.kind === 'HorizontalPodAutoscaler'), 'no autoscaler unless asked');
});

test('the autoscaler and the ServiceMonitor come when asked; the replica count is then left to the autoscaler', {
  skip,
}, () => {
  const docs = render('--set', 'gateway.hpa.enabled=true', '--set', 'metrics.serviceMonitor.enabled=true');
  const hpa = find(docs, 'HorizontalPodAutoscaler', 'edge-tollgate-gateway');
  assert.equal(hpa.spec.scaleTargetRef.name, 'edge-tollgate-gateway');
  assert.equal(find(docs, 'Deployment', 'edge-tollgate-gateway').spec.replicas, undefined);
  const sm = find(docs, 'ServiceMonitor', 'edge-tollgate-gateway');
  assert.equal(sm.spec.endpoints[0].path, '/metrics');
  assert.equal(sm.spec.endpoints[0].authorization.credentials.name, 'edge-tollgate-admin');
});

test('the collector migrates ClickHouse before it starts, and has its own probes', { skip }, () => {
  const col = find(render(), 'Deployment', 'edge-tollgate-collector').spec.template.spec;
  assert.deepEqual(col.initContainers[0].args, ['tollgate-collector', 'migrate']);
  assert.deepEqual(col.containers[0].readinessProbe.httpGet, { path: '/readyz', port: 'metrics' });
});

test("the ConfigMap's config is one the gateway accepts with the chart's environment", { skip }, () => {
  const docs = render(
    '--set',
    'config.services[0].name=api',
    '--set',
    'config.services[0].routes[0].paths[0]=/api',
    '--set',
    'config.services[0].upstream.targets[0].url=http://api:8080',
  );
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-helm-'));
  try {
    const file = join(dir, 'tollgate.yaml');
    writeFileSync(file, find(docs, 'ConfigMap', 'edge-tollgate-config').data['tollgate.yaml']);
    const env = Object.fromEntries(
      find(docs, 'Deployment', 'edge-tollgate-gateway')
        .spec.template.spec.containers[0].env.filter((e: any) => e.value !== undefined)
        .map((e: any) => [e.name, e.value]),
    );
    const r = loadConfigFile(file, { ...env, TOLLGATE_ADMIN_TOKEN: 'x'.repeat(24) });
    assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
    assert.equal(r.config.store.kind, 'redis');
    assert.equal(r.config.services[0].name, 'api');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('without an admin token the chart refuses to render, and says what to set', { skip }, () => {
  assert.throws(
    () => execFileSync(helm!, ['template', 'edge', chart], { stdio: 'pipe' }),
    (e: { stderr: Buffer }) => /adminToken.value/.test(e.stderr.toString()),
  );
});

test('Secrets mount where the config names its TLS files; extra ports reach the Service; HTTPS admin probes', {
  skip,
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-helm-tls-'));
  try {
    const values = join(dir, 'values.yaml');
    const admin = { cert: '/etc/tollgate-tls/admin/tls.crt', key: '/etc/tollgate-tls/admin/tls.key' };
    writeFileSync(
      values,
      stringify({
        config: { admin: { listen: '0.0.0.0:9080', tls: { certificates: [admin] } } },
        gateway: {
          extraPorts: [{ name: 'https', containerPort: 8443, servicePort: 443 }],
          secretMounts: [{ secretName: 'admin-tls', mountPath: '/etc/tollgate-tls/admin' }],
        },
        metrics: { serviceMonitor: { enabled: true, tlsConfig: { serverName: 'admin.example.com' } } },
      }),
    );
    const docs = render('-f', values);
    const gw = find(docs, 'Deployment', 'edge-tollgate-gateway').spec.template;
    const c = gw.spec.containers[0];
    const mount = c.volumeMounts.find((m: any) => m.mountPath === '/etc/tollgate-tls/admin');
    assert.equal(mount.readOnly, true);
    const volume = gw.spec.volumes.find((v: any) => v.name === mount.name);
    assert.deepEqual(volume.secret, { secretName: 'admin-tls' });
    assert.deepEqual(c.readinessProbe.httpGet, { path: '/readyz', port: 'admin', scheme: 'HTTPS' });
    assert.deepEqual(c.livenessProbe.httpGet, { path: '/healthz', port: 'admin', scheme: 'HTTPS' });
    assert.equal(gw.metadata.annotations['prometheus.io/scheme'], 'https');
    assert.deepEqual(c.ports[2], { name: 'https', containerPort: 8443 });
    const service = find(docs, 'Service', 'edge-tollgate-gateway');
    assert.deepEqual(service.spec.ports[2], { name: 'https', port: 443, targetPort: 'https' });
    const endpoint = find(docs, 'ServiceMonitor', 'edge-tollgate-gateway').spec.endpoints[0];
    assert.equal(endpoint.scheme, 'https');
    assert.deepEqual(endpoint.tlsConfig, { serverName: 'admin.example.com' });
    execFileSync(helm!, ['lint', '--strict', chart, ...token, '-f', values], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
