/**
 * Reads the gateway's own Prometheus text (GET /metrics) in the browser: the console shows rates and latency
 * percentiles from it, as Grafana would, without an API of its own for them.
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of the families whose names are in `families` (a family's `_bucket`, `_sum`, `_count` included). */
export function parseSamples(text: string, families: ReadonlySet<string>): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const brace = line.indexOf('{');
    const space = line.indexOf(' ');
    const nameEnd = brace >= 0 && brace < space ? brace : space;
    if (nameEnd <= 0) continue;
    const name = line.slice(0, nameEnd);
    if (!families.has(familyOf(name))) continue;
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) {
      const parsed = parseLabels(rest);
      if (parsed === undefined) continue;
      labels = parsed.labels;
      rest = rest.slice(parsed.end);
    }
    const value = parseValue(rest.trim().split(/\s+/)[0] ?? '');
    if (value !== undefined) out.push({ name, labels, value });
  }
  return out;
}

function familyOf(name: string): string {
  for (const suffix of ['_bucket', '_sum', '_count']) if (name.endsWith(suffix)) return name.slice(0, -suffix.length);
  return name;
}

/** `{a="x",b="y\"z"}` from the start of `text`; end is the index after `}`. */
function parseLabels(text: string): { labels: Record<string, string>; end: number } | undefined {
  const labels: Record<string, string> = {};
  let i = 1;
  while (i < text.length && text[i] !== '}') {
    const eq = text.indexOf('=', i);
    if (eq < 0 || text[eq + 1] !== '"') return undefined;
    const key = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\' && j + 1 < text.length) {
        const next = text[++j];
        value += next === 'n' ? '\n' : next;
      } else value += text[j];
    }
    if (j >= text.length) return undefined;
    labels[key] = value;
    i = j + 1;
    if (text[i] === ',') i++;
  }
  return i < text.length ? { labels, end: i + 1 } : undefined;
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN' || text === 'Nan') return Number.NaN;
  const v = Number(text);
  return text === '' || Number.isNaN(v) ? undefined : v;
}

/**
 * The q-quantile of a histogram from its cumulative `le` buckets, as Prometheus's histogram_quantile: the bucket
 * the rank falls in, interpolated linearly (the first from 0); a rank in +Inf answers the highest finite bound.
 * undefined for an empty histogram.
 */
export function histogramQuantile(
  q: number,
  buckets: ReadonlyArray<{ le: number; count: number }>,
): number | undefined {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  const total = sorted.at(-1)?.count ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (!Number.isFinite(b.le)) return lowerBound;
      const inBucket = b.count - lowerCount;
      return inBucket <= 0 ? b.le : lowerBound + (b.le - lowerBound) * ((rank - lowerCount) / inBucket);
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}
