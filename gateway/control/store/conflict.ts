/**
 * A compare-and-set append refused: the store's head had moved past the
 * version the new config was derived from (another node appended first).
 * Nothing was stored; the caller re-reads the head and redoes its change.
 */
export class ConfigConflictError extends Error {
  /** The version the append was derived from. */
  readonly base: number;
  /** The store's head when the append was refused (greater than `base`). */
  readonly head: number;

  constructor(base: number, head: number) {
    super(`config store head is at version ${head}, past the base ${base} this version was derived from`);
    this.name = 'ConfigConflictError';
    this.base = base;
    this.head = head;
  }
}

/**
 * Tries of an admin edit whose append another node beat to the shared head;
 * each adopts that node's version and redoes the edit on it. Five lost races
 * in a row means the cluster is being edited faster than edits go through.
 */
export const EDIT_ATTEMPTS = 5;
