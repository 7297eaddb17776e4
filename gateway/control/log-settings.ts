import type { Config } from './config/schema.ts';
import type { Logger } from '../log.ts';

/**
 * A config's `log` settings, applied to the process's root logger at every
 * apply. log.level applies at once: pino's children (admin, collector, per
 * request) follow a root's level unless they set their own. log.access_log is
 * read when the data plane is built: it takes effect on restart
 * (config/restart-only.ts).
 */
export class LogSettings {
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  apply(next: Config['log']): void {
    if (this.log.level !== next.level) {
      const from = this.log.level;
      // Said at info by whichever of the two levels shows it.
      const say = () => this.log.info({ from, to: next.level }, 'log level changed');
      const shownBefore = this.log.isLevelEnabled('info');
      if (shownBefore) say();
      this.log.level = next.level;
      if (!shownBefore && this.log.isLevelEnabled('info')) say();
    }
  }
}
