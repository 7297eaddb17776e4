// The gateway's commands; cli.ts (the process entry) loads this module.
import { releaseMemory } from './memory.ts';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../control/config/load.ts';
import { workerCount } from '../control/config/worker-count.ts';
import { unknownEnvVariables } from '../control/config/env.ts';
import { splitListen } from '../../shared/listen.ts';
import { configJsonSchema } from '../control/config/validator.ts';
import { createLogger } from '../log.ts';
import { isClusterWorker, runWorker, startPrimary } from './cluster.ts';
import { startSingle, type RunningGateway } from './single.ts';
import { startDemoUpstream } from './demo/upstream.ts';

const USAGE = `Usage:
  tollgate [--config FILE] [--demo]     run the gateway (and, single node, its collector)
  tollgate validate --config FILE       check a config; prints every error with its path, exits 1 if invalid
  tollgate schema                       print the config's JSON Schema

  --config FILE   config file (default $TOLLGATE_CONFIG or ./tollgate.yaml)
  --demo          also start a demo upstream on every loopback static target (quick start)
Every deploy-time setting can be overridden with TOLLGATE_<PATH>, e.g. TOLLGATE_PROXY_LISTEN.`;

async function main(): Promise<number> {
  if (isClusterWorker()) {
    runWorker(createLogger(process.env.TOLLGATE_LOG_LEVEL ?? 'info', { role: 'worker' }));
    return -1;
  }
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      demo: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const command = positionals[0] ?? 'run';
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (command === 'schema') {
    console.log(JSON.stringify(configJsonSchema, null, 2));
    return 0;
  }
  if (command !== 'run' && command !== 'validate') {
    console.error(`unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }

  const file = resolve(values.config ?? process.env.TOLLGATE_CONFIG ?? 'tollgate.yaml');
  // Relative paths in the config are taken from this file's directory, in every thread and worker (base-dir.ts).
  process.env.TOLLGATE_CONFIG = file;
  const loaded = loadConfigFile(file);
  if (!loaded.ok) {
    console.error(`${file}: invalid config`);
    for (const e of loaded.errors) console.error(`  ${e.path || '(root)'}: ${e.message}`);
    return 1;
  }
  const unknownEnv = unknownEnvVariables();
  if (command === 'validate') {
    if (unknownEnv.length) console.error(`warning: ${unknownEnv.join(', ')} set nothing (no such setting); ignored`);
    console.log(`${file}: valid`);
    return 0;
  }

  const config = loaded.config;
  const log = createLogger(config.log.level, { role: 'gateway' });
  if (unknownEnv.length)
    log.warn({ variables: unknownEnv }, 'TOLLGATE_* variables that set nothing (no such setting) are ignored');
  if (values.demo) {
    for (const svc of config.services) {
      for (const t of svc.upstream.targets) {
        const u = new URL(t.url);
        if (!/^(127\.|localhost$)/.test(u.hostname)) continue;
        await startDemoUpstream(u.hostname, Number(u.port || 80)).then(
          () => log.info({ target: t.url }, 'demo upstream listening'),
          (err) => log.warn({ target: t.url, err: err.message }, 'demo upstream not started'),
        );
      }
    }
  }
  const workers = workerCount(config);
  const input = { file, raw: loaded.raw!, text: loaded.text!, config };
  let gw: RunningGateway;
  try {
    gw = workers > 1 ? await startPrimary(input, workers, log) : await startSingle(input, log);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    log.fatal({ err: e.message, code: e.code }, 'tollgate failed to start');
    log.flush();
    const ports = `${splitListen(config.proxy.listen).port} or ${splitListen(config.admin.listen).port}`;
    console.error(
      `tollgate failed to start: ${e.message}${e.code === 'EADDRINUSE' ? ` (is another process on ${ports}?)` : ''}`,
    );
    // What the start opened is closed, but nothing may keep a failed start alive (a client still reconnecting,
    // a worker).
    process.exit(1);
  }
  // Start-up grew V8's young generation to its largest size (~20 MB stayed committed while idle).
  releaseMemory();
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    log.info({ signal }, 'shutting down: draining in-flight requests');
    gw.close().then(
      () => {
        log.info('stopped');
        log.flush();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return -1;
}

main().then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (err) => {
    console.error(err);
    process.exitCode = 1;
  },
);
