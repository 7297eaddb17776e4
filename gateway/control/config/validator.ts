import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ConfigError } from '../types.ts';
import type { Config } from './schema.ts';
import schema from './tollgate.schema.json' with { type: 'json' };

/**
 * Validates against the published JSON Schema, which `npm run generate`
 * derives from the TypeBox schema in schema.ts (a test keeps them equal).
 * At run time only this JSON and ajv (which fastify loads anyway) are used:
 * TypeBox's runtime would cost ~20 MB of RSS for nothing.
 *
 * The compiled validator is ~5 MB of heap (ajv's generated code, the schema
 * it closes over and ajv's own codegen state) that only a config load or an
 * admin apply needs: it is compiled on first use and let go a minute after
 * the last one (command.ts lets it go at once after start-up), so an idle gateway
 * does not carry it (docs/performance.md). A compile takes ~0.1–0.2 s.
 */
const RELEASE_AFTER_MS = 60_000;
let compiled: ValidateFunction<Config> | undefined;
let releaseTimer: NodeJS.Timeout | undefined;

function validator(): ValidateFunction<Config> {
  // verbose: errors carry their schema, so an enum-like anyOf can name the allowed values.
  compiled ??= new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true }).compile<Config>(schema);
  if (releaseTimer) releaseTimer.refresh();
  else releaseTimer = setTimeout(releaseValidator, RELEASE_AFTER_MS).unref();
  return compiled;
}

/** Whether this thread holds the validator compiled: validating without it first takes ~0.1–0.25 s to compile it. */
export function validatorCompiled(): boolean {
  return compiled !== undefined;
}

/** Lets the compiled validator go now (command.ts, before the start-up GC); the next use compiles it again. */
export function releaseValidator(): void {
  compiled = undefined;
  clearTimeout(releaseTimer);
  releaseTimer = undefined;
}

export { schema as configJsonSchema };

function valueAt(root: unknown, pointer: string): unknown {
  let node: any = root;
  for (const part of pointer.split('/').slice(1)) node = node?.[part];
  return node;
}

function allowedValues(branches: unknown): string {
  const list = Array.isArray(branches) ? branches : [];
  const names = list.map((b: { const?: unknown; type?: string }) => (b.const !== undefined ? JSON.stringify(b.const) : `a ${b.type}`));
  return names.length ? `must be one of ${names.join(', ')}` : 'must be one of the allowed values';
}

/** Fills defaults in place and returns every schema error with its path. */
export function schemaErrors(value: unknown): ConfigError[] {
  const validate = validator();
  if (validate(value)) return [];
  const all = validate.errors ?? [];
  // An anyOf failure also reports each branch's failure at the same path; keep only the anyOf line.
  const anyOfPaths = new Set(all.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  const push = (path: string, message: string) => {
    const key = `${path}\0${message}`;
    if (!seen.has(key)) { seen.add(key); out.push({ path, message }); }
  };
  for (const e of all as ErrorObject[]) {
    const path = e.instancePath;
    if (e.keyword === 'additionalProperties') {
      // A map whose keys must match a pattern (header names) refuses a key, rather than an unknown field.
      const keys = Object.keys((e.parentSchema as { patternProperties?: object } | undefined)?.patternProperties ?? {});
      push(`${path}/${(e.params as { additionalProperty: string }).additionalProperty}`, keys.length ? `name must match pattern "${keys.join('" or "')}"` : 'unknown field');
    } else if (e.keyword === 'anyOf') {
      push(path, allowedValues(e.schema));
    } else if (anyOfPaths.has(path)) {
    } else if (e.keyword === 'pattern') {
      push(path, `${e.message} (got ${JSON.stringify(valueAt(value, path))})`);
    } else {
      push(path, e.message ?? e.keyword);
    }
  }
  return out;
}
