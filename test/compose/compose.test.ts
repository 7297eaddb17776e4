import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { parse } from 'yaml';
import { loadConfigFile } from '../../gateway/control/config/load.ts';

const root = new URL('../../', import.meta.url);
const compose = parse(readFileSync(new URL('docker-compose.yml', root), 'utf8'), { merge: true });

test('docker-compose.yml parses and every service has an image and a command or default entrypoint', () => {
  assert.ok(compose.services.gateway && compose.services.redis);
  for (const [name, svc] of Object.entries<any>(compose.services)) assert.ok(svc.image, `${name} has no image`);
});

test('every file or folder the compose file mounts from the repository exists', () => {
  for (const [name, svc] of Object.entries<any>(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const host = String(v).split(':')[0];
      if (!host.startsWith('.')) continue;
      assert.ok(existsSync(new URL(host, root)), `${name} mounts ${host}, which does not exist`);
    }
  }
});

test('the gateway config the compose file mounts is valid with the compose environment', () => {
  const env = Object.fromEntries(
    Object.entries<string>(compose.services.gateway.environment).map(([k, v]) => [
      k,
      k === 'TOLLGATE_ADMIN_TOKEN' ? 'x'.repeat(24) : v,
    ]),
  );
  const r = loadConfigFile(new URL('gateway/examples/compose.yaml', root).pathname, env);
  assert.ok(r.ok, JSON.stringify(!r.ok && r.errors));
  assert.equal(r.config.store.kind, 'redis');
  assert.equal(r.config.admin.listen, '0.0.0.0:9080');
  assert.equal(r.config.events.sink, 'kafka');
  assert.deepEqual(r.config.events.kafka.brokers, ['kafka:9092']);
  assert.equal(r.config.reports.clickhouse_url, 'http://clickhouse:8123');
});

test(
  'the Prometheus config compose mounts scrapes the ' + 'gateway and loads rule files that are mounted and valid',
  async (t) => {
    const promtool = process.env.TOLLGATE_TEST_PROMTOOL;
    if (!promtool) {
      if (process.env.CI === 'true') assert.fail('TOLLGATE_TEST_PROMTOOL is unset under CI=true');
      t.skip('promtool not found; run `npm run services:up`');
      return;
    }
    const prom = parse(readFileSync(new URL('alerts/prometheus.yml', root), 'utf8'));
    assert.deepEqual(
      prom.scrape_configs.map((s: { job_name: string }) => s.job_name),
      ['tollgate-gateway', 'tollgate-collector'],
    );
    const mounts: string[] = compose.services.prometheus.volumes;
    for (const file of prom.rule_files) {
      const mount = mounts.find((m) => m.split(':')[1] === file);
      assert.ok(mount, `${file} is not mounted`);
      assert.ok(existsSync(new URL(mount.split(':')[0], root)));
    }
    const { spawnSync } = await import('node:child_process');
    const r = spawnSync(promtool, ['check', 'rules', new URL('alerts/tollgate.rules.yml', root).pathname], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
  },
);

test(
  'the compose file has the whole cluster: gateway, collector, ' +
    'Kafka, ClickHouse (migrated first), Redis, Prometheus, Grafana',
  () => {
    for (const name of ['gateway', 'collector', 'migrate', 'kafka', 'clickhouse', 'redis', 'prometheus', 'grafana']) {
      assert.ok(compose.services[name], `${name} is missing`);
    }
    const kafka = compose.services.kafka.environment;
    assert.match(kafka.KAFKA_PROCESS_ROLES, /broker,controller/, 'Kafka runs in KRaft mode');
    assert.equal(compose.services.collector.depends_on.migrate.condition, 'service_completed_successfully');
    assert.equal(
      compose.services.collector.environment.TOLLGATE_KAFKA_BROKERS,
      compose.services.gateway.environment.TOLLGATE_EVENTS_KAFKA_BROKERS,
      'gateway and collector use the same brokers',
    );
  },
);

test('gateway and collector send their traces to the Jaeger of the compose file; Prometheus keeps exemplars', () => {
  assert.ok(compose.services.jaeger?.image, 'a jaeger service');
  for (const name of ['gateway', 'collector']) {
    assert.equal(compose.services[name].environment.OTEL_EXPORTER_OTLP_ENDPOINT, 'http://jaeger:4318', name);
  }
  assert.match(compose.services.prometheus.entrypoint.join(' '), /--enable-feature=exemplar-storage/);
  const { datasources } = parse(
    readFileSync(new URL('dashboards/provisioning/datasources/datasources.yml', root), 'utf8'),
  ) as { datasources: Array<{ uid: string; type: string; url?: string; jsonData?: any }> };
  const jaeger = datasources.find((d) => d.type === 'jaeger');
  assert.equal(jaeger?.url, 'http://jaeger:16686');
  const prometheus = datasources.find((d) => d.type === 'prometheus');
  assert.deepEqual(prometheus?.jsonData.exemplarTraceIdDestinations, [
    { name: 'trace_id', datasourceUid: jaeger!.uid },
  ]);
});

test('the Tollgate services run the image the Dockerfile builds: no source mounted, nothing installed at start', () => {
  for (const name of ['gateway', 'collector', 'migrate', 'echo-a', 'echo-b']) {
    const svc = compose.services[name];
    assert.equal(svc.build, '.', `${name} builds the Dockerfile`);
    assert.equal(svc.image, 'tollgate:local');
    const command = JSON.stringify(svc.command ?? []);
    assert.doesNotMatch(command, /npm (ci|install)/, `${name} installs nothing at start`);
  }
  for (const [name, svc] of Object.entries<any>(compose.services)) {
    for (const v of svc.volumes ?? []) {
      const host = String(v).split(':')[0];
      assert.ok(!['.', './', '..'].includes(host.replace(/\/$/, '') || '.'), `${name} mounts the repository`);
      if (host.startsWith('.')) assert.doesNotMatch(host, /^\.\/(gateway|collector|shared|scripts)\/?$/);
    }
  }
  // Dependency order: the collector after the one-shot migration, the gateway after its stores.
  assert.equal(compose.services.collector.depends_on.migrate.condition, 'service_completed_successfully');
  assert.deepEqual(compose.services.migrate.command, ['tollgate-collector', 'migrate']);
  assert.equal(compose.services.gateway.depends_on.kafka.condition, 'service_healthy');
  assert.equal(compose.services.gateway.depends_on.redis.condition, 'service_healthy');
});

test('docker-compose validates the file', {
  skip: !process.env.TOLLGATE_TEST_COMPOSE && process.env.CI !== 'true' && 'docker-compose not installed',
}, () => {
  const bin = process.env.TOLLGATE_TEST_COMPOSE;
  assert.ok(bin, 'CI=true needs TOLLGATE_TEST_COMPOSE (npm run services:up)');
  execFileSync(bin, ['-f', new URL('docker-compose.yml', root).pathname, 'config', '-q'], {
    env: { ...process.env, TOLLGATE_ADMIN_TOKEN: 'x'.repeat(24) },
    stdio: 'pipe',
  });
});
