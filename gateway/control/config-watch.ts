/**
 * What makes a running gateway reload: its config file changing on disk
 * (debounced, and applied only once it holds still), SIGHUP, and the TLS files
 * its config names changing (tls-file-watch.ts).
 */
import { readFileSync, realpathSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';
import type { ConfigManager } from './config-manager.ts';
import type { Config } from './config/schema.ts';
import { tlsFilePaths, watchTlsFiles } from './tls-file-watch.ts';

/** Quiet time after the last event before acting on it: editors and `cp` raise several per save. */
const DEBOUNCE_MS = 100;
/**
 * A changed file is applied only once two reads this far apart agree, and
 * then with the text read. `cat new > gw.yaml`, scp and other slow writers
 * truncate first and write in chunks, and a stall between chunks is
 * indistinguishable from the end of the write; a half-written file can even
 * be a valid config (the first of two services). Each further event starts
 * over, and a file that still differs is read again until it holds still.
 * Renames (editors' atomic saves, Kubernetes' ..data swap) are whole at once
 * and only pay the delay. An emptied file that holds still is refused by the
 * loader (no document), so truncate-then-write never applies the empty file.
 */
const SETTLE_MS = 250;

const readText = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};
const resolved = (file: string) => {
  try {
    return realpathSync(file);
  } catch {
    return undefined;
  }
};

/**
 * Reload on SIGHUP (at once) and when the file changes (once it holds still).
 * The directory is watched, since editors replace files. `reload` gets the
 * settled text for a file change; nothing for SIGHUP, which reads the file.
 */
function watchReloads(file: string, reload: (settledText?: string) => void): () => void {
  // Bumped by every event and by stop(): a settle that is overtaken gives up, so only the newest applies.
  let generation = 0;
  let timer: NodeJS.Timeout | undefined;
  const settle = async (g: number) => {
    let text = readText(file);
    for (;;) {
      await sleep(SETTLE_MS);
      if (g !== generation) return;
      const again = readText(file);
      if (again === text) break;
      text = again;
    }
    // Unreadable (deleted, mid-rename) both times: the reload reads it and reports why.
    reload(text);
  };
  const changed = () => {
    clearTimeout(timer);
    const g = ++generation;
    timer = setTimeout(() => void settle(g), DEBOUNCE_MS);
  };
  // A Kubernetes ConfigMap volume is gw.yaml -> ..data/gw.yaml with ..data -> ..<timestamp>/,
  // updated by renaming a new ..data over the old: the event names ..data, never gw.yaml.
  // So an event on any name counts when the file now resolves to another place.
  let target = resolved(file);
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_event, name) => {
      const now = resolved(file);
      const moved = now !== target;
      target = now;
      if (moved || name === null || name === basename(file)) changed();
    });
  } catch {
    /* a file system without watch support still reloads on SIGHUP */
  }
  let hupTimer: NodeJS.Timeout | undefined;
  const hup = () => {
    clearTimeout(hupTimer);
    hupTimer = setTimeout(() => reload(), DEBOUNCE_MS);
  };
  process.on('SIGHUP', hup);
  return () => {
    generation++;
    clearTimeout(timer);
    clearTimeout(hupTimer);
    watcher?.close();
    process.off('SIGHUP', hup);
  };
}

/**
 * Everything that reloads the config: the file (watchReloads) and, every
 * `proxy.tls_files_check_ms`, the TLS files of the serving config (upstreams' and listeners'),
 * whose change re-reads them (only them: the config file, whose own TLS files
 * may no longer be in use, is not read). The manager logs what the re-read did.
 */
export function watchConfigSources(file: string, manager: ConfigManager, config: Config, log: Logger): () => void {
  const stopFile = watchReloads(file, (text) => void manager.reloadFromFile(text));
  const checkMs = config.proxy.tls_files_check_ms;
  const stopTls =
    checkMs > 0
      ? // Also the files of a shared version this node refused (one it lacked): their arrival lets it catch up.
        watchTlsFiles(
          () => [...tlsFilePaths(manager.current().config), ...tlsFilePaths(manager.refusedConfig())],
          (files) => {
            log.debug({ files }, 'TLS files changed on disk: re-reading them');
            void manager.reloadTlsFiles();
          },
          checkMs,
        )
      : undefined;
  return () => {
    stopFile();
    stopTls?.();
  };
}
