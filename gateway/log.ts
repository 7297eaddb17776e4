import pino from 'pino';

/** JSON logs to stdout. Asynchronous writes keep logging off the request path; pino flushes on exit. */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): pino.Logger {
  return pino({ level, base: { pid: process.pid, ...bindings } }, pino.destination({ sync: false }));
}

export type Logger = pino.Logger;

export { outageLog, type OutageLogger, type StoreHealth, type StoreHealthHooks } from '../shared/outage-log.ts';
