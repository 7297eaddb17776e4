import type { Config, ServiceConfig } from './config/schema.ts';
import { sameData } from './config/same-data.ts';

/**
 * A config as the primary sends it to its proxy workers (cluster.ts): whole,
 * or as the changes to the one it sent before, numbered `base`. In a change
 * an unchanged service is its index in that base config, which the worker
 * still holds: a reload of 5,000 services that changes one sends one, where
 * the whole config was ~3.5 MB of JSON that each worker parsed on its event
 * loop (70-130 ms), and the worker's data plane finds the other upstreams'
 * configs to be the very objects its pools were made from.
 */
export type ConfigWire = { seq: number; version: number } & (
  | { config: Config }
  | { base: number; rest: Omit<Config, 'services'>; services: (ServiceConfig | number)[] }
);

/** The primary's side: numbers each config it sends. */
export class ConfigSender {
  #current: { seq: number; version: number; config: Config } | undefined;

  /** The next config for every worker: the changes to the one sent before (whole, the first time). */
  next(config: Config, version: number): ConfigWire {
    const prev = this.#current;
    const seq = (prev?.seq ?? 0) + 1;
    this.#current = { seq, version, config };
    if (prev === undefined) return { seq, version, config };
    const index = new Map(prev.config.services.map((s, i) => [s.name, i]));
    const services = config.services.map((s) => {
      const i = index.get(s.name);
      return i !== undefined && sameData(prev.config.services[i], s) ? i : s;
    });
    const { services: _services, ...rest } = config;
    return { seq, version, base: prev.seq, rest, services };
  }

  /** The config sent last (the serving one). */
  get config(): Config {
    return this.#current!.config;
  }

  /** The current config whole: for a new worker, or one that does not hold the base of a change. */
  whole(): ConfigWire {
    const c = this.#current!;
    return { seq: c.seq, version: c.version, config: c.config };
  }
}

/** A worker's side: the config each message stands for. */
export class ConfigReceiver {
  #current: { seq: number; config: Config } | undefined;

  /**
   * The config `wire` stands for; 'resend' when it is a change to a config
   * this worker does not hold (the worker asks for the whole one); 'held'
   * when it is the one this worker applied last (a whole one sent twice).
   */
  take(wire: ConfigWire): Config | 'resend' | 'held' {
    const base = this.#current;
    if (base?.seq === wire.seq) return 'held';
    let config: Config;
    if ('config' in wire) {
      config = wire.config;
    } else {
      if (base?.seq !== wire.base) return 'resend';
      config = {
        ...wire.rest,
        services: wire.services.map((s) => (typeof s === 'number' ? base.config.services[s]! : s)),
      } as Config;
    }
    this.#current = { seq: wire.seq, config };
    return config;
  }
}

/** A worker as the roll-out sees it. */
export interface RolloutWorker {
  id: number;
  /** Sends the config; false when the worker is gone. */
  send(wire: ConfigWire): boolean;
}

/**
 * Hands each config to the workers one after another: the next worker gets
 * it once the one before has applied it (or ackTimeoutMs passed, or it
 * exited). Compiling a large config takes each worker's event loop for a
 * while, and with as many workers as cores (`workers: auto`) all compiling at
 * once they share the cores with each other and the primary, so each stalls
 * its requests longer: with 5,000 services and `workers: 2`, the longest
 * reply during reloads was 263-378 ms with the config sent to both at once,
 * 170-282 ms one after the other (nine runs each, alternated). The price is a
 * wider window in which workers serve different versions; configs still
 * reach every worker in order.
 */
export class Rollout {
  readonly #timeoutMs: number;
  readonly #waiting = new Map<number, (seq: number | 'gone') => void>();
  #chain: Promise<void> = Promise.resolve();

  constructor(ackTimeoutMs = 10_000) {
    this.#timeoutMs = ackTimeoutMs;
  }

  /** Queues `wire` for the workers `workers()` lists when its turn comes; resolves once the last has it. */
  send(wire: ConfigWire, workers: () => RolloutWorker[]): Promise<void> {
    this.#chain = this.#chain.then(async () => {
      for (const w of workers()) await this.#one(w, wire);
    });
    return this.#chain;
  }

  /** Worker `id` applied, or already held, the config numbered `seq`. */
  applied(id: number, seq: number): void {
    this.#waiting.get(id)?.(seq);
  }

  /** Worker `id` exited: nothing waits for it. */
  gone(id: number): void {
    this.#waiting.get(id)?.('gone');
  }

  #one(w: RolloutWorker, wire: ConfigWire): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiting.delete(w.id);
        resolve();
      };
      const timer = setTimeout(done, this.#timeoutMs);
      this.#waiting.set(w.id, (seq) => {
        if (seq === 'gone' || seq >= wire.seq) done();
      });
      if (!w.send(wire)) done();
    });
  }
}
