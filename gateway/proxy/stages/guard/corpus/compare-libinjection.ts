/**
 * The same corpus through libinjection (is_sqli / is_xss), as shipped inside
 * Datadog's libddwaf (@datadog/native-appsec, the only maintained libinjection
 * build on npm), against the guard's own detector: detection, false
 * positives and µs per request. libinjection gets the values already decoded
 * by the guard's decoder, so only detection logic is compared. Not a
 * dependency of the gateway; to run it:
 *   npm install --no-save @datadog/native-appsec
 *   node_modules/.bin/node gateway/proxy/stages/guard/corpus/compare-libinjection.ts
 */
import { createRequire } from 'node:module';
import { decodeValue } from '../decode.ts';
import { CLEAN } from '../inspect.ts';
import { inspectCorpusRequest, loadCorpus } from './evaluate.ts';
import type { CorpusRequest } from './generate.ts';

const require = createRequire(import.meta.url);
interface WafContext {
  run(payload: { persistent: object }, timeoutUs: number): { events?: object[] };
  dispose(): void;
}
interface Waf {
  createContext(): WafContext;
}
const { DDWAF } = require(process.env.NATIVE_APPSEC ?? '@datadog/native-appsec') as {
  DDWAF: { new (rules: object, path: string): Waf; version(): string };
};

const inputs = [
  'server.request.query',
  'server.request.path_params',
  'server.request.headers.no_cookies',
  'server.request.cookies',
  'server.request.body',
].map((address) => ({ address }));
const rule = (id: string, operator: string) => ({
  id,
  name: id,
  tags: { type: id, category: 'attack_attempt' },
  conditions: [{ operator, parameters: { inputs } }],
  transformers: [],
});
const waf = new DDWAF(
  { version: '2.2', metadata: { rules_version: '1.0.0' }, rules: [rule('sqli', 'is_sqli'), rule('xss', 'is_xss')] },
  'guard-compare',
);

function addresses(r: CorpusRequest): Record<string, unknown> {
  const q = r.url.indexOf('?');
  const path = q === -1 ? r.url : r.url.slice(0, q);
  const query: Record<string, string[]> = {};
  if (q !== -1) {
    for (const pair of r.url.slice(q + 1).split('&')) {
      const eq = pair.indexOf('=');
      const k = decodeValue(eq === -1 ? pair : pair.slice(0, eq), true);
      (query[k] ??= []).push(eq === -1 ? '' : decodeValue(pair.slice(eq + 1), true));
    }
  }
  const headers: Record<string, string> = {};
  const cookies: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.headers)) {
    if (k === 'cookie')
      for (const c of v.split(';')) {
        const eq = c.indexOf('=');
        cookies[c.slice(0, eq).trim()] = decodeValue(c.slice(eq + 1), false);
      }
    else if (k === 'user-agent' || k === 'referer' || k.startsWith('x-')) headers[k] = decodeValue(v, false);
  }
  const out: Record<string, unknown> = {
    'server.request.query': query,
    'server.request.path_params': path
      .split('/')
      .filter(Boolean)
      .map((s) => decodeValue(s, false)),
    'server.request.headers.no_cookies': headers,
    'server.request.cookies': cookies,
  };
  if (r.body !== undefined) out['server.request.body'] = JSON.parse(r.body);
  return out;
}

function libinjection(r: CorpusRequest): boolean {
  const ctx = waf.createContext();
  const res = ctx.run({ persistent: addresses(r) }, 1e9);
  ctx.dispose();
  return (res.events?.length ?? 0) > 0;
}

function measure(name: string, detect: (r: CorpusRequest) => boolean): void {
  const attacks = loadCorpus('attacks');
  const benign = loadCorpus('benign');
  const missed = attacks.filter((r) => !detect(r));
  const fps = benign.filter(detect);
  const all = [...benign, ...attacks];
  for (const r of all) detect(r); // warm-up
  const rounds = 5;
  const t0 = performance.now();
  for (let i = 0; i < rounds; i++) for (const r of all) detect(r);
  const us = ((performance.now() - t0) * 1000) / (rounds * all.length);
  console.log(
    `${name.padEnd(14)} detection ${attacks.length - missed.length}/${attacks.length} ` +
      `(${((1 - missed.length / attacks.length) * 100).toFixed(1)}%)  false positives ` +
      `${fps.length}/${benign.length} ` +
      `(${((fps.length / benign.length) * 100).toFixed(2)}%)  ${us.toFixed(2)} µs/request`,
  );
  if (process.env.VERBOSE) {
    for (const m of missed)
      console.log(
        '  missed',
        m.id,
        m.url.slice(0, 120),
        m.body?.slice(0, 80) ?? '',
        m.headers.cookie ?? m.headers['x-forwarded-for'] ?? '',
      );
    for (const f of fps) console.log('  false positive', f.id, f.url.slice(0, 120), f.body?.slice(0, 120) ?? '');
  }
}

console.log(`libddwaf ${DDWAF.version()}`);
measure('libinjection', libinjection);
measure('guard', (r) => inspectCorpusRequest(r) !== CLEAN);
