import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import { issue, makeCa } from '../../helpers/certs.ts';
import {
  NODE_BIN,
  startGatewayProcess,
  tempDir,
  writeYaml,
  type GatewayProcess,
} from '../../helpers/gateway-process.ts';
import { freePort } from '../../helpers/ports.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

// HTTP/2 conformance (h2spec, RFC 7540/9113 and HPACK cases, strict ones too) of the gateway's h2c and TLS
// listeners, beside a bare node:http2 server in the same run: the goal is no case Node passes and we fail.
// h2spec comes from its Go module (scripts/services.sh up h2spec).
const H2SPEC = process.env.TOLLGATE_TEST_H2SPEC;

const dir = tempDir('tollgate-h2spec-');
let upstream: TestUpstream;
let gw: GatewayProcess;
let bare: ReturnType<typeof spawn>;
const ports = { gwPlain: 0, gwTls: 0, barePlain: 0, bareTls: 0 };

before(async () => {
  if (!H2SPEC) return;
  const ca = makeCa(dir);
  const cert = issue(dir, ca, { cn: 'localhost', dns: ['localhost'], ips: ['127.0.0.1'] });
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  upstream = await startUpstream('up');
  const file = writeYaml(dir, 'tollgate.yaml', {
    workers: 1,
    proxy: { listen: '127.0.0.1:0' },
    admin: { listen: '127.0.0.1:0' },
    store: { dir: join(dir, 'store') },
    listeners: [
      { name: 'h2c', listen: `127.0.0.1:${ports.gwPlain}`, protocols: ['h2c'] },
      { name: 'tls', listen: `127.0.0.1:${ports.gwTls}`, protocols: ['h2'], tls: { certificates: [cert] } },
    ],
    services: [{ name: 'all', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  gw = await startGatewayProcess(file);
  const script = join(dir, 'bare.mjs');
  writeFileSync(
    script,
    `import http2 from 'node:http2';
import { readFileSync } from 'node:fs';
const handler = (req, res) => { req.resume(); req.on('end', () => res.end('ok')); };
http2.createServer(handler).listen(${ports.barePlain}, '127.0.0.1');
const tls = { cert: readFileSync(${JSON.stringify(cert.cert)}), key: readFileSync(${JSON.stringify(cert.key)}) };
http2.createSecureServer(tls, handler).listen(${ports.bareTls}, '127.0.0.1', () => console.log('up'));
`,
  );
  bare = spawn(NODE_BIN, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => bare.stdout!.once('data', r));
});
after(async () => {
  bare?.kill();
  await gw?.stop();
  await upstream?.close();
});

/** The cases h2spec failed (their section and title), and its summary line. */
async function h2spec(port: number, tls: boolean, strict: boolean): Promise<{ failed: Set<string>; summary: string }> {
  const report = join(dir, `h2spec-${port}-${strict}.xml`);
  const args = ['-h', '127.0.0.1', '-p', String(port), '-o', '1', '-j', report];
  if (tls) args.push('-t', '-k');
  if (strict) args.push('-S');
  // h2spec exits 1 when any case fails; the report says which.
  const out = await promisify(execFile)(H2SPEC!, args, { maxBuffer: 16 << 20 }).catch((e) => e);
  const summary = String(out.stdout).trim().split('\n').at(-1) ?? '';
  const failed = new Set<string>();
  const xml = readFileSync(report, 'latin1');
  for (const m of xml.matchAll(/<testcase package="([^"]+)" classname="([^"]+)"[^>]*>\s*<(failure|error)/g))
    failed.add(`${m[1]} ${m[2]}`);
  return { failed, summary };
}

for (const [mode, tls, strict] of [
  ['h2c', false, false],
  ['h2c, strict', false, true],
  ['TLS', true, false],
  ['TLS, strict', true, true],
] as const) {
  test(`h2spec (${mode}): every case a bare node:http2 server passes, the gateway passes`, {
    skip: !H2SPEC && 'needs h2spec (TOLLGATE_TEST_H2SPEC): npm run services:up',
  }, async (t) => {
    // At once: most of a run is h2spec waiting out its 1 s timeout on cases that expect no answer.
    const [node, ours] = await Promise.all([
      h2spec(tls ? ports.bareTls : ports.barePlain, tls, strict),
      h2spec(tls ? ports.gwTls : ports.gwPlain, tls, strict),
    ]);
    t.diagnostic(`node:http2: ${node.summary}`);
    t.diagnostic(`tollgate:   ${ours.summary}`);
    assert.ok(ours.summary.includes('passed'), ours.summary);
    assert.deepEqual(
      [...ours.failed].filter((c) => !node.failed.has(c)),
      [],
      'cases Node passes and the gateway fails',
    );
  });
}
