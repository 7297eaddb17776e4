import { configJsonSchema } from './validator.ts';

/**
 * Deploy-time settings (everything outside `services`) can be overridden by
 * `TOLLGATE_<PATH>` variables: `proxy.listen` → `TOLLGATE_PROXY_LISTEN`,
 * `proxy.max_body_bytes` → `TOLLGATE_PROXY_MAX_BODY_BYTES`.
 */
export interface EnvSetting {
  env: string;
  path: string[];
  schema: { description?: string; default?: unknown };
}

/** `schema`: the published JSON Schema unless given (the docs pass the TypeBox one, which `npm run generate`
 * publishes). */
export function envSettings(schema: object = configJsonSchema): EnvSetting[] {
  const out: EnvSetting[] = [];
  const walk = (schema: any, path: string[]) => {
    if (schema.type === 'object' && schema.properties) {
      for (const [key, sub] of Object.entries<any>(schema.properties)) {
        if (path.length === 0 && key === 'services') continue;
        walk(sub, [...path, key]);
      }
      return;
    }
    out.push({ env: `TOLLGATE_${path.join('_').toUpperCase()}`, path, schema });
  };
  walk(schema, []);
  return out;
}

function coerce(schema: any, text: string): unknown {
  const types = new Set<string>();
  const collect = (s: any) => {
    if (s.anyOf) s.anyOf.forEach(collect);
    else if (s.const !== undefined) types.add(typeof s.const);
    else if (s.type) types.add(s.type);
  };
  collect(schema);
  if ((types.has('integer') || types.has('number')) && /^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  if (types.has('boolean') && (text === 'true' || text === 'false')) return text === 'true';
  // Lists (Kafka brokers) are comma-separated: TOLLGATE_EVENTS_KAFKA_BROKERS=kafka-1:9092,kafka-2:9092
  if (types.has('array'))
    return text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return text;
}

/** Applies TOLLGATE_* overrides to a raw config in place; returns the settings applied. */
export function applyEnvOverrides(raw: Record<string, any>, env: NodeJS.ProcessEnv = process.env): EnvSetting[] {
  const applied: EnvSetting[] = [];
  for (const s of envSettings()) {
    const text = env[s.env];
    if (text === undefined || text === '') continue;
    let node = raw;
    for (const key of s.path.slice(0, -1)) {
      if (node[key] === undefined || node[key] === null || typeof node[key] !== 'object') node[key] = {};
      node = node[key];
    }
    node[s.path[s.path.length - 1]] = coerce(s.schema, text);
    applied.push(s);
  }
  return applied;
}

/**
 * TOLLGATE_* variables the processes read besides the config overrides: the
 * config file, the cluster's own, the collector's and the tests'.
 */
const RUNTIME_VARIABLES = new Set([
  'TOLLGATE_CONFIG',
  'TOLLGATE_CLUSTER_WORKER',
  'TOLLGATE_WORKER_INDEX',
  'TOLLGATE_CLICKHOUSE_URL',
  'TOLLGATE_CLICKHOUSE_DATABASE',
  'TOLLGATE_CLICKHOUSE_RETENTION_DAYS',
  'TOLLGATE_KAFKA_BROKERS',
  'TOLLGATE_REDIS_URL',
  'TOLLGATE_REDIS_PREFIX',
  'TOLLGATE_COLLECTOR_CLIENT_ID',
  'TOLLGATE_COLLECTOR_GROUP',
  'TOLLGATE_COLLECTOR_METRICS_LISTEN',
  'TOLLGATE_COLLECTOR_TOPIC',
]);

/**
 * TOLLGATE_* variables that set nothing (a misspelt override is otherwise silently ignored). The test and bench
 * ones that `npm run services:up` prints (TOLLGATE_TEST_*, TOLLGATE_BENCH_*) are not the gateway's to warn about.
 */
export function unknownEnvVariables(env: NodeJS.ProcessEnv = process.env): string[] {
  const known = new Set(envSettings().map((s) => s.env));
  return Object.keys(env)
    .filter(
      (name) =>
        name.startsWith('TOLLGATE_') &&
        !known.has(name) &&
        !RUNTIME_VARIABLES.has(name) &&
        !name.startsWith('TOLLGATE_TEST_') &&
        !name.startsWith('TOLLGATE_BENCH_'),
    )
    .sort();
}
