import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { request } from 'node:http';
import { service, startGateway } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, writeYaml } from '../helpers/gateway-process.ts';
import { send } from '../helpers/http-client.ts';
import { sha256, startHashingUpstream, startUpstream } from '../helpers/upstream.ts';
import { anyEvent, eventsWhere } from '../helpers/events.ts';
import { metric } from '../helpers/metrics.ts';
import { loadCorpus } from '../../gateway/proxy/stages/guard/corpus/evaluate.ts';

/** Runs fn over xs with at most `limit` in flight, results in order. */
async function mapLimited<T, R>(xs: readonly T[], limit: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < xs.length) {
        const i = next++;
        out[i] = await fn(xs[i]);
      }
    }),
  );
  return out;
}

const detections = (gw: { adminUrl: string }, svc: string, kind: string, action: string) =>
  metric(gw, 'tollgate_guard_detections_total', `service="${svc}",kind="${kind}",action="${action}"`);

test(
  'block: SQL injection in the query and XSS in a header get 403 ' +
    'GW_ERR_INJECTION_BLOCKED, counted, with access events of class injection_blocked; clean requests pass',
  async () => {
    const up = await startUpstream('up');
    const gw = await startGateway({
      services: [
        { ...service('shop', [up.url], [{ name: 'shop', paths: ['/shop'] }]), guard: {} },
        service('open', [up.url], [{ name: 'open', paths: ['/open'] }]),
      ],
    });
    try {
      const sqli = await send(gw.url, '/shop/search?q=%27%20or%201%3D1--');
      assert.equal(sqli.status, 403);
      assert.equal(sqli.json().code, 'GW_ERR_INJECTION_BLOCKED');
      assert.ok(sqli.json().request_id);
      const xss = await send(gw.url, '/shop/home', {
        headers: { referer: 'https://x.example/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E' },
      });
      assert.equal(xss.status, 403);
      assert.equal((await send(gw.url, '/shop/users/1%20or%201=1')).status, 403, 'a path segment');
      for (const path of [
        "/shop/search?q=O'Brien%27s+pub",
        '/shop/search?q=drop+shipping',
        '/shop/search?q=%E5%8C%97%E4%BA%AC%E7%83%A4%E9%B8%AD',
        '/shop/users/42',
      ]) {
        assert.equal((await send(gw.url, path)).status, 200, path);
      }
      assert.equal(
        (await send(gw.url, '/open/search?q=%27%20or%201%3D1--')).status,
        200,
        'a service without guard is not inspected',
      );
      assert.equal(
        up.seen.filter((r) => r.url.startsWith('/shop')).length,
        4,
        'blocked requests never reached the upstream',
      );
      assert.equal(await detections(gw, 'shop', 'sqli', 'blocked'), 2);
      assert.equal(await detections(gw, 'shop', 'xss', 'blocked'), 1);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_INJECTION_BLOCKED"'), 3);
    } finally {
      await gw.close();
      await up.close();
    }
    const events = await eventsWhere(gw, anyEvent, 8);
    const blocked = events.filter((e) => e.status === 403);
    assert.equal(blocked.length, 3);
    for (const e of blocked) {
      assert.equal(e.errorClass, 'injection_blocked');
      assert.equal(e.service, 'shop');
      assert.equal(e.upstreamStatus, 0);
      assert.equal(e.appId, '', 'anonymous');
    }
  },
);

test('the whole attack corpus is blocked through the gateway and a sample of the benign corpus passes', async () => {
  const up = await startUpstream('up');
  const gw = await startGateway({
    services: [{ ...service('api', [up.url]), guard: { inspect: { json_body: true } } }],
  });
  try {
    const sendCorpus = async (r: ReturnType<typeof loadCorpus>[number]) => {
      const res = await send(gw.url, r.url, { method: r.method, headers: r.headers, body: r.body });
      return res.status;
    };
    const attacks = loadCorpus('attacks');
    const statuses = await mapLimited(attacks, 16, sendCorpus);
    // Attacks whose path cannot be routed safely (an encoded slash) get 400 from route matching first; everything else
    // is blocked.
    const passed = attacks.filter((_, i) => statuses[i] !== 403 && statuses[i] !== 400).map((r) => r.id);
    assert.deepEqual(passed, []);
    assert.ok(
      statuses.filter((s) => s === 403).length >= attacks.length - 5,
      `403s: ${statuses.filter((s) => s === 403).length}/${attacks.length}`,
    );
    const benign = loadCorpus('benign').filter((_, i) => i % 10 === 0);
    const benignStatuses = await mapLimited(benign, 16, sendCorpus);
    const refused = benign
      .filter((_, i) => benignStatuses[i] !== 200)
      .map((r) => `${r.id} ${benignStatuses[benign.indexOf(r)]}`);
    assert.ok(refused.length <= 2, refused.join(', '));
  } finally {
    await gw.close();
    await up.close();
  }
});

