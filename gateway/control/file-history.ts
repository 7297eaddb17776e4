import { validateConfig } from './config/load.ts';
import { fileHashOf, sha256 } from './file-hash.ts';
import { ConfigConflictError, EDIT_ATTEMPTS } from './store/conflict.ts';
import type { ConfigStore, ConfigVersion, ConfigVersionSummary, RawConfig } from './types.ts';

// Where the config file stands in the stored history, against the admin edits
// made on top of it: which version a process starts on, and which edits a
// reload of a changed file replaced (the file wins).

/** How far back a file reload looks for the admin edits it replaces. */
const EDITS_SCAN = 100;

/**
 * Picks the config to start with. File store: the newest admin edit when it
 * was made on top of this same file, else the file (a changed file wins).
 * Redis store: the cluster's head when there is one (a node joining a
 * cluster adopts its config; one that cannot validate it fails to start),
 * else the file seeds it. The file is stored
 * only on top of the head it was compared with: of two nodes starting at
 * once on an empty store, one seeds it and the other adopts that version
 * instead of storing its own file over it.
 */
export async function initialVersion(
  file: { raw: RawConfig; text: string },
  store: ConfigStore,
  shared: boolean,
): Promise<{ version: ConfigVersion; reused: boolean }> {
  const hash = fileHashOf(file.raw);
  for (let attempt = 1; ; attempt++) {
    const head = await store.head();
    // Versions stored by earlier releases hashed the file's bytes.
    const sameFile = head !== undefined && (head.fileHash === hash || head.fileHash === sha256(file.text));
    if (head && (shared || sameFile)) {
      const valid = validateConfig(head.config);
      if (valid.ok) return { version: head, reused: true };
      // The cluster's config does not validate here (a TLS file this node lacks, say): storing this node's
      // file over it would replace every node's config and admin edits. The node refuses to start instead.
      if (shared)
        throw new Error(
          `the cluster's config version ${head.version} does not validate on this node, ` +
            `which will not start on it nor store its own file over it: ${valid.errors
              .slice(0, 5)
              .map((e) => `${e.path}: ${e.message}`)
              .join('; ')}`,
        );
    }
    // After EDIT_ATTEMPTS lost races the file goes on top of whatever the head is, as it did before.
    const base = attempt < EDIT_ATTEMPTS ? (head?.version ?? 0) : undefined;
    try {
      const version = await store.append(
        {
          config: file.raw,
          source: 'file',
          createdAt: new Date().toISOString(),
          fileHash: hash,
          note: 'loaded from file',
        },
        base,
      );
      return { version, reused: false };
    } catch (err) {
      if (!(err instanceof ConfigConflictError)) throw err;
    }
  }
}

/**
 * The admin edits and rollbacks a file reload stored as `applied` replaced,
 * newest first: those below it in the store's history back to the last
 * file version. In a cluster that includes edits other nodes stored that
 * this node had not adopted yet (`before` is what it served), since the
 * reload goes on top of the store's head. `more`: the history ends (pruned)
 * before it reaches a file version, so there were at least this many.
 */
export async function editsReplacedBy(
  store: ConfigStore,
  applied: number,
  before: ConfigVersion,
): Promise<{ edits: ConfigVersionSummary[]; more: boolean }> {
  const edits: ConfigVersionSummary[] = [];
  // Stored right on top of a file version this node served: nothing came in between.
  if (applied === before.version + 1 && (before.source === 'file' || before.source === 'reload'))
    return { edits, more: false };
  // The version is stored and serves; a history that cannot be listed only costs the warning.
  for (const v of await store.list(EDITS_SCAN).catch(() => [])) {
    if (v.version >= applied) continue;
    if (v.source === 'file' || v.source === 'reload') return { edits, more: false };
    edits.push(v);
  }
  return { edits, more: edits.length > 0 };
}
