import type { KafkaSinkConfig } from './config.ts';
import type { LogBatch } from './log.ts';
import type { EventProducer } from './producer.ts';
import { BATCH, DATA, NOTHING, type SenderState, type SharedState } from './shared-state.ts';
import { withTimeout } from '../../../../shared/with-timeout.ts';
import { until } from './waits.ts';

// Raw bytes per send. Kafka refuses a record batch over message.max.bytes (1 MiB by
// default); events are ~150 B but may reach ~37 KB, so a count alone is no bound.
const MAX_BATCH_BYTES = 512 * 1024;
const FIRST_RETRY_MS = 100;
// Short enough that a returning Kafka is noticed within a couple of seconds.
const MAX_RETRY_MS = 2000;
// The loop's waits normally end on a timer or on the network, but should every one of them
// resolve at once (a log read finding nothing without touching the disk, a client failing or
// answering synchronously) it would run on microtasks alone, and its thread would never see
// a message (close) again; every this many turns it lets the event loop run.
const TURNS_PER_YIELD = 64;

/** What the sender needs of the log: KafkaLogReader. */
export interface SenderLog {
  readonly pending: boolean;
  readonly unsentEvents: number;
  countUnsent(stop: () => boolean): Promise<void>;
  read(maxRecords: number, maxBytes: number): Promise<LogBatch>;
  delivered(next: number, count: number): void;
  close(): Promise<void>;
}

export interface SenderLogger {
  debug(details: object, message: string): void;
  info(details: object, message: string): void;
  warn(details: object, message: string): void;
  error(details: object, message: string): void;
}

type SenderConfig = Pick<KafkaSinkConfig, 'flushMs' | 'batchEvents' | 'timeoutMs'>;

/**
 * Ships the log to Kafka, on the sender thread: reads it from its checkpoint and sends it in
 * batches, in order, one send in flight, moving the checkpoint after each acknowledgement.
 * A batch goes out when `batchEvents` are unsent or `flushMs` after the sender saw the first
 * of them. While Kafka is away the log simply grows on disk; the sender retries with backoff.
 */
export class KafkaSender {
  readonly #config: SenderConfig;
  readonly #producer: EventProducer;
  readonly #log: SenderLog;
  readonly #state: SharedState;
  readonly #logger: SenderLogger;
  readonly #abort = Promise.withResolvers<never>();
  #failures = 0;
  /** performance.now() when the oldest unsent event was seen: a batch goes out flush_ms after it. */
  #unsentSinceMs = 0;
  #closing = false;
  #deliverUntilMs = Infinity;
  #loop: Promise<void> = Promise.resolve();

  constructor(config: SenderConfig, producer: EventProducer, log: SenderLog, state: SharedState, logger: SenderLogger) {
    this.#config = config;
    this.#producer = producer;
    this.#log = log;
    this.#state = state;
    this.#logger = logger;
    this.#abort.promise.catch(() => undefined);
  }

