/**
 * Writes the guard corpus as JSON lines beside this file, deterministically
 * (a seeded PRNG): attacks.jsonl (the payloads of attacks.ts placed in query
 * strings, paths, headers and JSON bodies) and benign.jsonl (ordinary
 * requests built from benign-seeds.ts). Run after editing either source:
 *   node_modules/.bin/node gateway/proxy/stages/guard/corpus/generate.ts
 */
import { writeFileSync } from 'node:fs';
import { SQLI, XSS } from './attacks.ts';
import { NAMES, RICH_TEXT, SEARCHES, USER_AGENTS, WORDS } from './benign-seeds.ts';

const base64url = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

export interface CorpusRequest {
  id: string;
  expect: 'sqli' | 'xss' | 'none';
  method: string;
  /** Path and query exactly as sent. */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rnd = prng(20260422);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const hex = (n: number) => Array.from({ length: n }, () => '0123456789abcdef'[int(0, 15)]).join('');
const uuid = () => `${hex(8)}-${hex(4)}-4${hex(3)}-a${hex(3)}-${hex(12)}`;
/** Payloads that carry their own percent-encoding go in as they are: that encoding is the evasion. */
const preEncoded = (p: string) => /%(?:[0-9a-fA-F]{2}|u[0-9a-fA-F]{4})/.test(p);
// (only what cannot be sent raw in a request line is escaped in those)
const enc = (p: string) =>
  preEncoded(p) ? p.replace(/[^\x21-\x7e]/g, (c) => encodeURIComponent(c)) : encodeURIComponent(p);
const headerSafe = (p: string) => /^[\x20-\x7e]*$/.test(p);
const baseHeaders = () => ({ 'user-agent': pick(USER_AGENTS), accept: 'application/json' });

function placeAttack(kind: 'sqli' | 'xss', payload: string, i: number): CorpusRequest {
  const id = `${kind}-${String(i + 1).padStart(3, '0')}`;
  const r: CorpusRequest = { id, expect: kind, method: 'GET', url: '', headers: baseHeaders() };
  const slot = i % 10;
  if (slot === 6 && !payload.includes('/')) r.url = `/products/${enc(payload)}`;
  else if (slot === 7 && headerSafe(payload) && !payload.includes(';')) {
    r.url = '/account';
    r.headers.cookie = `session=${hex(32)}; pref=${payload}`;
  } else if (slot === 8 && headerSafe(payload)) {
    r.url = '/home';
    if (kind === 'sqli') r.headers['x-forwarded-for'] = payload;
    else r.headers.referer = `https://shop.example/search?q=${enc(payload)}`;
  } else if (slot === 9 && !preEncoded(payload)) {
    r.method = 'POST';
    r.url = '/api/comments';
    r.headers['content-type'] = 'application/json';
    r.body = JSON.stringify({ postId: int(1, 999), author: pick(NAMES), text: payload, tags: ['news'] });
  } else if (slot === 5 && headerSafe(payload)) {
    r.url = '/ping';
    r.headers['user-agent'] = payload;
  } else
    r.url =
      `/${pick(['search', 'items', 'api/users', 'catalog'])}?${pick(['q', 'id', 'name', 'filter', 'next'])}` +
      `=${enc(payload)}&page=${int(1, 9)}`;
  return r;
}

const form = (s: string) => new URLSearchParams({ q: s }).toString().slice(2);

function searchQuery(): string {
  const r = rnd();
  if (r < 0.55) return pick(SEARCHES);
  if (r < 0.75) return `${pick(WORDS)} ${pick(WORDS)} ${pick(WORDS)}`;
  if (r < 0.85) return `${pick(SEARCHES)} ${pick(WORDS)}`;
  if (r < 0.93) return `"${pick(WORDS)} ${pick(WORDS)}"`;
  return `${pick(NAMES)} ${pick(WORDS)}`;
}

const REACTIONS = [
  'great',
  'meh',
  "wouldn't buy again",
  'love it!',
  '5/5',
  '10/10 would "buy" again',
  'ok :)',
  'see https://example.com?a=1&b=2',
];
const COMMENTS = () => `${pick(SEARCHES)} — ${pick(REACTIONS)}`;

function benign(i: number): CorpusRequest {
  const id = `benign-${String(i + 1).padStart(4, '0')}`;
  const h: Record<string, string> = baseHeaders();
  const r: CorpusRequest = { id, expect: 'none', method: 'GET', url: '', headers: h };
  const kind = i % 6;
  if (kind === 0 || kind === 1) {
    r.url =
      `/search?q=${form(searchQuery())}&page=${int(1, 20)}` +
      (rnd() < 0.3 ? `&sort=${pick(['price', '-price', 'relevance', 'created_at:desc'])}` : '') +
      (rnd() < 0.2 ? `&lang=${pick(['en', 'fr', 'zh-CN', 'ar'])}` : '');
    if (rnd() < 0.3) h.referer = `https://shop.example/search?q=${form(searchQuery())}`;
  } else if (kind === 2) {
    const name = rnd() < 0.5 ? pick(NAMES) : pick(SEARCHES);
    r.url =
      rnd() < 0.5
        ? `/users/${encodeURIComponent(name)}`
        : `/products/${encodeURIComponent(name.toLowerCase().replaceAll(' ', '-'))}/reviews`;
    if (rnd() < 0.5) r.url += `?ref=${pick(['home', 'email', 'ad_campaign_2024', 'newsletter%2Fjan'])}`;
  } else if (kind === 3) {
    r.method = pick(['POST', 'PUT', 'PATCH']);
    r.url = pick(['/api/users', '/api/orders', '/api/comments', '/api/profile', '/graphql']);
    h['content-type'] = 'application/json';
    const body =
      r.url === '/graphql'
        ? {
            query:
              'query($id: ID!) { user(id: $id) { name orders(first: 10, ' +
              'orderBy: {field: CREATED_AT, direction: DESC}) { id total } } }',
            variables: { id: String(int(1, 9999)) },
          }
        : {
            name: pick(NAMES),
            bio: rnd() < 0.4 ? pick(RICH_TEXT) : undefined,
            email: `${pick(['john', 'mary.o', 'li.wei', 'o.brien'])}+${int(1, 99)}@example.com`,
            comment: COMMENTS(),
            address: {
              line1: `${int(1, 999)} ${pick(["King's Road", 'Main St.', "Rue de l'Église", '中山路', 'Baker Street'])}`,
              city: pick(['London', 'Paris', '北京', 'القاهرة', 'São Paulo']),
              zip: String(int(10000, 99999)),
            },
            items: Array.from({ length: int(1, 4) }, () => ({
              sku: `SKU-${hex(6)}`,
              qty: int(1, 5),
              note: rnd() < 0.3 ? pick(SEARCHES) : '',
            })),
            select: rnd() < 0.2 ? 'all' : undefined,
            order: { by: pick(['date', 'price']), dir: pick(['asc', 'desc']) },
            tags: [pick(WORDS), pick(WORDS)],
            when: new Date(Date.UTC(2024, int(0, 11), int(1, 28))).toISOString(),
            html_safe: rnd() < 0.1 ? 'a &amp; b' : undefined,
          };
    r.body = JSON.stringify(body);
  } else if (kind === 4) {
    r.url = pick([
      `/api/orders?from=2024-0${int(1, 9)}-1${int(0, 9)}&to=2024-1${int(0, 2)}-0${int(1, 9)}` +
        `&status=${pick(['shipped', 'pending', 'cancelled'])}&sort=-created_at`,
      `/api/items?fields=id,name,price&limit=${int(10, 100)}&offset=${int(0, 500)}`,
      `/login?next=${encodeURIComponent(`/account/orders?page=${int(1, 5)}`)}`,
      `/oauth/callback?code=${hex(20)}&state=${hex(16)}`,
      `/api/search?q=${encodeURIComponent(`email:${pick(['john', 'ana'])}@example.com`)}`,
      `/redirect?url=${encodeURIComponent(`https://example.com/path?x=${int(1, 9)}&y=${pick(WORDS)}`)}`,
      `/jsonp?callback=jQuery${int(100000, 999999)}_${int(1000000, 9999999)}`,
      `/api/products?tags[]=${pick(WORDS)}&tags[]=${pick(WORDS)}&price_min=${int(1, 50)}`,
      `/api/events?filter=${encodeURIComponent(`date >= 2024-01-${int(10, 28)}`)}`,
      `/api/v2/reports/${uuid()}?format=${pick(['csv', 'json'])}`,
      `/static/app.${hex(8)}.js`,
      `/images/${pick(WORDS)}_${int(1, 99)}.png?w=${int(100, 900)}&h=${int(100, 900)}`,
      `/api/geo?lat=${(rnd() * 180 - 90).toFixed(5)}&lng=${(rnd() * 360 - 180).toFixed(5)}`,
      `/api/translate?text=${form(pick(SEARCHES))}&to=${pick(['de', 'ja', 'ar'])}`,
    ]);
  } else {
    r.url = pick(['/', '/home', '/api/me', '/cart', '/checkout', '/api/notifications']);
    h.cookie = [
      `session=${hex(32)}`,
      `_ga=GA1.2.${int(100000000, 999999999)}.${int(1600000000, 1700000000)}`,
      rnd() < 0.5
        ? `prefs=${Buffer.from(JSON.stringify({ theme: 'dark', lang: 'en' })).toString('base64')}`
        : `cart=${encodeURIComponent(JSON.stringify([int(1, 99), int(1, 99)]))}`,
      rnd() < 0.3
        ? `token=eyJhbGciOiJFUzI1NiJ9.${base64url({ sub: `u${int(1, 999)}` })}.${hex(40)}`
        : `consent=${pick(['yes', 'analytics%2Cads', 'v2:1:1:0'])}`,
    ].join('; ');
    h['x-request-id'] = uuid();
    if (rnd() < 0.5)
      h['x-forwarded-for'] = `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}, 10.0.0.${int(1, 254)}`;
    if (rnd() < 0.3) h['x-amzn-trace-id'] = `Root=1-${hex(8)}-${hex(24)};Parent=${hex(16)};Sampled=1`;
    if (rnd() < 0.3) h['x-client-version'] = `${int(1, 9)}.${int(0, 20)}.${int(0, 99)} (build ${int(1000, 9999)})`;
    if (rnd() < 0.3) h.referer = `https://www.google.com/search?q=${form(searchQuery())}`;
  }
  return r;
}

export const BENIGN_COUNT = 2400;

export function buildCorpus(): { attacks: CorpusRequest[]; benign: CorpusRequest[] } {
  const attacks = [...SQLI.map((p, i) => placeAttack('sqli', p, i)), ...XSS.map((p, i) => placeAttack('xss', p, i))];
  const benignReqs: CorpusRequest[] = [];
  for (let i = 0; i < BENIGN_COUNT; i++) benignReqs.push(benign(i));
  return { attacks, benign: benignReqs };
}

if (import.meta.main) {
  const { attacks, benign: b } = buildCorpus();
  const dir = new URL('.', import.meta.url);
  writeFileSync(new URL('attacks.jsonl', dir), attacks.map((r) => JSON.stringify(r)).join('\n') + '\n');
  writeFileSync(new URL('benign.jsonl', dir), b.map((r) => JSON.stringify(r)).join('\n') + '\n');
  console.log(`wrote ${attacks.length} attacks and ${b.length} benign requests`);
}
