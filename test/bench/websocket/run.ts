// `npm run bench -- --websocket`: WebSocket connections through Tollgate beside nginx and the echo server itself.
//   1. Idle connections: BENCH_WS_CONNECTIONS (default 10000, less when a proxy's two sockets per connection would
//      pass the open-file limit) opened and held; the time to open them and the RSS each adds to the server.
//   2. Echo: 50 connections each sending a message and waiting for its echo, at 64 B and 16 KB, BENCH_DURATION_S
//      (default 10) per measurement, BENCH_PROTOCOL_ROUNDS (default 3) alternating rounds; medians and ratios.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { pinned, pinningNote } from '../cpu-pin.ts';
import { installCleanup, onPath } from '../procs.ts';
import { treeRss } from '../proc-tree.ts';
import { freePort } from '../ready.ts';
import { median } from '../report.ts';
import { finishRun } from '../performance-doc.ts';
import { newWorkDir, repoRoot } from '../servers.ts';
import { type Running, startProcess } from '../protocols/tools.ts';

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const rounds = Number(process.env.BENCH_PROTOCOL_ROUNDS ?? 3);
/** The open-file limit every process here gets: a proxy holds two sockets per connection, and some to spare. */
const fileLimit = Number(execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim()) || 1024;
// A proxy holds two sockets per connection, and nginx counts them as two of its worker_connections: with 20,000
// open files it warned that they were not enough for 9,500 and reset connections. 45% of the limit leaves each
// proxy room for its listeners, logs and upstream checks.
const wanted = Number(process.env.BENCH_WS_CONNECTIONS ?? 10_000);
const idleConnections = Math.min(wanted, Math.floor(fileLimit * 0.45));
/**
 * Clients on HTTP/2 (RFC 8441) bring their WebSockets as streams of a few connections, STREAMS_PER_H2 each (under
 * the listener's max_concurrent_streams of 128): one socket per connection upstream and one per hundred towards the
 * clients, so one Tollgate process holds what the open-file limit keeps it from holding over HTTP/1.1.
 */
const STREAMS_PER_H2 = 100;
const h2Connections = Math.min(wanted, Math.floor(fileLimit * 0.9));
/**
 * RSS is read twice after the last connection opened: at 2 s, and once settled. A burst of handshakes grows a
 * Node server's young generation (what survives it is the connections' state), and V8 hands that space back only
 * when allocation has been low for a while; the settled reading is what an idle connection goes on costing.
 */
const settleS = Number(process.env.BENCH_WS_SETTLE_S ?? 30);
const node = join(repoRoot, 'node_modules/.bin/node');

interface Idle {
  openMs: number;
  /** RSS added per connection 2 s after the last one opened, and `settleS` after. */
  kbPerConnection: number;
  kbPerConnectionSettled: number;
}

export interface WebSocketResults {
  idle: Record<string, Idle>;
  /** The same through Tollgate with the clients on HTTP/2, h2Connections of them. */
  idleH2?: Idle & { connections: number };
  echo: Record<string, Record<string, number[]>>;
}

/** Runs clients.ts; resolves with its JSON line and the process (still running for `hold`). */
function clients(args: string[]): Promise<{ result: Record<string, number>; child: ChildProcess }> {
  const [cmd, argv] = pinned('support', node, ['test/bench/websocket/clients.ts', ...args]);
  const child = spawn(cmd, argv, { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', (line) => resolve({ result: JSON.parse(line), child }));
    child.once('exit', (code) => reject(new Error(`clients ${args.join(' ')} exited (${code})`)));
  });
}

async function idle(url: string, pid: number, n = idleConnections, h2 = false): Promise<Idle> {
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const before = treeRss(pid).totalBytes;
  const args = h2 ? ['hold-h2', url, String(n), String(STREAMS_PER_H2)] : ['hold', url, String(n)];
  const { result, child } = await clients(args);
  if (result.open !== n) throw new Error(`${url}: ${result.open} of ${n} opened`);
  const perConnectionKb = () => Math.round(((treeRss(pid).totalBytes - before) / n / 1024) * 10) / 10;
  await sleep(2000);
  const kbPerConnection = perConnectionKb();
  await sleep((settleS - 2) * 1000);
  const kbPerConnectionSettled = perConnectionKb();
  child.kill('SIGKILL');
  await sleep(2000); // their side of the connections closes
  return { openMs: result.openMs, kbPerConnection, kbPerConnectionSettled };
}

function nginxConfig(dir: string, port: number, echo: number): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`);
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections ${fileLimit}; }
http {
  access_log off;
  ${temp.join('\n  ')}
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${echo};
      proxy_http_version 1.1;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection "upgrade";
      proxy_read_timeout 3600s;
    }
  }
}
`;
}

