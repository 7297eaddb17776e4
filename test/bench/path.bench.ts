/**
 * What path handling costs a request: ns per request for the route-match
 * stage's path step on already-canonical paths (the common case, one regex
 * test) and on paths that need the slow path, beside the three indexOf
 * checks the normaliser before canonical-path.ts ran on every request.
 * `npm run bench` divides the canonical figure by Tollgate's CPU per
 * request (docs/path-handling.md, target: at most 2%).
 * Run alone: node test/bench/path.bench.ts
 */
import { canonicalPath, plainPath } from '../../gateway/proxy/router/canonical-path.ts';

const CANONICAL = [
  '/api/hello',
  '/api/v1/users/42',
  '/',
  '/static/app.3f9a1c.js',
  '/orders/2026/11/25/items',
  '/healthz',
  '/api/v1/search',
  '/a-b_c~d',
];
const SPELLED = [
  '/api/%761/users/42',
  '/api/./v1//users',
  '/x/../api/hello',
  '/files/caf%C3%A9',
  '/admin;jsessionid=1/users',
  '/static/a%20b.png',
];
const OPTIONS = { mergeSlashes: true, keepSeparators: false, keepParams: false };

/** The fast path it replaced: three indexOf checks, then the path as it is. */
const previousFastPath = (p: string) => p.indexOf('%') === -1 && p.indexOf('//') === -1 && p.indexOf('/.') === -1;

function nsPer(paths: string[], step: (p: string) => unknown, ms: number): number {
  let n = 0;
  let sink = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let k = 0; k < 1024; k++) if (step(paths[n++ % paths.length])) sink++;
    now = performance.now();
  }
  if (sink < 0) throw new Error('unreachable');
  return ((now - start) * 1e6) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface PathCost {
  canonicalNs: number;
  previousNs: number;
  spelledNs: number;
}

/** Medians of alternating rounds. */
export function measurePathCost(rounds = 7, ms = 100): PathCost {
  const current = (p: string) => (plainPath(p) ? p : canonicalPath(p, OPTIONS));
  const slow = (p: string) => canonicalPath(p, OPTIONS);
  const c: number[] = [];
  const o: number[] = [];
  const s: number[] = [];
  for (let r = 0; r <= rounds; r++) {
    const [a, b, d] = [nsPer(CANONICAL, current, ms), nsPer(CANONICAL, previousFastPath, ms), nsPer(SPELLED, slow, ms)];
    if (r === 0) continue; // warm-up
    c.push(a);
    o.push(b);
    s.push(d);
  }
  return { canonicalNs: median(c), previousNs: median(o), spelledNs: median(s) };
}

if (import.meta.main) {
  const cost = measurePathCost();
  console.log(
    `canonical paths: ${cost.canonicalNs.toFixed(1)} ns per ` +
      `request (the previous fast path: ${cost.previousNs.toFixed(1)} ns)`,
  );
  console.log(`paths that need canonicalising: ${cost.spelledNs.toFixed(0)} ns per request`);
}