/** POSTs `body` and resolves with the status and parsed reply. */
function post(
  base: string,
  path: string,
  body: Buffer | string,
  headers: Record<string, string | number>,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { method: 'POST', headers }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (c: Buffer) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(parts).toString() }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test(
  'json_body: string values of a JSON body are ' + 'inspected, and a clean body arrives at the upstream byte for byte',
  async () => {
    const up = await startHashingUpstream('{}');
    const gw = await startGateway({
      services: [{ ...service('api', [up.url]), guard: { inspect: { json_body: true }, max_inspect_bytes: 4096 } }],
    });
    try {
      const clean = Buffer.from(
        JSON.stringify({
          name: "Zoë O'Brien 王小明 🎉",
          comment: 'drop shipping; select committee',
          items: Array.from({ length: 20 }, (_, i) => ({ sku: `SKU-${i}`, qty: i })),
        }),
      );
      const ok = await post(gw.url, '/orders', clean, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': clean.length,
      });
      assert.equal(ok.status, 200);
      const first = up.seen[0].headers;
      assert.deepEqual(
        { sha: up.received[0], length: first['content-length'], te: first['transfer-encoding'] },
        { sha: sha256(clean), length: String(clean.length), te: undefined },
      );

      const bad = JSON.stringify({ user: { bio: '<img src=x onerror=alert(1)>' } });
      const blocked = await post(gw.url, '/orders', bad, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(bad),
      });
      assert.equal(blocked.status, 403);
      assert.equal(JSON.parse(blocked.text).code, 'GW_ERR_INJECTION_BLOCKED');
      assert.equal(await detections(gw, 'api', 'xss', 'blocked'), 1);
      // What JSON.parse's document hides: the first of a duplicated key, a string deeper than a walk would go, a
      // body behind a byte order mark, one in the UTF-16 its charset names. An upstream's parser may read each
      // (Express's takes UTF-16 and skips a BOM); each is blocked.
      const deep = `${'['.repeat(40)}"<svg onload=alert(1)>"${']'.repeat(40)}`;
      const utf16 = ['application/json; charset=utf-16le', Buffer.from('{"q":"<script>alert(1)</script>"}', 'utf16le')];
      for (const [type, body] of [
        ...[
          '{"bio":"<script>alert(1)</script>","bio":"fine"}',
          deep,
          '\uFEFF{"q":"\' or 1=1--"}',
          // Not JSON to JSON.parse, read by lenient parsers: Python's (NaN), Json.NET's and JSON5's (single quotes,
          // comments, trailing commas). They went on uninspected as invalid JSON.
          '{"n": NaN, "q": "\' or 1=1--"}',
          "{'q': '<script>alert(1)</script>'}",
          '{"q": "<svg onload=alert(1)>" /* note */,}',
        ].map((b) => ['application/json', Buffer.from(b)]),
        utf16,
        // A charset the bytes are not in, or no decoder knows: a parser that ignores it (Go's) reads UTF-8.
        ['application/json; charset=utf-16le', Buffer.from('{"q":"<script>alert(1)</script>"}')],
        ['application/json; charset=x-unknown', Buffer.from('{"q":"<script>alert(1)</script>"}')],
        // ASP.NET Core reads text/json as JSON too.
        ['text/json', Buffer.from('{"q":"<script>alert(1)</script>"}')],
      ] as [string, Buffer][]) {
        const r = await post(gw.url, '/orders', body, { 'content-type': type, 'content-length': body.length });
        assert.equal(r.status, 403, body.toString());
      }

      // Not JSON: not read, streamed as before.
      assert.equal(
        (await post(gw.url, '/form', "q=' or 1=1--", { 'content-type': 'text/plain', 'content-length': 12 })).status,
        200,
      );
      // Larger than max_inspect_bytes: streamed uninspected and counted.
      const big = JSON.stringify({ pad: 'x'.repeat(5000), bio: '<script>alert(1)</script>' });
      const large = await post(gw.url, '/orders', big, {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(big),
      });
      assert.equal(large.status, 200);
      assert.equal(up.received.at(-1), sha256(big));
      // Chunked: read up to max_inspect_bytes like a declared length, so inspected and blocked; past the limit, sent
      // on uninspected from its first byte.
      const chunkedHead = { 'content-type': 'application/json', 'transfer-encoding': 'chunked' };
      assert.equal((await post(gw.url, '/orders', bad, chunkedHead)).status, 403);
      assert.equal((await post(gw.url, '/orders', big, chunkedHead)).status, 200);
      assert.equal(up.received.at(-1), sha256(big));
      // Invalid JSON: forwarded as it came, counted.
      assert.equal(
        (await post(gw.url, '/orders', '{"a": <script>', { 'content-type': 'application/json', 'content-length': 14 }))
          .status,
        200,
      );
      const bodies = (result: string) =>
        metric(gw, 'tollgate_guard_bodies_total', `service="api",type="json",result="${result}"`);
      assert.equal(await bodies('inspected'), 8);
      assert.equal(await bodies('too_large'), 2);
      assert.equal(await bodies('invalid_json'), 6);
      assert.equal(up.received.length, 5, 'everything but the blocked body reached the upstream');
    } finally {
      await gw.close();
      await up.close();
    }
  },
);

