// Analytics issue: "Memory stays bounded through a 60-second Kafka outage at
// full load (queue and spool limits hold)." The sink now holds nothing in memory
// but the log's tail (4 MiB at most); the log on disk is bounded by events.max_bytes.
//
// The built gateway (scripts/bin/tollgate, the bench's tollgate.yaml) with
// events.sink kafka to a private broker (private-kafka.ts: never the shared
// one), under closed-loop peak load from the bench's load tool (wrk, else
// autocannon; 50 connections, loopback) the whole time: load → broker stopped
// for BENCH_OUTAGE_S (60) → broker started again → load until the spool is
// sent. Every second: the gateway's RSS (/proc) and its /metrics (unsent log
// bytes and events, dropped by reason, emitted). The log bound is BENCH_OUTAGE_SPOOL_MB (32 MiB, so the
// outage fills it and the drop-newest bound is exercised; the default is 1 GiB).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Consumer } from '@platformatic/kafka';
import { parse, stringify } from 'yaml';
import { runPeak, type PeakResult } from '../load.ts';
import { treeRss } from '../proc-tree.ts';
import { freePort, waitReady } from '../ready.ts';
import { startUpstream } from '../servers.ts';
import { spawnChild, stopChild } from './child.ts';
import { PrivateKafka } from './private-kafka.ts';
import { passMiss, sleep } from './services.ts';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const CONNECTIONS = 50;
const BEFORE_S = 10;

type Phase = 'before' | 'outage' | 'after';
const PHASES: Phase[] = ['before', 'outage', 'after'];

interface Sample {
  phase: Phase;
  rssBytes: number;
  spoolBytes: number;
  spoolEvents: number;
  sinkUp: number;
}

export interface OutageBenchResult {
  outageS: number;
  /** Broker shutdown, fully down, and start-up until it answered, in s: the outage phase is all three. */
  stopS: number;
  downS: number;
  startS: number;
  spoolLimitBytes: number;
  phases: Record<Phase, { maxRssBytes: number; maxSpoolBytes: number; rps: number; seconds: number }>;
  emitted: number;
  dropped: Record<string, number>;
  recordsInKafka: number;
  drainedS: number;
  delivered: boolean;
  pass: boolean;
}

function metric(text: string, name: string, label?: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name) || (line[name.length] !== ' ' && line[name.length] !== '{')) continue;
    if (label && !line.includes(label)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

function droppedByReason(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^tollgate_events_dropped_total\{reason="([^"]+)"\} (\S+)$/gm))
    out[m[1]] = Number(m[2]);
  return out;
}

async function topicRecords(brokers: string[], topic: string): Promise<number> {
  const consumer = new Consumer({
    clientId: 'tollgate-bench-outage',
    groupId: `tollgate-bench-outage-${process.pid}`,
    bootstrapBrokers: brokers,
  });
  try {
    const offsets = (await consumer.listOffsets({ topics: [topic] })).get(topic) ?? [];
    return offsets.reduce((n, o) => n + Number(o), 0);
  } finally {
    await consumer.close(true);
  }
}

