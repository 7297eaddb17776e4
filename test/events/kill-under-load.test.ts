// An answered request is never lost: the gateway is SIGKILLed at random moments
// under load, restarted on the same event directory, and every request a client
// got a whole answer to must be in the reports (embedded shape) or in Kafka
// (cluster shape). A request the gateway recorded but whose answer the kill cut
// off may be counted too, so: answered <= counted <= sent.
import assert from 'node:assert/strict';
import { request, Agent } from 'node:http';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { eventually, service, sleep } from '../helpers/gateway.ts';
import { startGatewayProcess, tempDir, writeYaml, type GatewayProcess } from '../helpers/gateway-process.ts';
import { metric } from '../helpers/metrics.ts';
import { seededRandom } from '../helpers/seeded-random.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { holdKafkaLock, kafkaBrokers, randomTopic, readTopic } from './kafka-helpers.ts';

const ROUNDS = 4;
const CLIENTS = 16;

interface Tally {
  sent: number;
  answered: number;
}

/** Keeps CLIENTS keep-alive loops sending GETs to `url` until `stop()`; counts requests sent and whole 200 answers. */
function load(url: string, tally: Tally): { stop(): Promise<void> } {
  const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
  let running = true;
  const once = () =>
    new Promise<void>((resolve) => {
      tally.sent++;
      const req = request(`${url}/kill/${tally.sent}`, { agent }, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === 200 && res.complete) tally.answered++;
          resolve();
        });
        res.on('error', () => resolve());
      });
      req.on('error', () => resolve());
      req.end();
    });
  const loops = Array.from({ length: CLIENTS }, async () => {
    while (running) await once();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
    },
  };
}

/**
 * Runs ROUNDS gateways one after another on `config`, each SIGKILLed 0.3–1.5 s
 * into its load, then starts one more that is left running; returns it and the tally.
 */
async function killRounds(
  t: TestContext,
  config: string,
  eventsDir: string,
): Promise<{ gw: GatewayProcess; tally: Tally }> {
  const seed = Number(process.env.TOLLGATE_TEST_SEED ?? Date.now() % 1e6);
  t.diagnostic(`seed ${seed} (TOLLGATE_TEST_SEED=${seed} repeats these kill times)`);
  const random = seededRandom(seed);
  const tally: Tally = { sent: 0, answered: 0 };
  const env = { TOLLGATE_EVENTS_DIR: eventsDir };
  for (let round = 0; round < ROUNDS; round++) {
    const gw = await startGatewayProcess(config, { env });
    const running = load(gw.proxyUrl, tally);
    const answeredBefore = tally.answered;
    await sleep(300 + random() * 1200);
    gw.child.kill('SIGKILL');
    assert.equal((await gw.exited).signal, 'SIGKILL');
    await running.stop();
    assert.ok(tally.answered > answeredBefore, `round ${round} answered requests before the kill`);
  }
  const gw = await startGatewayProcess(config, { env });
  t.after(() => gw.stop());
  return { gw, tally };
}

function gatewayConfig(dir: string, upstreamUrl: string, events: Record<string, unknown>): string {
  return writeYaml(dir, 'tollgate.yaml', {
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    log: { level: 'info' },
    events,
    services: [service('killed', [upstreamUrl], [{ paths: ['/kill'] }])],
  });
}

test('embedded shape: SIGKILL at random moments under load loses no answered request', {
  timeout: 180_000,
}, async (t) => {
  const up = await startUpstream('up');
  t.after(() => up.close());
  const dir = tempDir('tollgate-kill-');
  const eventsDir = join(dir, 'events');
  const { gw, tally } = await killRounds(
    t,
    gatewayConfig(dir, up.url, { sink: 'embedded', dir: eventsDir }),
    eventsDir,
  );

  const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
  const from = new Date(hour - 3_600_000).toISOString();
  const to = new Date(hour + 3_600_000).toISOString();
  const counted = async () => {
    const res = await fetch(`${gw.adminUrl}/reports/traffic?from=${from}&to=${to}&service=killed`);
    const body = (await res.json()) as { rows?: { requests: number }[] };
    assert.ok(body.rows, JSON.stringify(body));
    return body.rows.reduce((n, r) => n + r.requests, 0);
  };
  // The collector thread of the last gateway reads what the killed ones left; wait until it stops changing.
  let last = -1;
  const settled = await eventually(
    async () => {
      const now = await counted();
      const stable = now === last && now >= tally.answered;
      last = now;
      return stable;
    },
    30_000,
    500,
  );
  t.diagnostic(`${ROUNDS} kills: ${tally.sent} sent, ${tally.answered} answered, ${last} in the report`);
  assert.ok(settled, `the report reached every answered request (${last} counted, ${tally.answered} answered)`);
  assert.ok(last <= tally.sent, `nothing counted that was not sent (${last} counted, ${tally.sent} sent)`);
});

test('Kafka shape: SIGKILL at random moments under load loses no answered request', { timeout: 180_000 }, async (t) => {
  const brokers = kafkaBrokers(t);
  if (!brokers) return;
  await holdKafkaLock(t);
  const up = await startUpstream('up');
  t.after(() => up.close());
  const dir = tempDir('tollgate-kill-kafka-');
  const eventsDir = join(dir, 'events');
  const topic = randomTopic();
  const { gw, tally } = await killRounds(
    t,
    gatewayConfig(dir, up.url, { sink: 'kafka', dir: eventsDir, kafka: { brokers, topic, flush_ms: 20 } }),
    eventsDir,
  );
  // The killed gateways' logs are shipped by their successors; the last one ships what the last kill left.
  const shipped = await eventually(
    async () =>
      (await metric(gw, 'tollgate_event_sink_up')) === 1 && (await metric(gw, 'tollgate_event_spool_events')) === 0,
    30_000,
    200,
  );
  assert.ok(
    shipped,
    `the last gateway shipped its log (${await metric(gw, 'tollgate_event_spool_events')} events unsent)`,
  );
  assert.deepEqual(await gw.stop(), { code: 0, signal: null }, gw.stderr());

  const records = (await readTopic(brokers, topic, 30_000)).filter((e) => e.service === 'killed');
  const ids = new Set(records.map((e) => e.id));
  t.diagnostic(
    `${ROUNDS} kills: ${tally.sent} sent, ${tally.answered} answered, ${ids.size} distinct events in ` +
      `${records.length} Kafka records (the rest resent after a kill)`,
  );
  assert.ok(
    ids.size >= tally.answered,
    `every answered request reached Kafka (${ids.size} events, ${tally.answered} answered)`,
  );
  assert.ok(ids.size <= tally.sent, `nothing there that was not sent (${ids.size} events, ${tally.sent} sent)`);
});
