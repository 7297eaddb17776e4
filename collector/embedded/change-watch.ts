import { type FSWatcher, watch } from 'node:fs';

/**
 * Lets an idle collector sleep instead of polling: watches directories (inotify on Linux) and calls back once, at the
 * first change in any of them, then stops watching. Armed only while nothing arrives: under load every write would be
 * an event, and the collector polls anyway. A gateway with no traffic polled its logs five times a second (two
 * directory reads and two stats each, on libuv's pool): 0.45% of a core, 0.03% with the watch
 * (`node test/bench/idle.bench.ts`).
 */
export class ChangeWatch {
  #watchers: FSWatcher[] = [];

  get armed(): boolean {
    return this.#watchers.length > 0;
  }

  /** Watches `dirs` until one changes, then calls `onChange`; not armed when one cannot be watched (keep polling). */
  arm(dirs: string[], onChange: () => void): void {
    this.close();
    const changed = () => {
      if (!this.armed) return;
      this.close();
      onChange();
    };
    try {
      for (const dir of dirs) {
        const watcher = watch(dir, { persistent: false }, changed);
        this.#watchers.push(watcher);
        // A watched directory removed or unreadable: a change the collector's next pass will see or report.
        watcher.on('error', changed);
      }
    } catch {
      this.close();
    }
  }

  close(): void {
    for (const watcher of this.#watchers.splice(0)) watcher.close();
  }
}
