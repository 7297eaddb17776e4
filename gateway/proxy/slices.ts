import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Work written as a generator that yields between small steps (a service
 * compiled, a pool compared), run either at once or in slices of the event
 * loop. A reload of a large config runs in slices: requests keep being
 * answered between them, on the config that served before, where one long
 * compile held every reply back for its whole length (DataPlane.apply).
 */
export type Steps<T> = Generator<void, T, void>;

/** Runs `steps` to the end without giving the event loop a turn (start-up, tests). */
export function runAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** Runs `steps` to the end, giving the event loop a turn each time one slice has taken `sliceMs`. */
export async function runSliced<T>(steps: Steps<T>, sliceMs: number): Promise<T> {
  let start = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    if (performance.now() - start >= sliceMs) {
      await nextTurn();
      start = performance.now();
    }
  }
}
