// `npm run bench -- --protocols`: HTTPS, HTTP/2 and gRPC through Tollgate beside nginx, a bare node:http2
// proxy and the servers themselves, in alternating rounds on loopback, printed as medians and ratios; the two targets
// are judged on their round-by-round ratios, as the main bench's are (checks.ts: judgeRounds).
// BENCH_DURATION_S (default 10) per measurement, BENCH_PROTOCOL_ROUNDS (default 6, the fewest with an interval).
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { issue, makeCa } from '../../helpers/certs.ts';
import { pinningNote } from '../cpu-pin.ts';
import { runPeak } from '../load.ts';
import { installCleanup } from '../procs.ts';
import { freePort } from '../ready.ts';
import { printRoundsTarget } from '../checks.ts';
import { median } from '../report.ts';
import { finishRun } from '../performance-doc.ts';
import { newWorkDir, repoRoot, startUpstream } from '../servers.ts';
import { ghz, type GhzResult, h2load, missingTools, type Running, startProcess } from './tools.ts';

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const rounds = Number(process.env.BENCH_PROTOCOL_ROUNDS ?? 6);
const concurrency = 50;
const node = join(repoRoot, 'node_modules/.bin/node');

interface Ports {
  plain: number;
  tls: number;
  h2c: number;
}

/** Every measurement of one run, for the printout. */
export interface ProtocolResults {
  grpcPeak: Record<string, GhzResult[]>;
  grpcHalf: { rateRps: number; byName: Record<string, GhzResult> };
  https: Record<string, number[]>;
  handshakes: Record<string, number[]>;
  h2: Record<string, number[]>;
}

function tollgateConfig(dir: string, ports: Ports, admin: number, origin: string, echo: number, cert: object) {
  return {
    workers: 1,
    proxy: { listen: `127.0.0.1:${ports.plain}` },
    admin: { listen: `127.0.0.1:${admin}` },
    store: { dir: join(dir, 'store') },
    events: { dir: join(dir, 'events') },
    listeners: [
      { name: 'tls', listen: `127.0.0.1:${ports.tls}`, protocols: ['h2', 'http/1.1'], tls: { certificates: [cert] } },
      { name: 'internal', listen: `127.0.0.1:${ports.h2c}`, protocols: ['h2c'] },
    ],
    services: [
      { name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: origin }] } },
      {
        name: 'greeter',
        routes: [{ paths: ['/helloworld.Greeter/'] }],
        upstream: { protocol: 'h2c', targets: [{ url: `http://127.0.0.1:${echo}` }] },
      },
    ],
  };
}

function nginxConfig(dir: string, ports: Ports, origin: string, echo: number, cert: { cert: string; key: string }) {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`);
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  # nginx closes a client connection after 1000 requests by default (HTTP/2 included, with a GOAWAY that
  # ghz and h2load do not reconnect after); Tollgate sets no such cap, so neither does its peer here.
  keepalive_requests 10000000;
  ${temp.join('\n  ')}
  upstream origin { server ${new URL(origin).host}; keepalive 64; keepalive_requests 10000000; }
  upstream echo { server 127.0.0.1:${echo}; keepalive 64; keepalive_requests 10000000; }
  server {
    listen 127.0.0.1:${ports.plain};
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${ports.tls} ssl http2;
    ssl_certificate ${cert.cert};
    ssl_certificate_key ${cert.key};
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; }
  }
  server {
    listen 127.0.0.1:${ports.h2c} http2;
    location / { grpc_pass grpc://echo; }
  }
}
`;
}

const ports = async (): Promise<Ports> => ({ plain: await freePort(), tls: await freePort(), h2c: await freePort() });

/** Runs `measure` for each name in turn, the order rotated every round, `rounds` times. */
async function alternate<T>(names: string[], measure: (name: string) => Promise<T>): Promise<Record<string, T[]>> {
  const out: Record<string, T[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(r + k) % names.length];
      out[name].push(await measure(name));
    }
  }
  return out;
}

