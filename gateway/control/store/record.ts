import type { ConfigVersion } from '../types.ts';

/** What a store persists for a version: every field but the number, which the store assigns. */
export function versionRecord(v: Omit<ConfigVersion, 'version'>): Omit<ConfigVersion, 'version'> {
  return { config: v.config, source: v.source, createdAt: v.createdAt, fileHash: v.fileHash, note: v.note };
}
