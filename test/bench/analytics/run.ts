// The analytics issue's benchmarks: `npm run bench -- --analytics[=collector,report,outage]`
// (all three by default), or `node test/bench/analytics/run.ts [collector] [report] [outage]`.
// Each needs the real services (`npm run services:up`) and says so when they are missing.
import { cpus } from 'node:os';
import { collectorBench, printCollector } from './collector.bench.ts';
import { outageBench, printOutage } from './outage.bench.ts';
import { printReport, reportBench } from './report.bench.ts';

export const ANALYTICS_BENCHES = ['collector', 'report', 'outage'] as const;
export type AnalyticsBench = (typeof ANALYTICS_BENCHES)[number];

/** The benches named by `--analytics` or `--analytics=a,b`; undefined when the flag is absent. */
export function analyticsSelection(argv: readonly string[]): AnalyticsBench[] | undefined {
  const flag = argv.find((a) => a === '--analytics' || a.startsWith('--analytics='));
  if (flag === undefined) return undefined;
  const names = flag.includes('=')
    ? flag
        .slice(flag.indexOf('=') + 1)
        .split(',')
        .filter(Boolean)
    : [...ANALYTICS_BENCHES];
  for (const n of names)
    if (!(ANALYTICS_BENCHES as readonly string[]).includes(n))
      throw new Error(`unknown analytics bench ${n} (known: ${ANALYTICS_BENCHES.join(', ')})`);
  return names as AnalyticsBench[];
}

export async function runAnalytics(names: readonly AnalyticsBench[]): Promise<void> {
  console.log(
    `Analytics benchmarks (${names.join(', ')}), ${cpus().length} CPUs, node ${process.version}; ` +
      'shared services, so other work on the machine shows in the figures',
  );
  for (const name of names) {
    console.log(`  running ${name} ...`);
    if (name === 'collector') {
      const r = await collectorBench();
      if (r) printCollector(r);
    } else if (name === 'report') {
      const r = await reportBench();
      if (r) printReport(r);
    } else {
      const r = await outageBench();
      if (r) printOutage(r);
    }
  }
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  await runAnalytics(args.length > 0 ? analyticsSelection([`--analytics=${args.join(',')}`])! : [...ANALYTICS_BENCHES]);
  process.exit(0);
}
