import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { identityDocOf, type AppStore, type IdentityDoc } from '../doc.ts';

const FILE = 'identity.json';

/**
 * Single-node app store: one JSON file, replaced atomically (fsynced temp
 * file, rename). Written only by this process; saves are serialised so the
 * compare-and-set on the version holds. Mode 0600: it holds private keys.
 */
export class FileAppStore implements AppStore {
  readonly dir: string;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(dir: string) {
    this.dir = dir;
  }

  async load(): Promise<IdentityDoc> {
    try {
      const doc = JSON.parse(await readFile(join(this.dir, FILE), 'utf8')) as Partial<IdentityDoc>;
      return identityDocOf(doc.version ?? 0, doc);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return identityDocOf(0, {});
      throw err;
    }
  }

  save(doc: Omit<IdentityDoc, 'version'>, expected: number): Promise<IdentityDoc | undefined> {
    const result = this.#tail.then(() => this.#save(doc, expected));
    this.#tail = result.catch(() => undefined);
    return result;
  }

  watch(_onChange: () => void): void {
    // Single node: nobody else writes.
  }

  async close(): Promise<void> {
    await this.#tail;
  }

  async #save(doc: Omit<IdentityDoc, 'version'>, expected: number): Promise<IdentityDoc | undefined> {
    // Behind `expected`: the file was removed or replaced by an older one; this process's doc goes in after it
    // (AppStore.save).
    if ((await this.load()).version > expected) return undefined;
    const next: IdentityDoc = {
      version: expected + 1,
      appsVersion: doc.appsVersion,
      keysVersion: doc.keysVersion,
      apps: doc.apps,
      keys: doc.keys,
    };
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = join(this.dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.writeFile(JSON.stringify(next), 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(this.dir, FILE));
    return next;
  }
}
