import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (options: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
let gc: Gc | undefined;

/**
 * One memory-reducing full GC of the calling thread's heap, which hands V8's grown young generation and free heap
 * pages back to the OS; V8's own memory reducer did not while the gateway idled
 * (docs/decisions/0007-memory-settings.md). It blocks the thread once (30-300 ms on the proxy thread).
 *
 * `gc` is taken from a throw-away context, so it never appears on globalThis. The flag that exposes it is
 * process-wide and each of the gateway's threads takes `gc` for itself: a thread that finds the flag turned off by
 * another meanwhile skips this release (returns false) and takes `gc` at its next.
 */
export function releaseHeap(): boolean {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    try {
      gc = runInNewContext('typeof gc === "function" ? gc : undefined') as Gc | undefined;
    } finally {
      setFlagsFromString('--no-expose-gc');
    }
  }
  if (gc === undefined) return false;
  gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
  return true;
}
