// How each competitor is started. Each start() resolves once the server answers 200 through to the upstream.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { onPath, spawnTracked, stopTracked, logExcerpt } from './procs.ts';
import { freePort, waitReady } from './ready.ts';
import { pinned, type Role } from './cpu-pin.ts';
import { createApp, getToken } from '../helpers/admin.ts';

export interface RunningServer {
  url: string;
  pid: number;
  stop(): Promise<void>;
  /** Sent with every request of the load (the secured variants' bearer token). */
  headers?: Record<string, string>;
  /** Tollgate's admin API. */
  adminUrl?: string;
}

export interface Competitor {
  name: string;
  /** Why it cannot run here, or undefined when it can. */
  unavailable(): string | undefined;
  start(upstreamOrigin: string, workDir: string): Promise<RunningServer>;
}

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const benchFile = (f: string) => join(repoRoot, 'test', 'bench', f);

/** Runs every server under a tool (instructions.ts: callgrind), which also slows its start. */
interface ServerWrapper {
  wrap(name: string, cmd: string, args: string[]): [string, string[]];
  readyTimeoutMs: number;
  /** A last edit of every Tollgate variant's config. */
  editTollgateConfig?(config: BenchConfig): void;
}
let serverWrapper: ServerWrapper | undefined;
export function wrapServers(wrapper: ServerWrapper): void {
  serverWrapper = wrapper;
}

async function launch(
  name: string,
  role: Role,
  cmd: string,
  args: string[],
  port: number,
  workDir: string,
  path = '/',
): Promise<RunningServer> {
  const logFile = join(workDir, `${name}.log`);
  const wrapped = role === 'server' && serverWrapper;
  const child = spawnTracked(...(wrapped ? wrapped.wrap(name, cmd, args) : pinned(role, cmd, args)), {
    logFile,
    cwd: repoRoot,
  });
  const url = `http://127.0.0.1:${port}${path}`;
  try {
    await waitReady(url, child, wrapped ? wrapped.readyTimeoutMs : undefined);
  } catch (err) {
    await stopTracked(child);
    throw new Error(`${name}: ${(err as Error).message}\n--- ${logFile} ---\n${logExcerpt(logFile)}`);
  }
  return { url, pid: child.pid as number, stop: () => stopTracked(child) };
}

function nodeServer(name: string, script: string): Competitor {
  return {
    name,
    unavailable: () => undefined,
    async start(upstreamOrigin, workDir) {
      const port = await freePort();
      return launch(name, 'server', process.execPath, [benchFile(script), String(port), upstreamOrigin], port, workDir);
    },
  };
}

/** The shared origin every proxy forwards to; it runs beside the load generator, not on the server CPU. */
export async function startUpstream(workDir: string): Promise<RunningServer & { secondOrigin: string }> {
  const port = await freePort();
  const second = await freePort();
  const server = await launch(
    'upstream',
    'support',
    process.execPath,
    [benchFile('upstream.ts'), String(port), String(second)],
    port,
    workDir,
  );
  secondOrigin = `http://127.0.0.1:${second}`;
  return { ...server, secondOrigin };
}

/** The upstream's second port: tollgate's config has two targets, as the example does. */
let secondOrigin = '';

/** The origin itself as a competitor: a second instance, measured on the server CPU like every proxy. */
const upstreamDirect: Competitor = {
  name: 'upstream',
  unavailable: () => undefined,
  async start(_upstreamOrigin, workDir) {
    const port = await freePort();
    return launch(
      'upstream-direct',
      'server',
      process.execPath,
      [benchFile('upstream.ts'), String(port)],
      port,
      workDir,
    );
  },
};

function nginxConf(dir: string, port: number, upstreamOrigin: string): string {
  return `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}/client_body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  upstream origin {
    server ${new URL(upstreamOrigin).host};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
`;
}

