import type { ErrorObject } from 'ajv';
import type { ConfigError } from '../types.ts';
import schema from './tollgate.schema.json' with { type: 'json' };
import { validate } from './validate-config.js';

/**
 * Validates against the published JSON Schema, which `npm run generate`
 * derives from the TypeBox schema in schema.ts and compiles ahead of time
 * into validate-config.js (tests keep both equal to a fresh generation).
 * At run time no schema is compiled: neither TypeBox's runtime (~20 MB of
 * RSS) nor ajv's compiler (150-250 ms of event loop and ~5 MB of heap) is
 * loaded for the config.
 */
export { schema as configJsonSchema };

/** The value at a JSON pointer (an error's instancePath). */
function valueAt(root: unknown, pointer: string): unknown {
  let node: any = root;
  for (const part of pointer.split('/').slice(1)) node = node?.[part.replaceAll('~1', '/').replaceAll('~0', '~')];
  return node;
}

function allowedValues(branches: unknown): string {
  const list = Array.isArray(branches) ? branches : [];
  const names = list.map((b: { const?: unknown; type?: string }) =>
    b.const !== undefined ? JSON.stringify(b.const) : `a ${b.type}`,
  );
  return names.length ? `must be one of ${names.join(', ')}` : 'must be one of the allowed values';
}

/** Fills defaults in place and returns every schema error with its path. */
export function schemaErrors(value: unknown): ConfigError[] {
  if (validate(value)) return [];
  const all = validate.errors ?? [];
  // An anyOf failure also reports each branch's failure at the same path; keep only the anyOf line.
  const anyOfPaths = new Set(all.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  const push = (path: string, message: string) => {
    const key = `${path}\0${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, message });
    }
  };
  for (const e of all as ErrorObject[]) {
    const path = e.instancePath;
    if (e.keyword === 'additionalProperties') {
      // A map whose keys must match a pattern (header names) refuses a key, rather than an unknown field.
      // The validator is compiled verbose (scripts/generate.ts): an error carries the subschema it failed.
      const parent = e.parentSchema as { patternProperties?: object } | undefined;
      const keys = Object.keys(parent?.patternProperties ?? {});
      push(
        `${path}/${(e.params as { additionalProperty: string }).additionalProperty}`,
        keys.length ? `name must match pattern "${keys.join('" or "')}"` : 'unknown field',
      );
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
