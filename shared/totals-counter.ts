import { Counter, type LabelValues, type Registry } from 'prom-client';

/**
 * A Prometheus counter over totals the code keeps as plain numbers. prom-client's
 * labelled `inc` hashes its labels on every call, so busy paths bump a number
 * instead, and at each scrape this counter advances by what each total grew
 * since the scrape before. A total that goes back (its owner was replaced)
 * only moves the mark: a counter never decreases. `read` lists every total
 * with its labels; each one is a series from the first scrape, at 0 until it
 * grows, so rates and alerts over it need no absent() cases.
 */
export function totalsCounter<L extends string = string>(
  config: { name: string; help: string; labelNames?: readonly L[]; registers: Registry[] },
  read: () => Iterable<readonly [LabelValues<L>, number]>,
): Counter<L> {
  const names = config.labelNames ?? [];
  const seen = new Map<string, number>();
  return new Counter<L>({
    ...config,
    collect() {
      for (const [labels, total] of read()) {
        const key = names.map((n) => labels[n] ?? '').join('\0');
        const grew = total - (seen.get(key) ?? 0);
        this.inc(labels, Math.max(grew, 0)); // by 0 too: a listed total is a series from the first scrape
        seen.set(key, total);
      }
    },
  });
}
