// Event id generation: the pooled UUIDv7 generator against Node's native
// (v4, not time-sortable) randomUUID and a naive UUIDv7 that asks crypto for
// fresh bytes on every id. Run: node_modules/.bin/node test/bench/events/id.bench.ts
import { randomBytes, randomUUID } from 'node:crypto';
import { newEventId } from '../../../shared/access-event-id.ts';
import { compareOpsPerSecond, formatOps } from './measure.ts';

function naiveUuidV7(): string {
  const b = randomBytes(16);
  b.writeUIntBE(Date.now(), 0, 6);
  b[6] = 0x70 | (b[6] & 0x0f);
  b[8] = 0x80 | (b[8] & 0x3f);
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

// Ids are used as text, so each competitor's string is read once (flattening a concatenation).
const competitors: [string, () => string][] = [
  ['newEventId (v7, pooled)', newEventId],
  ['crypto.randomUUID (v4)', randomUUID],
  ['naive v7 (randomBytes)', naiveUuidV7],
];
const results = compareOpsPerSecond(
  competitors.map(
    ([, make]) =>
      () =>
        make().charCodeAt(35),
  ),
);
console.log(`Event ids, node ${process.version}, median of interleaved rounds`);
competitors.forEach(([name], k) => {
  console.log(`${name.padEnd(24)} ${formatOps(results[k])}   ${(results[k] / results[0]).toFixed(2)}x`);
});