export async function runProtocols(): Promise<ProtocolResults | undefined> {
  const missing = missingTools();
  if (missing) {
    console.log(`protocols bench skipped: ${missing}`);
    return undefined;
  }
  installCleanup();
  const workDir = newWorkDir();
  const certDir = join(workDir, 'certs');
  const cert = issue(certDir, makeCa(certDir), { cn: 'bench.test', dns: ['bench.test', 'localhost'] });
  const running: Running[] = [];
  try {
    const upstream = await startUpstream(workDir);
    const origin = new URL(upstream.url).origin;
    running.push({ name: 'upstream', pid: upstream.pid, stop: upstream.stop });
    const echo = await freePort();
    running.push(
      await startProcess(
        'grpc-echo',
        node,
        ['gateway/examples/grpc/server.ts', String(echo)],
        [echo],
        workDir,
        'support',
      ),
    );

    const tg = await ports();
    const tgDir = join(workDir, 'tollgate');
    mkdirSync(tgDir, { recursive: true });
    writeFileSync(
      join(tgDir, 'tollgate.yaml'),
      stringify(tollgateConfig(tgDir, tg, await freePort(), origin, echo, cert)),
    );
    const tollgateCli = join(repoRoot, 'scripts/bin/tollgate');
    running.push(
      await startProcess(
        'tollgate',
        tollgateCli,
        ['--config', join(tgDir, 'tollgate.yaml')],
        [tg.plain, tg.tls, tg.h2c],
        workDir,
      ),
    );

    const ng = await ports();
    const ngDir = join(workDir, 'nginx');
    mkdirSync(ngDir, { recursive: true });
    writeFileSync(join(ngDir, 'nginx.conf'), nginxConfig(ngDir, ng, origin, echo, cert));
    const nginxArgs = ['-p', ngDir, '-c', join(ngDir, 'nginx.conf'), '-e', join(ngDir, 'error.log')];
    running.push(await startProcess('nginx', 'nginx', nginxArgs, [ng.plain, ng.tls, ng.h2c], workDir));

    const bare = await freePort();
    const bareArgs = ['test/bench/protocols/bare-h2-proxy.ts', String(bare), String(echo)];
    running.push(await startProcess('bare-h2-proxy', node, bareArgs, [bare], workDir));
    const compat = await freePort();
    const compatArgs = ['test/bench/protocols/bare-h2-proxy.ts', String(compat), String(echo), 'compat'];
    running.push(await startProcess('bare-h2 compat', node, compatArgs, [compat], workDir));

    const grpcPorts: Record<string, number> = {
      direct: echo,
      'bare-h2-proxy': bare,
      'bare-h2 compat': compat,
      'nginx grpc_pass': ng.h2c,
      tollgate: tg.h2c,
    };
    const grpcNames = Object.keys(grpcPorts);
    console.log(`  gRPC: warming up, then ${rounds} rounds of ${grpcNames.length} × ${durationS} s ...`);
    for (const name of grpcNames) await ghz(grpcPorts[name], 2, concurrency);
    const grpcPeak = await alternate(grpcNames, (n) => ghz(grpcPorts[n], durationS, concurrency));
    const rateRps = median(grpcPeak.tollgate.map((r) => r.rps)) / 2;
    const half: Record<string, GhzResult> = {};
    for (const n of grpcNames) half[n] = await ghz(grpcPorts[n], durationS, concurrency, rateRps);

    const web: Record<string, string> = {
      'tollgate http': `http://127.0.0.1:${tg.plain}/`,
      'tollgate https': `https://127.0.0.1:${tg.tls}/`,
      'nginx https': `https://127.0.0.1:${ng.tls}/`,
    };
    console.log(`  HTTPS keep-alive and new connections: ${rounds} rounds ...`);
    for (const url of Object.values(web)) await runPeak(url, 2, concurrency);
    const https = await alternate(Object.keys(web), async (n) => (await runPeak(web[n], durationS, concurrency)).rps);
    const close = { connection: 'close' };
    const handshakeNames = ['tollgate https', 'nginx https'];
    const handshakes = await alternate(
      handshakeNames,
      async (n) => (await runPeak(web[n], durationS, concurrency, close)).rps,
    );

    console.log(`  HTTP/2 (h2load, 10 connections × 10 streams): ${rounds} rounds ...`);
    const h2Urls: Record<string, string> = { tollgate: web['tollgate https'], nginx: web['nginx https'] };
    for (const url of Object.values(h2Urls)) await h2load(url, 2, 10, 10);
    const h2 = await alternate(Object.keys(h2Urls), async (n) => (await h2load(h2Urls[n], durationS, 10, 10)).rps);
    return { grpcPeak, grpcHalf: { rateRps, byName: half }, https, handshakes, h2 };
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => (b > 0 ? (a / b).toFixed(2) : '—');

export function printProtocols(r: ProtocolResults): void {
  console.log(
    `\nProtocols, ${cpus().length} CPUs, node ${process.version}, ${pinningNote()}; ${rounds} alternating rounds of ` +
      `${durationS} s, medians. gRPC: ghz unary SayHello, ${concurrency} concurrent on one connection, grpc-js server.`,
  );
  const grpc = Object.entries(r.grpcPeak).map(([name, rs]) => ({
    name,
    rps: median(rs.map((x) => x.rps)),
    p99: median(rs.map((x) => x.p99Ms)),
    failed: rs.reduce((n, x) => n + x.failed, 0),
    half: r.grpcHalf.byName[name],
  }));
  const tg = grpc.find((g) => g.name === 'tollgate')!;
  console.log(
    `\ngRPC unary          calls/s   p99 peak   p99 at ${fmt(r.grpcHalf.rateRps)}/s   failed   tollgate ÷ it`,
  );
  for (const g of grpc) {
    console.log(
      `  ${g.name.padEnd(17)}${fmt(g.rps).padStart(8)}${g.p99.toFixed(1).padStart(9)} ms` +
        `${g.half.p99Ms.toFixed(1).padStart(13)} ms` +
        `${String(g.failed + g.half.failed).padStart(9)}${ratio(tg.rps, g.rps).padStart(16)}`,
    );
  }
  const rps = (rounds: GhzResult[]) => rounds.map((g) => g.rps);
  printRoundsTarget('tollgate ÷ bare-h2-proxy', rps(r.grpcPeak.tollgate), rps(r.grpcPeak['bare-h2-proxy']), 1);

  const https = Object.fromEntries(Object.entries(r.https).map(([n, v]) => [n, median(v)]));
  console.log('\nHTTP/1.1 keep-alive (wrk, 50 connections)   req/s');
  for (const [n, v] of Object.entries(https)) console.log(`  ${n.padEnd(42)}${fmt(v).padStart(8)}`);
  printRoundsTarget('tollgate https ÷ tollgate http', r.https['tollgate https'], r.https['tollgate http'], 0.85);
  console.log(`  tollgate https ÷ nginx https: ${ratio(https['tollgate https'], https['nginx https'])}`);

  const hs = Object.fromEntries(Object.entries(r.handshakes).map(([n, v]) => [n, median(v)]));
  console.log('\nNew TLS connections (wrk, Connection: close: a full handshake and one request each)   per s');
  for (const [n, v] of Object.entries(hs)) console.log(`  ${n.padEnd(42)}${fmt(v).padStart(8)}`);
  console.log(`  tollgate ÷ nginx: ${ratio(hs['tollgate https'], hs['nginx https'])}`);

  const h2 = Object.fromEntries(Object.entries(r.h2).map(([n, v]) => [n, median(v)]));
  console.log('\nHTTP/2 over TLS (h2load, 10 connections × 10 streams)   req/s');
  for (const [n, v] of Object.entries(h2)) console.log(`  ${n.padEnd(42)}${fmt(v).padStart(8)}`);
  console.log(
    `  tollgate ÷ nginx: ${ratio(h2.tollgate, h2.nginx)}; ` +
      `tollgate h2 ÷ tollgate HTTP/1.1 over TLS: ${ratio(h2.tollgate, https['tollgate https'])}`,
  );
}

/** The `--protocols` command: run, print, keep the results, and write the docs section from a default run. */
export async function protocolsCommand(): Promise<void> {
  const result = await runProtocols();
  if (result) finishRun('--protocols', 'protocol-results', 'protocols-latest', result, () => printProtocols(result));
}