const nginx: Competitor = {
  name: 'nginx',
  unavailable: () => (onPath('nginx') ? undefined : 'not available (nginx not on PATH)'),
  async start(upstreamOrigin, workDir) {
    const dir = mkdtempSync(join(workDir, 'nginx-'));
    const port = await freePort();
    writeFileSync(join(dir, 'nginx.conf'), nginxConf(dir, port, upstreamOrigin));
    // -e: nginx opens its default error log before reading the config unless told otherwise.
    return launch(
      'nginx',
      'server',
      'nginx',
      ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'nginx-error.log')],
      port,
      workDir,
    );
  },
};

/** Rewrites a `host:port` listen value (or a {host, port} object) to the given port on 127.0.0.1. */
function listenOn(template: unknown, port: number): unknown {
  if (template !== null && typeof template === 'object') return { ...template, host: '127.0.0.1', port };
  return `127.0.0.1:${port}`;
}

// Tollgate runs as users run it: scripts/bin/tollgate (the build in dist/, with its heap settings); `npm run bench`
// builds first.
// BENCH_TOLLGATE_CLI benches another entry point (a checkout elsewhere) with the same config.
const tollgateCli = process.env.BENCH_TOLLGATE_CLI ?? join(repoRoot, 'scripts/bin/tollgate');
// BENCH_TOLLGATE_CLI_B adds `tollgate-b`: another build (or a wrapper setting other flags) with
// the `tollgate` config, to compare two builds in the same run (`--cpu-side-by-side`).
const tollgateCliB = process.env.BENCH_TOLLGATE_CLI_B;

/**
 * `tollgate`: the proxy alone (access events off). `tollgate+events`: the
 * default single-node setup, where every request also becomes an access event
 * in the embedded log and the in-process collector aggregates it.
 */
export const tollgateVariant = (
  name: string,
  events: Record<string, unknown>,
  needs?: () => string | undefined,
  edit?: (config: BenchConfig) => void,
  cli = tollgateCli,
): Competitor => ({
  name,
  unavailable: () => (existsSync(cli) ? needs?.() : `not available (${relative(repoRoot, cli)} missing)`),
  async start(upstreamOrigin, workDir) {
    const proxyPort = await freePort();
    const adminPort = await freePort();
    const config = parse(readFileSync(benchFile('tollgate.yaml'), 'utf8'));
    config.proxy.listen = listenOn(config.proxy.listen, proxyPort);
    config.admin.listen = listenOn(config.admin.listen, adminPort);
    const [first, second] = config.services[0].upstream.targets;
    config.services[0].upstream.targets = [
      { ...first, url: upstreamOrigin },
      { ...second, url: secondOrigin || upstreamOrigin },
    ];
    config.store = { dir: join(workDir, `${name}-store`) };
    config.events = { dir: join(workDir, `${name}-events`), ...events };
    edit?.(config);
    serverWrapper?.editTollgateConfig?.(config);
    const configFile = join(workDir, `${name}.yaml`);
    writeFileSync(configFile, stringify(config));
    const [cmd, args] = cli.endsWith('.ts') ? [join(repoRoot, 'node_modules/.bin/node'), [cli]] : [cli, []];
    // A secured /api/ refuses the readiness probe; those variants add an open /ready/ service.
    const readyPath = config.services.some((svc: { name: string }) => svc.name === 'ready') ? '/ready/' : '/api/';
    const server = await launch(name, 'server', cmd, [...args, '--config', configFile], proxyPort, workDir, readyPath);
    return { ...server, adminUrl: `http://127.0.0.1:${adminPort}` };
  },
});
const tollgate = tollgateVariant('tollgate', { sink: 'none' });
const tollgateB = tollgateCliB
  ? [tollgateVariant('tollgate-b', { sink: 'none' }, undefined, undefined, tollgateCliB)]
  : [];
