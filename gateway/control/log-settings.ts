import type { Config } from './config/schema.ts';
import type { Logger } from '../log.ts';

/**
 * A config's `log` settings, applied to the process's root logger at every
 * apply. log.level applies at once: pino's children (admin, collector, per
 * request) follow a root's level unless they set their own. log.access_log is
 * read when the data plane is built, so like proxy.listen it takes effect on
 * restart, and a reload says so.
 */
export class LogSettings {
  private readonly log: Logger;
  private current: Config['log'] | undefined;

  constructor(log: Logger) {
    this.log = log;
  }

  apply(next: Config['log']): void {
    const prev = this.current;
    this.current = next;
    if (this.log.level !== next.level) {
      const from = this.log.level;
      // Said at info by whichever of the two levels shows it.
      const say = () => this.log.info({ from, to: next.level }, 'log level changed');
      const shownBefore = this.log.isLevelEnabled('info');
      if (shownBefore) say();
      this.log.level = next.level;
      if (!shownBefore && this.log.isLevelEnabled('info')) say();
    }
    if (prev && prev.access_log !== next.access_log) {
      this.log.warn({ from: prev.access_log, to: next.access_log }, 'log.access_log changes take effect on restart');
    }
  }
}
