import { createHash } from 'node:crypto';
import type { RawConfig } from './types.ts';

export const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** JSON with every object's keys sorted: two texts that say the same thing give the same string. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * The `fileHash` a version records: of the file's parsed config, not its
 * bytes, so a comment, reformatting or reordered keys are no change (a reload
 * makes no new version; admin edits made on top survive a restart).
 */
export const fileHashOf = (raw: RawConfig) => sha256(canonical(raw));
