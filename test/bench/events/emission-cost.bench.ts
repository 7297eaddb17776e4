// The analytics issue's emission cost: the gateway's requests/s with the Kafka
// sink on over the same gateway with events off (target >= 0.95), and the CPU
// per request of each. `npm run bench` measures each competitor once, one
// after another, so on a shared machine a neighbour's burst lands on one side
// only; here both gateways run side by side (the idle one costs nothing) and
// are measured in alternating rounds, and the ratio is the median of the
// per-round ratios.
//
// Run: npm run build && node_modules/.bin/node test/bench/events/emission-cost.bench.ts
// Env: BENCH_EMISSION_ROUNDS (5), BENCH_DURATION_S (10), BENCH_CONNECTIONS (50);
//      BENCH_TOLLGATE_CLI benches another checkout's build (e.g. the commit before, for a before/after);
//      needs Kafka (npm run services:up; BENCH_KAFKA_BROKERS, default 127.0.0.1:9192).
import { rmSync } from 'node:fs';
import { peakGenerator, runPeak } from '../load.ts';
import { treeCpuUs } from '../proc-tree.ts';
import { installCleanup } from '../procs.ts';
import { findCompetitor, newWorkDir, probeKafka, startUpstream, type RunningServer } from '../servers.ts';

const rounds = Number(process.env.BENCH_EMISSION_ROUNDS ?? 5);
const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 50);
const warmupS = 2;

interface Round {
  rps: number;
  cpuUsPerRequest: number;
}

async function measure(server: RunningServer): Promise<Round> {
  const cpuBeforeUs = treeCpuUs(server.pid);
  const result = await runPeak(server.url, durationS, connections);
  return { rps: result.rps, cpuUsPerRequest: (treeCpuUs(server.pid) - cpuBeforeUs) / result.requests };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
  installCleanup();
  await probeKafka();
  const names = ['tollgate', 'tollgate+kafka'];
  for (const name of names) {
    const why = findCompetitor(name).unavailable();
    if (why) throw new Error(`${name}: ${why}`);
  }
  const workDir = newWorkDir();
  const upstream = await startUpstream(workDir);
  const origin = new URL(upstream.url).origin;
  const servers: RunningServer[] = [];
  try {
    for (const name of names) servers.push(await findCompetitor(name).start(origin, workDir));
    for (const s of servers) await runPeak(s.url, warmupS, connections);
    const results: Round[][] = [[], []];
    for (let round = 0; round < rounds; round++) {
      // Alternate which goes first, so a trend over the run favours neither.
      const order = round % 2 === 0 ? [0, 1] : [1, 0];
      for (const i of order) results[i].push(await measure(servers[i]));
    }
    const ratios = results[1].map((r, i) => r.rps / results[0][i].rps);
    console.log(
      `${peakGenerator()}, ${connections} connections, ${rounds} alternating rounds of ${durationS} s; medians`,
    );
    for (const [i, name] of names.entries()) {
      const rs = results[i];
      console.log(
        `${name.padEnd(16)} ${median(rs.map((r) => r.rps))
          .toFixed(0)
          .padStart(7)} req/s ` +
          `${median(rs.map((r) => r.cpuUsPerRequest))
            .toFixed(1)
            .padStart(6)} CPU-µs/req   (req/s per round: ${rs.map((r) => r.rps.toFixed(0)).join(', ')})`,
      );
    }
    const cpuDelta = results[1].map((r, i) => r.cpuUsPerRequest - results[0][i].cpuUsPerRequest);
    console.log(
      `kafka / events off req/s: ${median(ratios).toFixed(3)} ` +
        `(per round: ${ratios.map((r) => r.toFixed(3)).join(', ')}; target >= 0.95)`,
    );
    console.log(
      `CPU-µs/req added by the Kafka sink: ${median(cpuDelta).toFixed(1)} ` +
        `(per round: ${cpuDelta.map((d) => d.toFixed(1)).join(', ')})`,
    );
  } finally {
    for (const s of servers) await s.stop();
    await upstream.stop();
    rmSync(workDir, { recursive: true, force: true });
  }
}

await main();
