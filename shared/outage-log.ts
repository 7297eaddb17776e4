/** What a shared store tells of its connection: each error, and each poll that succeeded. */
export interface StoreHealthHooks {
  onError(err: Error): void;
  onOk(): void;
}

/** outageLog's hooks, and whether the store answers now (false from its first error until a poll succeeds). */
export interface StoreHealth extends StoreHealthHooks {
  readonly up: boolean;
}

/** What outageLog writes to: a pino logger, or anything with its warn and info. */
export interface OutageLogger {
  warn(fields: object, msg: string): void;
  info(fields: object, msg: string): void;
}

/** While a store keeps failing, a line this often says it still is. */
const OUTAGE_REMINDER_MS = 60_000;

/**
 * A dependency's outage (the Redis config and app stores, an upstream's DNS
 * name, the embedded collector's passes) in a few lines:
 * its first error at warn, a reminder with the count each minute it goes
 * on, and one line at info when a poll succeeds again, with how long it
 * lasted. ioredis reports every failed reconnect and every command that
 * timed out, which came to ~8 lines a second while Redis was down.
 */
export function outageLog(log: OutageLogger, what: string, nowMs: () => number = Date.now): StoreHealth {
  let down = false;
  let since = 0;
  let loggedAt = 0;
  let errors = 0;
  return {
    get up() {
      return !down;
    },
    onError(err) {
      errors++;
      const now = nowMs();
      if (!down) {
        down = true;
        since = loggedAt = now;
        log.warn({ err: err.message }, `${what} failing; further errors are counted until it answers again`);
      } else if (now - loggedAt >= OUTAGE_REMINDER_MS) {
        loggedAt = now;
        log.warn({ err: err.message, errors, down_ms: now - since }, `${what} still failing`);
      }
    },
    onOk() {
      if (!down) return;
      down = false;
      log.info({ errors, down_ms: nowMs() - since }, `${what} answers again`);
      errors = 0;
    },
  };
}
