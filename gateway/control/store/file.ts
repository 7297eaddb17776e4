import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { ConfigStore, ConfigVersion, ConfigVersionSummary } from '../types.ts';
import { ConfigConflictError } from './conflict.ts';
import { versionRecord } from './record.ts';

export interface FileConfigStoreOptions {
  dir: string;
  /** Versions kept on disk; older ones are deleted after each append (default 50). */
  historyLimit?: number;
}

export const DEFAULT_HISTORY_LIMIT = 50;

const VERSION_FILE = /^(\d+)\.json$/;
const HEAD_FILE = 'HEAD';

/**
 * Single-node config store: one JSON file per version plus a HEAD pointer.
 *
 * A version is claimed by hard-linking a fully written, fsynced temp file to
 * its final name; link fails with EEXIST when the number is taken, so two
 * writers (even two processes) never share a version and a crash never leaves
 * a half-written version behind. Version files are therefore contiguous, and
 * HEAD is a lower bound that head() rolls forward over any version written
 * just before a crash.
 */
export class FileConfigStore implements ConfigStore {
  readonly dir: string;
  readonly historyLimit: number;
  #ready: Promise<void> | undefined;
  /** Serialises this instance's appends so they do not race each other for numbers. */
  #appendTail: Promise<unknown> = Promise.resolve();

  constructor(options: FileConfigStoreOptions) {
    const historyLimit = options.historyLimit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isInteger(historyLimit) || historyLimit < 1) {
      throw new RangeError(`historyLimit must be a positive integer, got ${historyLimit}`);
    }
    this.dir = options.dir;
    this.historyLimit = historyLimit;
  }

  async head(): Promise<ConfigVersion | undefined> {
    await this.#ensureDir();
    const version = await this.#headVersion();
    return version === 0 ? undefined : this.get(version);
  }

  async get(version: number): Promise<ConfigVersion | undefined> {
    if (!Number.isInteger(version) || version < 1) return undefined;
    await this.#ensureDir();
    let text: string;
    try {
      text = await readFile(this.#versionPath(version), 'utf8');
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
    return { ...(JSON.parse(text) as Omit<ConfigVersion, 'version'>), version };
  }

  async list(limit: number): Promise<ConfigVersionSummary[]> {
    if (!(limit > 0)) return [];
    await this.#ensureDir();
    const versions = (await this.#versionsOnDisk()).sort((a, b) => b - a).slice(0, limit);
    const out: ConfigVersionSummary[] = [];
    for (const v of versions) {
      const cv = await this.get(v);
      // Pruned by a concurrent append between readdir and read.
      if (!cv) continue;
      const { config: _config, ...summary } = cv;
      out.push(summary);
    }
    return out;
  }

  /** `base`: refused with ConfigConflictError when the head has moved past it (another process on the same directory).
   * */
  append(v: Omit<ConfigVersion, 'version'>, base?: number): Promise<ConfigVersion> {
    const result = this.#appendTail.then(() => this.#append(v, base));
    this.#appendTail = result.catch(() => undefined);
    return result;
  }

  watch(_onHead: (v: ConfigVersion) => void): void {
    // Single node: nobody else moves the head.
  }

  async close(): Promise<void> {
    await this.#appendTail;
  }

  async #append(v: Omit<ConfigVersion, 'version'>, base: number | undefined): Promise<ConfigVersion> {
    await this.#ensureDir();
    const head = await this.#headVersion();
    if (base !== undefined && head > base) throw new ConfigConflictError(base, head);
    const record = versionRecord(v);
    const tmp = await this.#writeTemp(JSON.stringify(record));
    let version = head + 1;
    try {
      for (;;) {
        try {
          await link(tmp, this.#versionPath(version));
          break;
        } catch (err) {
          if (!isCode(err, 'EEXIST')) throw err;
          // Another process took the number: the head moved past the base.
          if (base !== undefined) throw new ConfigConflictError(base, version);
          version += 1;
        }
      }
    } finally {
      await unlink(tmp).catch(() => undefined);
    }
    await this.#syncDir();
    await this.#writeHead(version);
    await this.#prune(version);
    return { ...record, version };
  }

  /** HEAD pointer rolled forward over versions it does not name yet (contiguous by construction). */
  async #headVersion(): Promise<number> {
    let version = 0;
    try {
      const parsed = JSON.parse(await readFile(join(this.dir, HEAD_FILE), 'utf8')) as { version?: unknown };
      if (typeof parsed.version === 'number' && Number.isInteger(parsed.version)) version = parsed.version;
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
    }
    if (version === 0) {
      // No HEAD yet (fresh dir, or a crash before the first pointer write).
      const onDisk = await this.#versionsOnDisk();
      version = onDisk.length === 0 ? 0 : Math.max(...onDisk);
    }
    while (await exists(this.#versionPath(version + 1))) version += 1;
    return version;
  }

  async #writeHead(version: number): Promise<void> {
    // Another writer may already have moved HEAD past us; it only moves forward.
    const current = await this.#headVersion();
    if (current > version) return;
    const tmp = await this.#writeTemp(JSON.stringify({ version }));
    await rename(tmp, join(this.dir, HEAD_FILE));
    await this.#syncDir();
  }

  async #prune(headVersion: number): Promise<void> {
    const cutoff = headVersion - this.historyLimit;
    if (cutoff < 1) return;
    for (const v of await this.#versionsOnDisk()) {
      if (v <= cutoff) await unlink(this.#versionPath(v)).catch(() => undefined);
    }
  }

  async #versionsOnDisk(): Promise<number[]> {
    const out: number[] = [];
    for (const name of await readdir(this.dir)) {
      const m = VERSION_FILE.exec(name);
      if (m) out.push(Number(m[1]));
    }
    return out;
  }

  async #writeTemp(text: string): Promise<string> {
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(text, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  /** Makes a rename/link in the directory durable, not just the file contents. */
  async #syncDir(): Promise<void> {
    const fh = await open(this.dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  #versionPath(version: number): string {
    return join(this.dir, `${String(version).padStart(10, '0')}.json`);
  }

  #ensureDir(): Promise<void> {
    this.#ready ??= mkdir(this.dir, { recursive: true }).then(() => undefined);
    return this.#ready;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false;
    throw err;
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