  /** Starts the loop; a replacement thread starts as `unknown`, so its first failure is logged as a warning. */
  start(): void {
    this.#state.setState('unknown');
    this.#loop = this.#run().catch((error: unknown) =>
      this.#logger.error({ err: error }, 'kafka sink: sender stopped'),
    );
  }

  get state(): SenderState {
    return this.#state.state;
  }

  /**
   * Sends what the log holds while Kafka is up, for at most `deliverMs`, cutting a send
   * still out then; the rest stays in the log for the next start. Then writes the
   * checkpoint and closes the client, within `timeoutMs` in all.
   */
  async close(deliverMs: number, timeoutMs: number): Promise<void> {
    const deadlineMs = performance.now() + timeoutMs;
    this.#closing = true;
    this.#deliverUntilMs = performance.now() + deliverMs;
    const stopSending = setTimeout(() => this.#abort.reject(new Error('closing')), deliverMs);
    this.#state.wake();
    await until(this.#loop, deadlineMs);
    clearTimeout(stopSending);
    this.#abort.reject(new Error('closing'));
    await until(this.#log.close(), deadlineMs);
    await until(this.#producer.close(), deadlineMs);
  }

  async #run(): Promise<void> {
    await this.#log.countUnsent(() => this.#closing);
    this.#unsentSinceMs = performance.now();
    if (!this.#closing) await this.#probe();
    for (let turn = 1; ; turn++) {
      if (turn % TURNS_PER_YIELD === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#closing) {
        if (this.state !== 'up' || !this.#log.pending || performance.now() >= this.#deliverUntilMs) return;
        await this.#send();
      } else if (this.state === 'down') {
        await this.#sleep(this.#retryDelayMs(), NOTHING);
        if (this.#closing) continue;
        if (this.#log.pending) await this.#send();
        else await this.#probe();
      } else if (this.#log.pending) {
        const waitedMs = performance.now() - this.#unsentSinceMs;
        if (this.#log.unsentEvents >= this.#config.batchEvents || waitedMs >= this.#config.flushMs) await this.#send();
        else await this.#sleep(this.#config.flushMs - waitedMs, BATCH);
      } else {
        await this.#sleep(Infinity, DATA);
        this.#unsentSinceMs = performance.now();
      }
    }
  }

  /** Until `ms` pass, close() is called, or what `waitingFor` says is there. */
  #sleep(ms: number, waitingFor: typeof NOTHING | typeof DATA | typeof BATCH): Promise<void> {
    const ready =
      waitingFor === DATA
        ? () => this.#closing || this.#log.pending
        : waitingFor === BATCH
          ? () => this.#closing || this.#log.unsentEvents >= this.#config.batchEvents
          : () => this.#closing;
    return this.#state.sleep(ms, waitingFor, ready);
  }

  /** Sends the oldest unsent events, one batch. */
  async #send(): Promise<void> {
    let batch: LogBatch;
    try {
      batch = await this.#log.read(this.#config.batchEvents, MAX_BATCH_BYTES);
    } catch (error) {
      this.#logger.error({ err: error }, 'kafka sink: cannot read the log');
      await this.#sleep(MAX_RETRY_MS, NOTHING);
      return;
    }
    if (batch.records.length === 0) return;
    const error = await this.#deliver(batch.records);
    if (error !== undefined) return this.#markDown(error);
    this.#log.delivered(batch.next, batch.records.length);
    // What is left is younger than what was sent: a short rest waits at most flush_ms more.
    if (this.#log.unsentEvents < this.#config.batchEvents) this.#unsentSinceMs = performance.now();
    this.#markUp();
  }

  async #probe(): Promise<void> {
    const error = await this.#bounded(this.#producer.connect()).then(
      () => undefined,
      (e: unknown) => e ?? new Error('no answer'),
    );
    if (error === undefined) this.#markUp();
    else this.#markDown(error);
  }

  /** undefined once Kafka acknowledged, else why not. */
  #deliver(records: Buffer[]): Promise<unknown> {
    return this.#bounded(this.#producer.send(records)).then(
      () => undefined,
      (error: unknown) => error ?? new Error('send failed'),
    );
  }

  /** The library's timeouts are per request; this bounds a whole call, and close() cuts it short. */
  #bounded<T>(operation: Promise<T>): Promise<T> {
    const timeoutMs = this.#config.timeoutMs;
    return withTimeout(operation, timeoutMs, `Kafka did not answer within ${timeoutMs} ms`, this.#abort.promise);
  }

  #markUp(): void {
    this.#failures = 0;
    if (this.state === 'up') return;
    this.#state.setState('up');
    this.#logger.info(
      { unsentEvents: this.#log.unsentEvents },
      'kafka sink: Kafka is reachable; sending the log from its checkpoint',
    );
  }

  #markDown(error: unknown): void {
    this.#failures += 1;
    if (this.state === 'down') {
      this.#logger.debug({ err: error, failures: this.#failures }, 'kafka sink: Kafka still unreachable');
      return;
    }
    this.#state.setState('down');
    if (this.#closing)
      this.#logger.info(
        { unsentEvents: this.#log.unsentEvents },
        'kafka sink: closing before Kafka acknowledged; the rest waits in the log',
      );
    else
      this.#logger.warn(
        { err: error, unsentEvents: this.#log.unsentEvents },
        'kafka sink: Kafka unreachable; events wait in the log on disk',
      );
  }

  #retryDelayMs(): number {
    const delayMs = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** Math.max(0, this.#failures - 1));
    // Jitter, so gateways do not all reconnect in the same instant.
    return delayMs * (0.8 + Math.random() * 0.4);
  }
}
