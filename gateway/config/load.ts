import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import Value from 'typebox/value';
import { Settings } from 'typebox/system';
import type { ConfigError } from '../control/types.ts';
import { ConfigSchema, type Config } from './schema.ts';
import { applyEnvOverrides } from './env.ts';
import { checkSemantics } from './semantics.ts';

// Report every bad field at once, not the first few (TypeBox stops at 8 by default).
Settings.Set({ maxErrors: 1000 });

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/** Parses YAML (or JSON) text into a raw object; syntax errors carry line numbers. */
export function parseConfigText(text: string): { ok: true; raw: Record<string, unknown> } | { ok: false; errors: ConfigError[] } {
  try {
    const raw = parseYaml(text, { maxAliasCount: 100 }) ?? {};
    if (typeof raw !== 'object' || Array.isArray(raw)) return { ok: false, errors: [{ path: '', message: 'the config must be a mapping' }] };
    return { ok: true, raw };
  } catch (err) {
    const e = err as YAMLParseError;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    return { ok: false, errors: [{ path: '', message: `YAML syntax error${where}: ${e.message.split('\n')[0]}` }] };
  }
}

function schemaErrors(value: unknown): ConfigError[] {
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(ConfigSchema, value)) {
    // TypeBox reports an unknown key twice (as `false` schema and as additionalProperties); keep one.
    if (e.keyword === 'boolean') continue;
    let path = e.instancePath;
    let message = e.message;
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperties: string[] }).additionalProperties;
      for (const key of extra) push(`${path}/${key}`, 'unknown field');
      continue;
    }
    if (e.keyword === 'anyOf') message = 'must be one of the allowed values';
    if (e.keyword === 'const') continue;
    if (e.keyword === 'pattern') message = `${message} (got ${JSON.stringify(valueAt(value, path))})`;
    push(path, message);
  }
  function push(path: string, message: string) {
    const key = `${path}\0${message}`;
    if (!seen.has(key)) { seen.add(key); out.push({ path, message }); }
  }
  return out;
}

function valueAt(root: unknown, pointer: string): unknown {
  let node: any = root;
  for (const part of pointer.split('/').slice(1)) node = node?.[part];
  return node;
}

/**
 * Validates a raw config: TOLLGATE_* overrides (on a copy; the raw config as
 * written is what history keeps), defaults, schema, then cross-field rules.
 */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): LoadResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, errors: [{ path: '', message: 'the config must be an object' }] };
  const copy = structuredClone(raw) as Record<string, unknown>;
  applyEnvOverrides(copy, env);
  const withDefaults = Value.Default(ConfigSchema, copy) as Config;
  const errors = schemaErrors(withDefaults);
  if (errors.length > 0) return { ok: false, errors };
  const semantic = checkSemantics(withDefaults);
  if (semantic.length > 0) return { ok: false, errors: semantic };
  return { ok: true, config: withDefaults };
}

/** Reads, parses and validates a config file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult & { raw?: Record<string, unknown>; text?: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }] };
  }
  const parsed = parseConfigText(text);
  if (!parsed.ok) return parsed;
  return { ...validateConfig(parsed.raw, env), raw: parsed.raw, text };
}
