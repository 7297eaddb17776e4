import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The pinned Node 24 (the system node cannot strip types). */
export const NODE_BIN = join(REPO_ROOT, 'node_modules/.bin/node');
/**
 * The gateway the process tests run. `npm test` builds first and points
 * TOLLGATE_TEST_CLI at the bundle (dist/bundle/cli.js), which is what users
 * run; a test file run on its own runs the sources.
 */
export const CLI = process.env.TOLLGATE_TEST_CLI
  ? resolve(REPO_ROOT, process.env.TOLLGATE_TEST_CLI)
  : join(REPO_ROOT, 'gateway/process/cli.ts');
/** The launcher users run (package.json bin): the bundle on the pinned Node. */
export const LAUNCHER = join(REPO_ROOT, 'scripts/bin/tollgate');

/**
 * The command line for `tollgate ARGS`: through the launcher when the bundle is
 * under test, else the sources on the pinned Node. With `nodeArgs` (flags Node
 * refuses in NODE_OPTIONS, such as --trace-opt) the pinned Node runs CLI itself.
 */
function tollgateCommand(args: string[], nodeArgs?: string[]): [string, string[]] {
  if (nodeArgs !== undefined) return [NODE_BIN, [...nodeArgs, CLI, ...args]];
  return CLI === join(REPO_ROOT, 'dist/bundle/cli.js') ? [LAUNCHER, args] : [NODE_BIN, [CLI, ...args]];
}

export const tempDir = (prefix = 'tollgate-op-') => mkdtempSync(join(tmpdir(), prefix));

/** Writes `config` as YAML to dir/name and returns the path. */
export function writeYaml(dir: string, name: string, config: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : stringify(config));
  return file;
}

/** True when nothing listens on 127.0.0.1:port. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** The child's environment: ours minus TOLLGATE_* settings and the test runner's context, plus `env`. */
function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('TOLLGATE_') || k.startsWith('NODE_TEST')) continue;
    out[k] = v;
  }
  // Every child gateway writes its access events to a directory of its own, never the repository's .data/.
  return { TOLLGATE_EVENTS_DIR: tempDir('tollgate-events-'), ...out, ...env };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tollgate ARGS` to completion (validate, schema, a start that must fail). */
export function runCli(args: string[], env: Record<string, string> = {}, timeoutMs = 15000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(...tollgateCommand(args), {
      cwd: REPO_ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
    });
    child.stderr.on('data', (c) => {
      stderr += c;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tollgate ${args.join(' ')} did not exit within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      // 'exit' can come before the pipes are drained.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

export interface GatewayProcess {
  child: ChildProcess;
  pid: number;
  /** Every JSON log line so far (pino, stdout). */
  logs: Record<string, any>[];
  stderr(): string;
  proxyUrl: string;
  adminUrl: string;
  /** Resolves with the first log line (past or future) matching `pred`. */
  waitForLog(pred: (line: Record<string, any>) => boolean, timeoutMs?: number): Promise<Record<string, any>>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM, then SIGKILL if it is still running after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const addressOf = (a: unknown): string | undefined => {
  if (typeof a === 'string') return a.replace(/^0\.0\.0\.0:/, '127.0.0.1:');
  if (a && typeof a === 'object' && 'port' in a) return `127.0.0.1:${(a as { port: number }).port}`;
  return undefined;
};

/**
 * Runs `tollgate --config FILE ARGS` as a child process and waits for its
 * "tollgate listening" log line (the config must log at info or lower), or,
 * with `listening` (the fixed addresses of a config that logs above info),
 * until its admin /readyz answers 200.
 */
export async function startGatewayProcess(
  file: string,
  opts: {
    env?: Record<string, string>;
    args?: string[];
    nodeArgs?: string[];
    startTimeoutMs?: number;
    listening?: { proxy: string; admin: string };
  } = {},
): Promise<GatewayProcess> {
  const child = spawn(...tollgateCommand(['--config', file, ...(opts.args ?? [])], opts.nodeArgs), {
    cwd: REPO_ROOT,
    env: childEnv(opts.env ?? {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, any>[] = [];
  const waiters: { pred: (l: Record<string, any>) => boolean; resolve: (l: Record<string, any>) => void }[] = [];
  let buffered = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => {
    buffered += c.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let parsed: Record<string, any>;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = { msg: line, raw: true };
      }
      logs.push(parsed);
      for (const w of [...waiters])
        if (w.pred(parsed)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(parsed);
        }
    }
  });
  child.stderr!.on('data', (c: Buffer) => {
    stderr += c;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.on('exit', (code, signal) => r({ code, signal })),
  );

  const waitForLog = (pred: (l: Record<string, any>) => boolean, timeoutMs = 10000) => {
    const hit = logs.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise<Record<string, any>>((resolve, reject) => {
      const w = {
        pred,
        resolve: (l: Record<string, any>) => {
          clearTimeout(t);
          resolve(l);
        },
      };
      const t = setTimeout(() => {
        waiters.splice(waiters.indexOf(w), 1);
        reject(
          new Error(
            `no matching log line within ${timeoutMs} ms; stderr:\n${stderr}\n` +
              `logs:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`,
          ),
        );
      }, timeoutMs);
      waiters.push(w);
      void exited.then(() => {
        if (waiters.includes(w)) {
          clearTimeout(t);
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`tollgate exited before the expected log line; stderr:\n${stderr}`));
        }
      });
    });
  };

  let listening: Record<string, any>;
  try {
    listening = opts.listening
      ? await waitForReady(
          `http://${opts.listening.admin}/readyz`,
          exited,
          opts.startTimeoutMs ?? 15000,
          () => stderr,
        ).then(() => opts.listening!)
      : await waitForLog((l) => l.msg === 'tollgate listening', opts.startTimeoutMs ?? 15000);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  const stop = async (timeoutMs = 10000) => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const r = await exited;
    clearTimeout(t);
    return r;
  };
  return {
    child,
    pid: child.pid!,
    logs,
    stderr: () => stderr,
    waitForLog,
    exited,
    stop,
    proxyUrl: `http://${addressOf(listening.proxy)}`,
    adminUrl: `http://${addressOf(listening.admin)}`,
  };
}

/** Polls `url` until it answers 200; rejects when the process exits first or `timeoutMs` passes. */
async function waitForReady(
  url: string,
  exited: Promise<unknown>,
  timeoutMs: number,
  stderr: () => string,
): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (gone) throw new Error(`tollgate exited before ${url} answered 200; stderr:\n${stderr()}`);
    const status = await fetch(url).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 200) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs} ms; stderr:\n${stderr()}`);
}

export { closedPort, freePort } from './ports.ts';