export async function runWebSocket(): Promise<WebSocketResults | undefined> {
  if (!onPath('nginx')) {
    console.log('websocket bench skipped: needs nginx (npm run services:up)');
    return undefined;
  }
  installCleanup();
  const workDir = newWorkDir();
  const running: Running[] = [];
  const start = async (name: string, cmd: string, args: string[], port: number, role?: 'support') => {
    const r = await startProcess(name, cmd, args, [port], workDir, role);
    running.push(r);
    return r;
  };
  try {
    const echoPort = await freePort();
    const echo = await start('ws-echo', node, ['test/bench/websocket/echo-server.ts', String(echoPort)], echoPort);
    // One Tollgate with the HTTP/1.1 listener the clients use, and one of its own, started fresh, for the clients on
    // HTTP/2: RSS is read as the growth of a process, which the first's earlier connections would already have grown.
    const startTollgate = async (name: string, listeners: object[]) => {
      const port = await freePort();
      const dir = join(workDir, name);
      mkdirSync(dir, { recursive: true });
      const config = {
        workers: 1,
        proxy: { listen: `127.0.0.1:${port}`, max_connections: 0 },
        listeners,
        admin: { listen: `127.0.0.1:${await freePort()}` },
        store: { dir: join(dir, 'store') },
        events: { dir: join(dir, 'events') },
        services: [
          {
            name: 'echo',
            routes: [{ paths: ['/'] }],
            upstream: { targets: [{ url: `http://127.0.0.1:${echoPort}` }] },
          },
        ],
      };
      writeFileSync(join(dir, 'tollgate.yaml'), stringify(config));
      const bin = join(repoRoot, 'scripts/bin/tollgate');
      return { port, ...(await start(name, bin, ['--config', join(dir, 'tollgate.yaml')], port)) };
    };
    const tollgate = await startTollgate('tollgate', []);
    const tgPort = tollgate.port;
    const h2Port = await freePort();
    const tollgateH2 = await startTollgate('tollgate-h2', [
      { name: 'h2c', listen: `127.0.0.1:${h2Port}`, protocols: ['h2c'] },
    ]);
    const ngPort = await freePort();
    const ngDir = join(workDir, 'nginx');
    mkdirSync(ngDir, { recursive: true });
    writeFileSync(join(ngDir, 'nginx.conf'), nginxConfig(ngDir, ngPort, echoPort));
    const nginx = await start(
      'nginx',
      'nginx',
      ['-p', ngDir, '-c', join(ngDir, 'nginx.conf'), '-e', join(ngDir, 'error.log')],
      ngPort,
    );

    const targets: Record<string, { url: string; pid: number }> = {
      direct: { url: `ws://127.0.0.1:${echoPort}/`, pid: echo.pid },
      tollgate: { url: `ws://127.0.0.1:${tgPort}/`, pid: tollgate.pid },
      nginx: { url: `ws://127.0.0.1:${ngPort}/`, pid: nginx.pid },
    };
    const result: WebSocketResults = { idle: {}, echo: {} };
    for (const [name, t] of Object.entries(targets)) {
      console.log(`  ${idleConnections} idle connections: ${name} ...`);
      result.idle[name] = await idle(t.url, t.pid);
    }
    console.log(`  ${h2Connections} idle connections: tollgate, clients on HTTP/2 ...`);
    const h2 = await idle(`ws://127.0.0.1:${h2Port}/`, tollgateH2.pid, h2Connections, true);
    result.idleH2 = { ...h2, connections: h2Connections };
    for (const bytes of [64, 16384]) {
      const key = `${bytes} B`;
      result.echo[key] = Object.fromEntries(Object.keys(targets).map((n) => [n, [] as number[]]));
      for (let r = 0; r < rounds; r++) {
        for (let k = 0; k < 3; k++) {
          const name = Object.keys(targets)[(r + k) % 3];
          console.log(`  echo ${key}, round ${r + 1}: ${name} ...`);
          const { result: echoed } = await clients(['echo', targets[name].url, '50', String(bytes), String(durationS)]);
          result.echo[key][name].push(echoed.messagesPerS);
        }
      }
    }
    return result;
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

export function printWebSocket(r: WebSocketResults): void {
  console.log(
    `\nWebSocket: ${idleConnections} idle connections held (open-file limit ${fileLimit}; load on its own process, ` +
      `${pinningNote()})`,
  );
  console.log(
    `RSS per connection in KB (a proxy holds two sockets for one), 2 s and ${settleS} s after the last one opened`,
  );
  console.log('server     open all, ms   RSS/conn at 2 s   settled');
  const row = (name: string, i: Idle) =>
    console.log(
      `${name.padEnd(10)} ${String(i.openMs).padStart(12)}   ${i.kbPerConnection.toFixed(1).padStart(15)}` +
        `   ${(i.kbPerConnectionSettled ?? NaN).toFixed(1).padStart(7)}`,
    );
  for (const [name, i] of Object.entries(r.idle)) row(name, i);
  if (r.idleH2 !== undefined) {
    console.log(
      `${r.idleH2.connections} connections through tollgate with the clients on HTTP/2 (RFC 8441 extended CONNECT, ` +
        `${STREAMS_PER_H2} streams per h2c connection; HTTP/1.1 upstream, a socket each)`,
    );
    row('tollgate', r.idleH2);
  }
  console.log(`\nEcho round trips/s, 50 connections, ${rounds} alternating rounds of ${durationS} s, medians`);
  console.log('message   direct   tollgate    nginx   tollgate ÷ direct   tollgate ÷ nginx');
  for (const [size, by] of Object.entries(r.echo)) {
    const [d, t, n] = ['direct', 'tollgate', 'nginx'].map((name) => median(by[name]));
    console.log(
      `${size.padEnd(8)} ${String(d).padStart(7)} ${String(t).padStart(10)} ${String(n).padStart(8)}` +
        `   ${(t / d).toFixed(2).padStart(17)}   ${(t / n).toFixed(2).padStart(16)}`,
    );
  }
}

/** The `--websocket` command: run, print, keep the results, and write the docs section from a default run. */
export async function websocketCommand(): Promise<void> {
  const result = await runWebSocket();
  if (result) finishRun('--websocket', 'websocket-results', 'websocket-latest', result, () => printWebSocket(result));
}
