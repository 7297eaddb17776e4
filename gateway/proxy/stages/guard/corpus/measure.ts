/**
 * Prints the guard's detection and false-positive rates on the corpus and
 * what inspection costs per request (best of several rounds, so a busy
 * machine inflates the figures less):
 *   node_modules/.bin/node gateway/proxy/stages/guard/corpus/measure.ts
 */
import { CLEAN, inspectHeaders, inspectPath, inspectQuery } from '../inspect.ts';
import { DEFAULT_RULES, evaluate, inspectCorpusRequest, loadCorpus } from './evaluate.ts';
import type { CorpusRequest } from './generate.ts';

function bestUs(rounds: number, perRound: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) fn();
    best = Math.min(best, ((performance.now() - t0) * 1000) / perRound);
  }
  return best;
}

function corpusUs(reqs: CorpusRequest[]): number {
  let i = 0;
  return bestUs(7, reqs.length * 3, () => inspectCorpusRequest(reqs[i++ % reqs.length]));
}

const r = evaluate();
console.log(`attacks ${r.attacks}: detected ${r.detected} (${(r.detectionRate * 100).toFixed(2)}%)`);
console.log(
  `benign  ${r.benign}: false positives ${r.falsePositives.length} (${(r.falsePositiveRate * 100).toFixed(3)}%)`,
);
for (const m of r.missed) console.log(`  missed ${m.id} ${m.url}`);
for (const f of r.falsePositives) console.log(`  false positive ${f.id} ${f.url}`);

const typical = {
  path: '/api/v1/orders/12345',
  query: 'page=2&sort=-created_at&status=shipped',
  headers: {
    host: 'api.example.com',
    accept: 'application/json',
    'user-agent':
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    cookie: 'session=5c3c12270edba399d6f00ef7817e01e9; _ga=GA1.2.123456789.1700000000',
    'x-request-id': '0f8fad5b-d9cb-469f-a165-70867728950e',
  },
};
const typicalUs = bestUs(7, 100_000, () => {
  if (
    inspectPath(typical.path, DEFAULT_RULES) !== CLEAN ||
    inspectQuery(typical.query, DEFAULT_RULES) !== CLEAN ||
    inspectHeaders(typical.headers, DEFAULT_RULES) !== CLEAN
  )
    throw new Error('flagged');
});
const curlUs = bestUs(7, 100_000, () => {
  inspectPath('/api/v1/orders/12345', DEFAULT_RULES);
  inspectQuery('page=2', DEFAULT_RULES);
  inspectHeaders({ host: 'api.example.com', 'user-agent': 'curl/8.5.0', accept: '*/*' }, DEFAULT_RULES);
});
const benign = loadCorpus('benign');
const attacks = loadCorpus('attacks');
console.log(
  `cost: ${curlUs.toFixed(2)} µs for a plain API call (curl), ` +
    `${typicalUs.toFixed(2)} µs for a browser call (Chrome UA, cookies), ` +
    `${corpusUs(benign).toFixed(2)} µs per benign corpus request, ` +
    `${corpusUs(attacks).toFixed(2)} µs per attack (JSON bodies parsed included)`,
);
