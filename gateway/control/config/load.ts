import { readFileSync } from 'node:fs';
import { parse as parseYaml, type YAMLParseError } from 'yaml';
import type { ConfigError } from '../types.ts';
import type { Config } from './schema.ts';
import { schemaErrors } from './validator.ts';
import { applyEnvOverrides, type EnvSetting } from './env.ts';
import { checkSemantics } from './semantics.ts';

export type LoadResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

/**
 * Parses YAML (or JSON) text into a raw object; syntax errors carry line
 * numbers. Text with no document (empty, blank, only comments, a bare `---`
 * or `null`) is refused: it is far more often a file caught half-written or
 * truncated by mistake than a wish to serve nothing, and applying it would
 * drop every route. An explicit `{}` is still an (all-defaults) config.
 */
export function parseConfigText(
  text: string,
  source = 'the config',
): { ok: true; raw: Record<string, unknown> } | { ok: false; errors: ConfigError[] } {
  try {
    const raw = parseYaml(text, { maxAliasCount: 100 });
    if (raw === null || raw === undefined)
      return {
        ok: false,
        errors: [
          {
            path: '',
            message:
              `${source} holds no config: it is empty or has ` + `only comments (write {} for an all-defaults config)`,
          },
        ],
      };
    if (typeof raw !== 'object' || Array.isArray(raw))
      return { ok: false, errors: [{ path: '', message: 'the config must be a mapping' }] };
    return { ok: true, raw };
  } catch (err) {
    const e = err as YAMLParseError;
    const where = e.linePos?.[0] ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '';
    return { ok: false, errors: [{ path: '', message: `YAML syntax error${where}: ${e.message.split('\n')[0]}` }] };
  }
}

/**
 * Validates a raw config: TOLLGATE_* overrides (on a copy; the raw config as
 * written is what history keeps), defaults, schema, then cross-field rules.
 */
export function validateConfig(raw: unknown, env: NodeJS.ProcessEnv = process.env): LoadResult {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    return { ok: false, errors: [{ path: '', message: 'the config must be an object' }] };
  const copy = structuredClone(raw) as Record<string, unknown>;
  const fromEnv = applyEnvOverrides(copy, env);
  // Cross-field rules run even when the schema already failed, so one pass reports every error.
  const errors = schemaErrors(copy);
  const withDefaults = copy as Config;
  errors.push(...checkSemantics(withDefaults, env, errors.length === 0));
  if (errors.length > 0) return { ok: false, errors: errors.map((e) => blameEnv(e, fromEnv, env)) };
  return { ok: true, config: withDefaults };
}

/** An error at a setting a TOLLGATE_* variable overrode says so: the file may not even mention it. */
function blameEnv(e: ConfigError, fromEnv: EnvSetting[], env: NodeJS.ProcessEnv): ConfigError {
  const s = fromEnv.find((x) => {
    const at = `/${x.path.join('/')}`;
    return e.path === at || e.path.startsWith(`${at}/`);
  });
  return s ? { ...e, message: `${e.message} (set by ${s.env}=${JSON.stringify(env[s.env])})` } : e;
}

export type FileLoadResult = LoadResult & { raw?: Record<string, unknown>; text?: string };

/** A config file's text, or why it cannot be read. */
export function readConfigFile(file: string): { ok: true; text: string } | { ok: false; errors: ConfigError[] } {
  try {
    return { ok: true, text: readFileSync(file, 'utf8') };
  } catch (err) {
    return { ok: false, errors: [{ path: '', message: `cannot read ${file}: ${(err as Error).message}` }] };
  }
}

/** Reads, parses and validates a config file. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): FileLoadResult {
  const read = readConfigFile(file);
  return read.ok ? loadConfigText(file, read.text, env) : read;
}

/** Parses and validates text already read from `file` (named in errors). */
export function loadConfigText(file: string, text: string, env: NodeJS.ProcessEnv = process.env): FileLoadResult {
  const parsed = parseConfigText(text, file);
  if (!parsed.ok) return parsed;
  return { ...validateConfig(parsed.raw, env), raw: parsed.raw, text };
}