test('exclude_paths skips the guard for whole path segments only', async () => {
  const up = await startUpstream('up');
  const gw = await startGateway({
    services: [{ ...service('api', [up.url]), guard: { exclude_paths: ['/sql-console'] } }],
  });
  try {
    const q = '?q=%27%3B%20drop%20table%20users--';
    assert.equal((await send(gw.url, `/sql-console${q}`)).status, 200);
    assert.equal((await send(gw.url, `/sql-console/run${q}`)).status, 200);
    assert.equal((await send(gw.url, `/sql-consoles${q}`)).status, 403);
  } finally {
    await gw.close();
    await up.close();
  }
});

test(
  'log_only: a detection is logged (rate-limited) and ' + 'counted, and the request still reaches the upstream',
  async () => {
    const up = await startUpstream('up');
    const dir = tempDir();
    const file = writeYaml(dir, 'tollgate.yaml', {
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      events: { dir: join(dir, 'events') },
      log: { level: 'info' },
      services: [
        {
          name: 'api',
          routes: [{ name: 'r', paths: ['/'] }],
          upstream: { targets: [{ url: up.url }] },
          guard: { mode: 'log_only' },
        },
      ],
    });
    const gw = await startGatewayProcess(file).catch(async (err) => {
      await up.close();
      throw err;
    });
    try {
      for (let i = 0; i < 5; i++) {
        const res = await send(gw.proxyUrl, '/search?q=%3Csvg%2Fonload%3Dalert(1)%3E');
        assert.equal(res.status, 200, 'passed through');
      }
      assert.equal(up.seen.length, 5);
      assert.equal(await detections(gw, 'api', 'xss', 'logged'), 5);
      assert.equal(await metric(gw, 'tollgate_gateway_errors_total', 'code="GW_ERR_INJECTION_BLOCKED"'), 0);
      const line = await gw.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('injection guard'));
      assert.equal(line.level, 40, 'a warning');
      assert.equal(line.service, 'api');
      assert.equal(line.kind, 'xss');
      assert.equal(line.where, 'query');
      assert.equal(
        gw.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('injection guard')).length,
        1,
        'one line per second, not one per request',
      );
      // A request carrying both kinds is one detection (the first found: the path's XSS), not two.
      assert.equal((await send(gw.proxyUrl, '/x%3Cscript%3Ealert(1)%3C/script%3E?id=1%20or%201%3D1')).status, 200);
      assert.equal(await detections(gw, 'api', 'xss', 'logged'), 6);
      assert.equal(await detections(gw, 'api', 'sqli', 'logged'), 0);
    } finally {
      await gw.stop();
      await up.close();
    }
  },
);