export async function outageBench(): Promise<OutageBenchResult | undefined> {
  const name = 'kafka outage';
  const outageS = Number(process.env.BENCH_OUTAGE_S ?? 60);
  const spoolLimitBytes = Number(process.env.BENCH_OUTAGE_SPOOL_MB ?? 32) * 1024 * 1024;
  const log = (s: string) => console.log(`  ${name}: ${s}`);
  const workDir = mkdtempSync(join(tmpdir(), 'tollgate-bench-outage-'));
  const kafka = await PrivateKafka.create();
  log(`starting a private Kafka on 127.0.0.1:${kafka.port} (data in ${kafka.dir})`);
  try {
    await kafka.up();
  } catch (err) {
    log(
      `skipped: the private Kafka did not start (${(err as Error).message.split('\n').slice(-3).join(' ')}); ` +
        'it needs Java 17 and the jars `npm run services:up` fetches',
    );
    await kafka.destroy();
    return undefined;
  }
  const upstream = await startUpstream(workDir);
  const topic = 'tollgate.access-events';
  let gateway: ReturnType<typeof spawnChild> | undefined;
  try {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const config = parse(readFileSync(join(repoRoot, 'test/bench/tollgate.yaml'), 'utf8'));
    config.proxy.listen = `127.0.0.1:${proxyPort}`;
    config.admin.listen = `127.0.0.1:${adminPort}`;
    const [first, second] = config.services[0].upstream.targets;
    config.services[0].upstream.targets = [
      { ...first, url: new URL(upstream.url).origin },
      { ...second, url: upstream.secondOrigin },
    ];
    config.store = { dir: join(workDir, 'store') };
    config.events = {
      sink: 'kafka',
      dir: join(workDir, 'events'),
      max_bytes: spoolLimitBytes,
      kafka: { brokers: kafka.brokers, topic },
    };
    const configFile = join(workDir, 'tollgate.yaml');
    writeFileSync(configFile, stringify(config));
    gateway = spawnChild(
      join(repoRoot, 'scripts/bin/tollgate'),
      ['--config', configFile],
      process.env,
      join(workDir, 'gateway.log'),
    );
    const url = `http://127.0.0.1:${proxyPort}/api/`;
    await waitReady(url, gateway, 30_000);
    const pid = gateway.pid as number;
    const metricsUrl = `http://127.0.0.1:${adminPort}/metrics`;
    const scrape = async () => (await fetch(metricsUrl)).text();

    let phase: Phase = 'before';
    const samples: Sample[] = [];
    const sampler = setInterval(() => {
      void scrape().then(
        (text) =>
          samples.push({
            phase,
            rssBytes: treeRss(pid).totalBytes,
            spoolBytes: metric(text, 'tollgate_event_spool_bytes'),
            spoolEvents: metric(text, 'tollgate_event_spool_events'),
            sinkUp: metric(text, 'tollgate_event_sink_up'),
          }),
        () => {},
      );
    }, 1000);
    const loads: { phase: Phase; result: PeakResult }[] = [];
    let loading = true;
    // Back-to-back 5 s load runs, each credited to the phase it started in.
    const load = (async () => {
      while (loading) {
        const at = phase;
        loads.push({ phase: at, result: await runPeak(url, 5, CONNECTIONS) });
      }
    })();
    const phaseStart: Record<Phase, number> = { before: performance.now(), outage: 0, after: 0 };
    let drainedS = Number.NaN;
    let stopS = 0;
    let downS = 0;
    let startS = 0;
    try {
      await sleep(BEFORE_S * 1000);
      phase = 'outage';
      phaseStart.outage = performance.now();
      log(`stopping the private Kafka for ${outageS} s under load`);
      await kafka.down();
      stopS = (performance.now() - phaseStart.outage) / 1000;
      await sleep(Math.max(0, outageS * 1000 - (performance.now() - phaseStart.outage)));
      log('starting it again');
      const startingMs = performance.now();
      downS = (startingMs - phaseStart.outage) / 1000 - stopS;
      await kafka.up();
      startS = (performance.now() - startingMs) / 1000;
      phase = 'after';
      phaseStart.after = performance.now();
      // Load continues until the spool is sent (at most 180 s), then 5 s more.
      for (;;) {
        await sleep(1000);
        const last = samples[samples.length - 1];
        if (last?.phase === 'after' && last.spoolEvents === 0 && last.sinkUp === 1) break;
        if (performance.now() - phaseStart.after > 180_000) break;
      }
      drainedS = (performance.now() - phaseStart.after) / 1000;
      await sleep(5000);
    } finally {
      loading = false;
      await load;
      clearInterval(sampler);
    }
    // Let the sink send what the last requests queued.
    let text = await scrape();
    for (let i = 0; i < 30 && metric(text, 'tollgate_event_spool_events') > 0; i++) {
      await sleep(1000);
      text = await scrape();
    }
    await sleep(1500);
    text = await scrape();
    const emitted = metric(text, 'tollgate_events_emitted_total');
    const dropped = droppedByReason(text);
    const droppedTotal = Object.values(dropped).reduce((a, b) => a + b, 0);
    const recordsInKafka = await topicRecords(kafka.brokers, topic);
    const endMs = performance.now();
    const phases = {} as OutageBenchResult['phases'];
    for (const p of PHASES) {
      const own = samples.filter((s) => s.phase === p);
      const runs = loads.filter((l) => l.phase === p);
      const requests = runs.reduce((n, r) => n + r.result.requests, 0);
      const loadS = runs.reduce((n, r) => n + r.result.requests / r.result.rps, 0);
      const next = PHASES[PHASES.indexOf(p) + 1];
      phases[p] = {
        maxRssBytes: Math.max(0, ...own.map((s) => s.rssBytes)),
        maxSpoolBytes: Math.max(0, ...own.map((s) => s.spoolBytes)),
        rps: loadS > 0 ? requests / loadS : 0,
        seconds: ((next && phaseStart[next] ? phaseStart[next] : endMs) - phaseStart[p]) / 1000,
      };
    }
    const delivered = recordsInKafka >= emitted - droppedTotal;
    const spoolHeld = PHASES.every((p) => phases[p].maxSpoolBytes <= spoolLimitBytes);
    return {
      outageS,
      stopS,
      downS,
      startS,
      spoolLimitBytes,
      phases,
      emitted,
      dropped,
      recordsInKafka,
      drainedS,
      delivered,
      pass: delivered && spoolHeld,
    };
  } finally {
    if (gateway) await stopChild(gateway, 10_000);
    await upstream.stop();
    await kafka.destroy();
    rmSync(workDir, { recursive: true, force: true });
  }
}

const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

export function printOutage(r: OutageBenchResult): void {
  console.log(
    `\nKafka outage: gateway (1 worker, events to Kafka) under peak load ` +
      `(${CONNECTIONS} connections), private broker stopped ${r.outageS} s, ` +
      `log limit ${mb(r.spoolLimitBytes)} MiB`,
  );
  console.log(
    `  broker: shutdown ${r.stopS.toFixed(1)} s, down ${r.downS.toFixed(1)} ` +
      `s, start-up ${r.startS.toFixed(1)} s (the outage phase spans all three)`,
  );
  console.log('  phase     seconds   req/s   max RSS MB   max unsent MB');
  for (const p of PHASES) {
    const s = r.phases[p];
    console.log(
      `  ${p.padEnd(8)} ${s.seconds.toFixed(0).padStart(8)} ` +
        `${Math.round(s.rps).toString().padStart(7)} ` +
        `${mb(s.maxRssBytes).padStart(12)} ${mb(s.maxSpoolBytes).padStart(14)}`,
    );
  }
  console.log(`  events emitted                   ${r.emitted}`);
  console.log(`  dropped (counted, by reason)     ${JSON.stringify(r.dropped)}`);
  console.log(
    `  records in Kafka afterwards      ${r.recordsInKafka} (emitted − ` +
      `dropped = ${r.emitted - Object.values(r.dropped).reduce((a, b) => a + b, 0)})`,
  );
  console.log(`  log sent after restart in        ${Number.isNaN(r.drainedS) ? 'n/a' : `${r.drainedS.toFixed(0)} s`}`);
  console.log(
    `  everything not dropped delivered: ${passMiss(r.delivered)}; log limit held, memory bounded: ${passMiss(r.pass)}`,
  );
}
