/**
 * The newest access events the single-node collector counted, for the console's live tail (GET /events/recent):
 * their records copied into fixed slots of one buffer as they are counted, decoded only when asked for. Counting
 * pays a copy of ~150 bytes per event and allocates nothing; memory is fixed (slots × slot size).
 */
import { decode } from '../../shared/access-event-codec.ts';
import type { AccessEvent } from '../../shared/access-event.ts';
import { matchesRecent, type RecentEvent, type RecentSelection } from '../reports/source.ts';

export class RecentEvents {
  readonly #slotBytes: number;
  readonly #slots: number;
  readonly #buffer: Buffer;
  readonly #lengths: Uint16Array;
  /** Records added so far; the newest is in slot (added - 1) % slots. */
  #added = 0;

  constructor(slots = 1024, slotBytes = 512) {
    this.#slots = slots;
    this.#slotBytes = slotBytes;
    this.#buffer = Buffer.alloc(slots * slotBytes);
    this.#lengths = new Uint16Array(slots);
  }

  /** Keeps a copy of `record` (a longer one than a slot is left out: a tail may miss it). */
  add(record: Buffer): void {
    if (record.length > this.#slotBytes) return;
    const slot = this.#added % this.#slots;
    record.copy(this.#buffer, slot * this.#slotBytes);
    this.#lengths[slot] = record.length;
    this.#added++;
  }

  /** The newest events that match, newest first. */
  newest(q: RecentSelection): RecentEvent[] {
    const out: RecentEvent[] = [];
    const held = Math.min(this.#added, this.#slots);
    for (let i = 1; i <= held && out.length < q.limit; i++) {
      const slot = (this.#added - i) % this.#slots;
      const at = slot * this.#slotBytes;
      let e: AccessEvent;
      try {
        e = decode(this.#buffer.subarray(at, at + this.#lengths[slot]));
      } catch {
        continue;
      }
      if (matchesRecent(q, e.appId, e.service, e.status)) out.push(recentEventOf(e));
    }
    return out;
  }
}

export function recentEventOf(e: AccessEvent): RecentEvent {
  return {
    id: e.id,
    time: new Date(e.startMs).toISOString(),
    app_id: e.appId,
    service: e.service,
    route: e.route,
    method: e.method,
    status: e.status,
    protocol: e.protocol,
    total_ms: Math.round(e.totalUs / 100) / 10,
    client_ip: e.clientIp,
    target: e.target,
    error_class: e.errorClass,
    grpc_status: e.grpcStatus < 0 ? null : e.grpcStatus,
    bytes_in: e.bytesIn,
    bytes_out: e.bytesOut,
    trace_id: e.traceId,
  };
}