// The security issue's bench: JWT auth, RBAC, an IP list and a QPS limit on the route (local, then in Redis).
const benchRedis = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6399';
const tollgateSecure = secured(
  tollgateVariant('tollgate+secure', { sink: 'none' }, undefined, (c) => secureConfig(c, 'local')),
);
const tollgateSecureRedis = secured(
  tollgateVariant(
    'tollgate+secure-redis',
    { sink: 'none' },
    () => (redisReachable ? undefined : `not available (no Redis at ${benchRedis}; npm run services:up)`),
    (c) => secureConfig(c, 'redis'),
  ),
);
const tollgateEvents = tollgateVariant('tollgate+events', { sink: 'embedded' });
// The cluster setup's emission cost: events to Kafka (npm run services:up starts one on 9192).
const kafkaBrokers = process.env.BENCH_KAFKA_BROKERS ?? '127.0.0.1:9192';
const tollgateKafka = tollgateVariant(
  'tollgate+kafka',
  { sink: 'kafka', kafka: { brokers: kafkaBrokers.split(','), topic: `tollgate-bench-${process.pid}` } },
  () => (kafkaReachable ? undefined : `not available (no Kafka on ${kafkaBrokers}; npm run services:up)`),
);

/** Checked once before the run (see probeKafka), so unavailable() can stay synchronous. */
let kafkaReachable = false;
let redisReachable = false;
export async function probeKafka(): Promise<void> {
  const [host, port] = kafkaBrokers.split(',')[0].split(':');
  kafkaReachable = await reachable(host, Number(port));
  const redis = new URL(benchRedis);
  redisReachable = await reachable(redis.hostname, Number(redis.port || 6379));
}

async function reachable(host: string, port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise<boolean>((resolve) => {
    const s = connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(1000, () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** The YAML document as parsed (the bench edits it freely). */
type BenchConfig = any;

/**
 * The bench service with every check of the security issue's target on its
 * route: a gateway-issued JWT, an RBAC grant, an IP allow list and a QPS
 * limit per client address set high enough never to refuse (what is measured
 * is the checking). A second, open service answers the readiness probe.
 */
function secureConfig(config: BenchConfig, backend: 'local' | 'redis'): void {
  const api = config.services[0];
  api.auth = { type: 'jwt' };
  api.rbac = { roles: { reader: [{ routes: ['*'], methods: ['GET'] }] } };
  api.acl = { allow: ['127.0.0.0/8', '::1'] };
  api.rate_limits = [
    { name: 'per-client', key: 'client_ip', qps: 1_000_000, burst: 1_000_000, backend, on_redis_error: 'open' },
  ];
  config.rate_limit = { redis_url: benchRedis, prefix: `tollgate-bench-${process.pid}:`, timeout_ms: 50 };
  config.tokens = { ttl_s: 3600 };
  config.services.push({
    name: 'ready',
    routes: [{ paths: ['/ready'], strip_prefix: true }],
    upstream: { targets: [{ url: api.upstream.targets[0].url }] },
  });
}

/** Starts a secured variant: readiness through /ready, then an app, its token, and the load on /api/ with it. */
function secured(c: Competitor): Competitor {
  return {
    ...c,
    async start(upstreamOrigin, workDir) {
      const server = await c.start(upstreamOrigin, workDir);
      try {
        const app = await createApp({ adminUrl: server.adminUrl! }, { name: 'bench', roles: ['reader'] });
        const proxy = new URL(server.url);
        const token = await getToken(proxy.origin, app.id, app.secret);
        const headers = { authorization: `Bearer ${token}` };
        const check = await fetch(new URL('/api/', proxy), { headers });
        if (check.status !== 200) throw new Error(`GET /api/ with the token: ${check.status} ${await check.text()}`);
        return { ...server, url: new URL('/api/', proxy).href, headers };
      } catch (err) {
        await server.stop();
        throw err;
      }
    },
  };
}

/** Every competitor, in the order they are measured. */
export const competitors: Competitor[] = [
  upstreamDirect,
  nodeServer('bare-undici', 'bare-undici.ts'),
  nodeServer('fastify-http-proxy', 'fastify-proxy.ts'),
  nginx,
  tollgate,
  ...tollgateB,
  tollgateEvents,
  tollgateKafka,
  tollgateSecure,
  tollgateSecureRedis,
];

export function findCompetitor(name: string): Competitor {
  const c = competitors.find((p) => p.name === name);
  if (!c) throw new Error(`no competitor ${name}`);
  return c;
}

export function newWorkDir(): string {
  return mkdtempSync(join(tmpdir(), 'tollgate-bench-'));
}
