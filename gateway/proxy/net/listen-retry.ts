import type { Server } from 'node:net';
import { listenAt } from '../../../shared/listen.ts';

/** An address that is taken is tried again after 1 s, then at doubling intervals up to this. */
export const LISTEN_RETRY_MAX_MS = 30_000;

export interface ListenRetryHooks {
  /** It listens, after `failures` tries that did not. */
  listening(address: { host: string; port: number }, failures: number): void;
  /** A try failed; `log` once at the first and then once a minute, as a failing registry is (discovery.md). */
  failed(err: Error, failures: number, log: boolean): void;
}

/**
 * Listens for a listener or stream that a reload added or moved. An address another process holds is tried again
 * until it is free: a SIGHUP of an unchanged file applies nothing, so it would otherwise wait for the next edit of
 * the config. The function returned stops it (removed, or moved again); a try that succeeds after that closes the
 * server, as what it took is no longer its address (a worker's listen goes through the primary, so a try can be
 * under way).
 */
export function listenUntilFree(server: Server, listen: string, hooks: ListenRetryHooks): () => void {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let loggedMs = 0;
  const attempt = (failures: number) => {
    listenAt(server, listen).then(
      (address) => {
        if (stopped) return void server.close();
        hooks.listening(address, failures);
      },
      (err: Error) => {
        if (stopped) return;
        const now = Date.now();
        const log = failures === 0 || now - loggedMs >= 60_000;
        if (log) loggedMs = now;
        hooks.failed(err, failures, log);
        timer = setTimeout(() => attempt(failures + 1), Math.min(1000 * 2 ** failures, LISTEN_RETRY_MAX_MS));
        timer.unref();
      },
    );
  };
  attempt(0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
