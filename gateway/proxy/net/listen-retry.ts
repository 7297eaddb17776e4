import type { Server } from 'node:net';
import { listenAt } from '../../../shared/listen.ts';
import type { Logger } from '../../log.ts';

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
 * under way). `tried` resolves once the first try is over, whichever way it went.
 */
export function listenUntilFree(
  server: Server,
  listen: string,
  hooks: ListenRetryHooks,
): { stop: () => void; tried: Promise<void> } {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let loggedMs = 0;
  const attempt = (failures: number) =>
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
  const tried = attempt(0);
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
  };
  return { stop, tried };
}

/** A listener or stream as a reload starts it. */
export interface Started<R> {
  config: { name: string; listen: string };
  /** The address it listens at, once it does. */
  address?: { host: string; port: number };
  /** Moved here by a reload: the server at the old address, accepting until this one listens. */
  predecessor?: R;
  stopListening?: () => void;
}

export interface StartOptions<R> {
  kind: 'listener' | 'stream';
  /** Every listening listener's and stream's address by name. */
  addresses: Map<string, { host: string; port: number }>;
  /** 1 while it waits for its address, labelled by `kind`. */
  waiting: { set(labels: Record<string, string>, value: number): void; remove(labels: Record<string, string>): void };
  log: Logger;
  /** Stops the server it was moved from. */
  retire(predecessor: R): void;
}

/** Listens for a listener or stream at start, where a taken address is an error; its address is recorded. */
export async function listenAtStart<R extends Started<R>>(r: R, server: Server, o: StartOptions<R>): Promise<void> {
  r.address = await listenAt(server, r.config.listen);
  o.addresses.set(r.config.name, r.address);
}

/**
 * Listens for a listener or stream a reload added, changed or moved (listenUntilFree). Once it listens, its address
 * is recorded and the server it was moved from retired; until then that one goes on accepting, and the wait shows
 * in the gauge and the log. Resolves once the first try is over, so a reload is answered after it.
 */
export function startListening<R extends Started<R>>(r: R, server: Server, o: StartOptions<R>): Promise<void> {
  const { name, listen } = r.config;
  const labels = { [o.kind]: name };
  const { stop, tried } = listenUntilFree(server, listen, {
    listening: (address, failures) => {
      r.address = address;
      o.addresses.set(name, address);
      o.waiting.remove(labels);
      const before = r.predecessor;
      r.predecessor = undefined;
      if (before) o.retire(before);
      o.log.info({ ...labels, listen, ...(failures > 0 ? { failures } : {}) }, `${o.kind} added`);
    },
    failed: (err, failures, log) => {
      o.waiting.set(labels, 1);
      const serving = r.predecessor ? { serving: r.predecessor.config.listen } : {};
      if (log)
        o.log.error(
          { ...labels, listen, err, failures, ...serving },
          `${o.kind} could not listen: trying again until it can`,
        );
    },
  });
  r.stopListening = stop;
  return tried;
}

/**
 * What a reload that gives `r` the address `listen` (undefined: removes it) does with the server it still moves
 * from, and whether `r` moves keeping its old server until the new one listens. A server whose address the reload
 * gives to another listener or stream (`givenAway`) stops there now, else two that swap addresses would each wait
 * for the other for good. One still moving when moved again stops with both servers and starts afresh, as the
 * address it left may be where it goes now.
 */
export function movesKeepingOld<R extends Started<R>>(
  r: R,
  listen: string | undefined,
  givenAway: (listen: string) => boolean,
  o: StartOptions<R>,
): boolean {
  const before = r.predecessor;
  if (before && givenAway(before.config.listen)) {
    r.predecessor = undefined;
    o.retire(before);
  }
  return (
    listen !== undefined && listen !== r.config.listen && r.predecessor === undefined && !givenAway(r.config.listen)
  );
}

/**
 * What retiring `r` undoes of startListening: the server it was moved from is retired too, its own address (not a
 * successor's) forgotten, its tries stopped, and its wait no longer shown unless another under its name (the
 * successor) may wait.
 */
export function stopStarted<R extends Started<R>>(r: R, o: StartOptions<R>, nameInUse: boolean): void {
  const before = r.predecessor;
  r.predecessor = undefined;
  if (before) o.retire(before);
  const name = r.config.name;
  if (r.address !== undefined && o.addresses.get(name) === r.address) o.addresses.delete(name);
  if (!nameInUse) o.waiting.remove({ [o.kind]: name });
  r.stopListening?.();
}

/**
 * Logs the settings of a listener or stream kept by a reload that Node reads only when it makes a server (the TLS
 * handshake timeout, HTTP/2's session memory): they wait until it starts again.
 */
export function warnStartsAgain(log: Logger, kind: 'listener' | 'stream', name: string, fields: string[]): void {
  if (fields.length === 0) return;
  log.warn(
    { [kind]: name, fields },
    `these ${kind} settings take effect when the ${kind} starts again: on restart, or a reload moving or replacing it`,
  );
}
