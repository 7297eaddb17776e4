// `npm run bench -- --tcp`: TCP streams through Tollgate beside a bare Node `net` pipe, HAProxy and nginx `stream`,
// each with one process (one thread), all on loopback.
//   1. Bulk: iperf3, one stream, BENCH_DURATION_S (default 10) per measurement, Gbit/s received: the client
//      sending (upload), then the server sending (download, iperf3 -R).
//   2. Short connections: 50 loops each connecting, sending 64 bytes, reading the echo and closing; connections/s,
//      and the CPU the server spent per connection (/proc): while every server keeps up with the load generator,
//      connections/s alone cannot tell which one needs less to do it.
// BENCH_PROTOCOL_ROUNDS (default 6, the fewest with an interval) alternating rounds; medians and ratios, the targets
// judged on each round's ratio (checks.ts: printRoundsTarget).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';
import { pinned, pinningNote } from '../cpu-pin.ts';
import { installCleanup, onPath } from '../procs.ts';
import { treeCpuUs } from '../proc-tree.ts';
import { freePort } from '../ready.ts';
import { printRoundsTarget } from '../checks.ts';
import { median } from '../report.ts';
import { finishRun } from '../performance-doc.ts';
import { newWorkDir, repoRoot } from '../servers.ts';
import { type Running, startProcess } from '../protocols/tools.ts';

const durationS = Number(process.env.BENCH_DURATION_S ?? 10);
const rounds = Number(process.env.BENCH_PROTOCOL_ROUNDS ?? 6);
const node = join(repoRoot, 'node_modules/.bin/node');
const STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';
const run = promisify(execFile);

export interface TcpResults {
  /** Gbit/s by server, one entry per round: the client sending, and (`download`) the server sending. */
  bulk: Record<string, number[]>;
  download?: Record<string, number[]>;
  /** Connections/s by server, one entry per round. */
  short: Record<string, number[]>;
  /** The server's CPU (its process tree) per short connection in µs, one entry per round. */
  shortCpuUs?: Record<string, number[]>;
}

/** What each server is reached at: its port in front of the iperf3 server, and in front of the echo server. */
interface Ports {
  bulk: number;
  short: number;
}

async function iperf(port: number, reverse = false): Promise<number> {
  const [cmd, args] = pinned('support', 'iperf3', [
    '-c',
    '127.0.0.1',
    '-p',
    String(port),
    '-t',
    String(durationS),
    '-J',
    ...(reverse ? ['-R'] : []),
  ]);
  const { stdout } = await run(cmd, args, { maxBuffer: 1 << 24 });
  return Math.round(JSON.parse(stdout).end.sum_received.bits_per_second / 1e7) / 100;
}

async function shortConnections(port: number, pid: number): Promise<{ perS: number; cpuUs: number }> {
  const [cmd, args] = pinned('support', node, ['test/bench/tcp/connections.ts', String(port), '50', String(durationS)]);
  const cpuBefore = treeCpuUs(pid);
  const { stdout } = await run(cmd, args, { cwd: repoRoot });
  const cpu = treeCpuUs(pid) - cpuBefore;
  const perS: number = JSON.parse(stdout).connectionsPerS;
  return { perS, cpuUs: Math.round((cpu / (perS * durationS)) * 10) / 10 };
}

function nginxConfig(dir: string, front: Ports, back: Ports): string {
  return `load_module ${STREAM_MODULE};
worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 9000; }
stream {
  server { listen 127.0.0.1:${front.bulk}; proxy_pass 127.0.0.1:${back.bulk}; }
  server { listen 127.0.0.1:${front.short}; proxy_pass 127.0.0.1:${back.short}; }
}
`;
}

function haproxyConfig(front: Ports, back: Ports): string {
  return `global
  nbthread 1
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen bulk
  bind 127.0.0.1:${front.bulk}
  server s 127.0.0.1:${back.bulk}
listen short
  bind 127.0.0.1:${front.short}
  server s 127.0.0.1:${back.short}
`;
}

