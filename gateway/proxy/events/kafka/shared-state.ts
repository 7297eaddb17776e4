/**
 * What the proxy thread (the log's writer) and the sender thread tell each other without messages: one
 * SharedArrayBuffer. The writer publishes where the written data ends after each write; the sender publishes what
 * Kafka acknowledged and its state. Each side's numbers are published together under a sequence lock, so the other
 * never reads half of an update (a written position from after a rotation with the segment base from before it).
 * The sender sleeps on `Atomics.waitAsync`; the writer wakes it only when it said it waits for what just came.
 */

/** Int32 slots. */
const WRITER_SEQ = 0;
const SENDER_SEQ = 1;
/** What the sender waits for: NOTHING, DATA (anything written) or BATCH (a full batch). */
const WAITING = 2;
const WAKE = 3;
const STATE = 4;
const INT_SLOTS = 8;

/** Float64 slots, after the Int32 ones. Positions pass 2^31; doubles hold them exactly up to 2^53. */
const WRITTEN_POSITION = 0;
const WRITING_BASE = 1;
const WRITTEN_RECORDS = 2;
const READ_POSITION = 3;
/** Records the sender found unsent when it started, those written after it started, and those it delivered since. */
const BACKLOG = 4;
const WRITTEN_AT_START = 5;
const DELIVERED = 6;
const FLOAT_SLOTS = 7;

export const NOTHING = 0;
export const DATA = 1;
export const BATCH = 2;

export type SenderState = 'unknown' | 'up' | 'down';
const STATES: SenderState[] = ['unknown', 'up', 'down'];

export interface WriterView {
  writtenPosition: number;
  writingBase: number;
  writtenRecords: number;
}

export class SharedState {
  readonly buffer: SharedArrayBuffer;
  readonly #ints: Int32Array;
  readonly #floats: Float64Array;

  constructor(buffer = new SharedArrayBuffer(INT_SLOTS * 4 + FLOAT_SLOTS * 8)) {
    this.buffer = buffer;
    this.#ints = new Int32Array(buffer, 0, INT_SLOTS);
    this.#floats = new Float64Array(buffer, INT_SLOTS * 4, FLOAT_SLOTS);
  }

  // The writer's side.

  /** Published after every write (SegmentLog's onWritten); wakes the sender when it waits for this. */
  publishWritten(writtenPosition: number, writingBase: number, writtenRecords: number, batchEvents: number): void {
    this.#write(WRITER_SEQ, () => {
      this.#floats[WRITTEN_POSITION] = writtenPosition;
      this.#floats[WRITING_BASE] = writingBase;
      this.#floats[WRITTEN_RECORDS] = writtenRecords;
    });
    const waiting = Atomics.load(this.#ints, WAITING);
    if (waiting === DATA || (waiting === BATCH && this.unsentWritten(writtenRecords) >= batchEvents)) this.wake();
  }

  /** Written records Kafka has not acknowledged, from the writer's count of records written. */
  unsentWritten(writtenRecords: number): number {
    const f = this.#floats;
    return Math.max(0, f[BACKLOG] + (writtenRecords - f[WRITTEN_AT_START]) - f[DELIVERED]);
  }

  get readPosition(): number {
    return this.#floats[READ_POSITION];
  }

  get state(): SenderState {
    return STATES[Atomics.load(this.#ints, STATE)];
  }

  // The sender's side.

  writer(): WriterView {
    const f = this.#floats;
    return this.#read(WRITER_SEQ, () => ({
      writtenPosition: f[WRITTEN_POSITION],
      writingBase: f[WRITING_BASE],
      writtenRecords: f[WRITTEN_RECORDS],
    }));
  }

  /** At the sender's start: where it resumes. */
  publishStart(readPosition: number): void {
    this.#write(SENDER_SEQ, () => {
      this.#floats[READ_POSITION] = readPosition;
    });
  }

  /**
   * Once the sender counted what it found unsent, and the writer's count then. Until this, the counts of the thread
   * before it stand, so a replaced sender's backlog never reads as 0 while it is counted.
   */
  publishBacklog(records: number, writtenAtStart: number): void {
    this.#write(SENDER_SEQ, () => {
      this.#floats[BACKLOG] = records;
      this.#floats[WRITTEN_AT_START] = writtenAtStart;
      this.#floats[DELIVERED] = 0;
    });
  }

  publishDelivered(readPosition: number, delivered: number): void {
    this.#write(SENDER_SEQ, () => {
      this.#floats[READ_POSITION] = readPosition;
      this.#floats[DELIVERED] = delivered;
    });
  }

  setState(state: SenderState): void {
    Atomics.store(this.#ints, STATE, STATES.indexOf(state));
  }

  /**
   * Sleeps until woken, `ms` passes, or — checked after saying so, so a write in between is not missed —
   * `ready()` already holds. `waitingFor` tells the writer when to wake it.
   */
  async sleep(ms: number, waitingFor: typeof NOTHING | typeof DATA | typeof BATCH, ready: () => boolean) {
    const wake = Atomics.load(this.#ints, WAKE);
    Atomics.store(this.#ints, WAITING, waitingFor);
    try {
      if (ready()) return;
      const timeout = Number.isFinite(ms) ? Math.max(0, ms) : undefined;
      const wait = Atomics.waitAsync(this.#ints, WAKE, wake, timeout);
      if (wait.async) await wait.value;
    } finally {
      Atomics.store(this.#ints, WAITING, NOTHING);
    }
  }

  /** Ends the sender's sleep. One while it is awake is lost: its next sleep checks `ready()` first instead. */
  wake(): void {
    Atomics.store(this.#ints, WAITING, NOTHING);
    Atomics.add(this.#ints, WAKE, 1);
    Atomics.notify(this.#ints, WAKE);
  }

  #write(seq: number, update: () => void): void {
    Atomics.add(this.#ints, seq, 1);
    update();
    Atomics.add(this.#ints, seq, 1);
  }

  #read<T>(seq: number, read: () => T): T {
    for (;;) {
      const before = Atomics.load(this.#ints, seq);
      if ((before & 1) === 0) {
        const value = read();
        if (Atomics.load(this.#ints, seq) === before) return value;
      }
    }
  }
}
