/**
 * Route matching: the table scanned against the table indexed (RouteIndex),
 * on the same tables and requests, for tables of 4 to 10,000 routes.
 * Run: node test/bench/router.bench.ts
 * Prints ns per match (median of alternating rounds) and the ratio.
 */
import Value from 'typebox/value';
import { RouteSchema } from '../../gateway/proxy/router/schema.ts';
import { RouteTable } from '../../gateway/proxy/router/route-table.ts';
import type { RouteConfig } from '../../gateway/control/config/schema.ts';

type Shape = 'prefix' | 'hosts' | 'mixed';
interface Req {
  method: string;
  host: string;
  path: string;
}

const route = (r: Partial<RouteConfig>): RouteConfig => Value.Default(RouteSchema, r) as RouteConfig;

/** `n` routes of a shape, and requests spread over them (one in ten matches none). */
function workload(shape: Shape, n: number): { routes: RouteConfig[]; reqs: Req[] } {
  const routes: RouteConfig[] = [];
  for (let i = 0; i < n; i++) {
    if (shape === 'prefix') routes.push(route({ paths: [`/svc${i}`] }));
    else if (shape === 'hosts') routes.push(route({ hosts: [`svc${i}.example.com`], paths: ['/'] }));
    // mixed: a host and a prefix, a wildcard host, an exact path and, one in ten, a regex
    else if (i % 10 === 9) routes.push(route({ paths: [`~^/re${i}/[0-9]+$`] }));
    else if (i % 3 === 0)
      routes.push(route({ hosts: [`svc${i}.example.com`], paths: [`/v1/svc${i}`], methods: ['GET', 'POST'] }));
    else if (i % 3 === 1) routes.push(route({ hosts: [`*.t${i}.example.com`], paths: ['/'] }));
    else routes.push(route({ paths: [`=/exact/svc${i}`] }));
  }
  const reqs: Req[] = [];
  for (let k = 0; k < 4096; k++) {
    const i = (k * 7919) % n;
    const miss = k % 10 === 9;
    let host = 'gw.example.net';
    let path = `/svc${i}/items/${k}`;
    if (shape === 'hosts') host = `svc${i}.example.com`;
    if (shape === 'mixed') {
      if (i % 10 === 9) path = `/re${i}/${k}`;
      else if (i % 3 === 0) {
        host = `svc${i}.example.com`;
        path = `/v1/svc${i}/items`;
      } else if (i % 3 === 1) {
        host = `tenant${k}.t${i}.example.com`;
        path = '/orders';
      } else path = `/exact/svc${i}`;
    }
    reqs.push(miss ? { method: 'GET', host: 'nowhere.test', path: `/none/${k}` } : { method: 'GET', host, path });
  }
  return { routes, reqs };
}

function nsPerMatch(table: RouteTable<number>, reqs: Req[], ms: number): number {
  let n = 0;
  let found = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let k = 0; k < 256; k++) {
      const r = reqs[n++ & 4095];
      if (table.match(r.method, r.host, r.host, r.path, {}) !== undefined) found++;
    }
    now = performance.now();
  }
  if (found === 0) throw new Error('nothing matched');
  return ((now - start) * 1e6) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log('shape   routes   scanned ns   indexed ns   scanned/indexed');
for (const shape of ['prefix', 'hosts', 'mixed'] as Shape[]) {
  for (const n of [4, 16, 32, 64, 1000, 10000]) {
    const { routes, reqs } = workload(shape, n);
    const named = routes.map((config, i) => ({ route: i, config }));
    const scanned = new RouteTable(named, Infinity);
    const indexed = new RouteTable(named, 0);
    const ms = n >= 1000 ? 300 : 150;
    nsPerMatch(scanned, reqs, ms); // warm-up
    nsPerMatch(indexed, reqs, ms);
    const s: number[] = [];
    const x: number[] = [];
    for (let round = 0; round < 5; round++) {
      s.push(nsPerMatch(scanned, reqs, ms));
      x.push(nsPerMatch(indexed, reqs, ms));
    }
    const ms_ = median(s);
    const mx = median(x);
    console.log(
      `${shape.padEnd(7)} ${String(n).padStart(6)} ` +
        `${ms_.toFixed(0).padStart(12)} ${mx.toFixed(0).padStart(12)} ${(ms_ / mx).toFixed(2).padStart(17)}`,
    );
  }
}