export async function runTcp(): Promise<TcpResults | undefined> {
  const missing = ['iperf3', 'haproxy', 'nginx'].filter((t) => !onPath(t));
  if (missing.length > 0 || !existsSync(STREAM_MODULE)) {
    console.log(`tcp bench skipped: needs iperf3, haproxy, nginx and its stream module (npm run services:up)`);
    return undefined;
  }
  installCleanup();
  const workDir = newWorkDir();
  const running: Running[] = [];
  const start = async (name: string, cmd: string, args: string[], ports: number[], role?: 'support') => {
    const r = await startProcess(name, cmd, args, ports, workDir, role);
    running.push(r);
    return r;
  };
  const ports = async (): Promise<Ports> => ({ bulk: await freePort(), short: await freePort() });
  try {
    const back = await ports();
    await start('iperf3', 'iperf3', ['-s', '-p', String(back.bulk)], [back.bulk], 'support');
    const echo = await start(
      'echo',
      node,
      ['test/bench/tcp/echo-server.ts', String(back.short)],
      [back.short],
      'support',
    );

    const pipe = await ports();
    const pipes: Running[] = [];
    for (const kind of ['bulk', 'short'] as const)
      pipes.push(
        await start(
          `node-pipe-${kind}`,
          node,
          ['test/bench/tcp/node-pipe.ts', String(pipe[kind]), String(back[kind])],
          [pipe[kind]],
        ),
      );

    const tg = await ports();
    const tgDir = join(workDir, 'tollgate');
    mkdirSync(tgDir, { recursive: true });
    const stream = (name: string, port: number, target: number) => ({
      name,
      listen: `127.0.0.1:${port}`,
      upstream: { targets: [{ url: `tcp://127.0.0.1:${target}` }] },
    });
    const config = {
      workers: 1,
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: `127.0.0.1:${await freePort()}` },
      store: { dir: join(tgDir, 'store') },
      events: { dir: join(tgDir, 'events') },
      streams: [stream('bulk', tg.bulk, back.bulk), stream('short', tg.short, back.short)],
    };
    writeFileSync(join(tgDir, 'tollgate.yaml'), stringify(config));
    const tollgate = await start(
      'tollgate',
      join(repoRoot, 'scripts/bin/tollgate'),
      ['--config', join(tgDir, 'tollgate.yaml')],
      [tg.bulk, tg.short],
    );

    const hp = await ports();
    writeFileSync(join(workDir, 'haproxy.cfg'), haproxyConfig(hp, back));
    const haproxy = await start('haproxy', 'haproxy', ['-db', '-f', join(workDir, 'haproxy.cfg')], [hp.bulk, hp.short]);

    const ng = await ports();
    const ngDir = join(workDir, 'nginx');
    mkdirSync(ngDir, { recursive: true });
    writeFileSync(join(ngDir, 'nginx.conf'), nginxConfig(ngDir, ng, back));
    const nginx = await start(
      'nginx',
      'nginx',
      ['-p', ngDir, '-c', join(ngDir, 'nginx.conf'), '-e', join(ngDir, 'error.log')],
      [ng.bulk, ng.short],
    );

    const servers: Record<string, Ports> = { direct: back, 'node pipe': pipe, tollgate: tg, haproxy: hp, nginx: ng };
    const pids: Record<string, number> = {
      direct: echo.pid,
      'node pipe': pipes[1]!.pid,
      tollgate: tollgate.pid,
      haproxy: haproxy.pid,
      nginx: nginx.pid,
    };
    const names = Object.keys(servers);
    const result: Required<TcpResults> = { bulk: {}, download: {}, short: {}, shortCpuUs: {} };
    for (const n of names) {
      result.bulk[n] = [];
      result.download[n] = [];
      result.short[n] = [];
      result.shortCpuUs[n] = [];
    }
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < names.length; k++) {
        const name = names[(r + k) % names.length]!;
        console.log(`  round ${r + 1}: ${name} ...`);
        result.bulk[name]!.push(await iperf(servers[name]!.bulk));
        result.download[name]!.push(await iperf(servers[name]!.bulk, true));
        const short = await shortConnections(servers[name]!.short, pids[name]!);
        result.short[name]!.push(short.perS);
        result.shortCpuUs[name]!.push(short.cpuUs);
      }
    }
    return result;
  } finally {
    for (const r of running.reverse()) await r.stop();
  }
}

export function printTcp(r: TcpResults): void {
  console.log(
    `\nTCP streams, one process each, ${rounds} alternating rounds of ${durationS} s, medians (${pinningNote()})`,
  );
  // Results kept from before the download measurement have none.
  const download = (name: string) => (r.download ? median(r.download[name]!) : Number.NaN);
  // Results kept from before the CPU was read have none.
  const cpuUs = (name: string) => (r.shortCpuUs ? median(r.shortCpuUs[name]!) : Number.NaN);
  console.log('server       iperf3 Gbit/s: upload   download   short connections/s   CPU µs each');
  for (const name of Object.keys(r.bulk)) {
    const bulk = median(r.bulk[name]!).toFixed(2);
    console.log(
      `${name.padEnd(12)} ${bulk.padStart(21)}   ${download(name).toFixed(2).padStart(8)}` +
        `   ${String(median(r.short[name]!)).padStart(19)}   ${cpuUs(name).toFixed(1).padStart(11)}`,
    );
  }
  const t = { bulk: median(r.bulk.tollgate!), download: download('tollgate'), short: median(r.short.tollgate!) };
  console.log('\ntollgate ÷     upload   download   short connections');
  for (const name of ['node pipe', 'haproxy', 'nginx'])
    console.log(
      `${name.padEnd(12)} ${(t.bulk / median(r.bulk[name]!)).toFixed(2).padStart(8)}` +
        `   ${(t.download / download(name)).toFixed(2).padStart(8)}` +
        `   ${(t.short / median(r.short[name]!)).toFixed(2).padStart(17)}`,
    );
  // The targets: at least the bare Node pipe, each round's Tollgate figure over the same round's pipe figure.
  printRoundsTarget('upload, tollgate ÷ node pipe', r.bulk.tollgate!, r.bulk['node pipe']!, 1);
  if (r.download)
    printRoundsTarget('download, tollgate ÷ node pipe', r.download.tollgate!, r.download['node pipe']!, 1);
  printRoundsTarget('short connections, tollgate ÷ node pipe', r.short.tollgate!, r.short['node pipe']!, 1);
  console.log(
    `CPU per short connection, tollgate ÷ node pipe: ${(cpuUs('tollgate') / cpuUs('node pipe')).toFixed(2)} ` +
      `(above 1: tollgate spends more on one)`,
  );
}

/** The `--tcp` command: run, print, keep the results, and write the docs section from a default run. */
export async function tcpCommand(): Promise<void> {
  const result = await runTcp();
  if (result) finishRun('--tcp', 'tcp-results', 'tcp-latest', result, () => printTcp(result));
}
