// Binary v1 (the production codec) against JSON, on the same realistic events:
// encode, decode and round-trip ops/s, and record size.
// Run: node_modules/.bin/node test/bench/events/codec.bench.ts
// The JSON competitors live only here; they validate what they decode as the
// binary codec does (types, safe integers, 4 KiB strings, known errorClass),
// or the comparison would reward doing less.
import { ERROR_CLASSES } from '../../../shared/access-event.ts';
import type { AccessEvent } from '../../../shared/access-event.ts';
import { decode, encode, MAX_FIELD_BYTES } from '../../../shared/access-event-codec.ts';
import { gzipSync, zstdCompressSync } from 'node:zlib';
import { compareOpsPerSecond, formatOps } from './measure.ts';
import { sampleEvents } from './sample-events.ts';

interface Codec {
  name: string;
  encode(e: AccessEvent): Buffer;
  decode(b: Buffer): AccessEvent;
}

const FIELDS = [
  'id',
  'startMs',
  'node',
  'appId',
  'service',
  'route',
  'method',
  'status',
  'upstreamStatus',
  'totalUs',
  'upstreamUs',
  'gatewayUs',
  'bytesIn',
  'bytesOut',
  'clientIp',
  'target',
  'errorClass',
  'traceId',
  'protocol',
  'tlsVersion',
  'grpcStatus',
  'grpcMethod',
  'messagesIn',
  'messagesOut',
] as const;
const NUMBER_FIELDS = new Set<string>([
  'startMs',
  'status',
  'upstreamStatus',
  'totalUs',
  'upstreamUs',
  'gatewayUs',
  'bytesIn',
  'bytesOut',
  'messagesIn',
  'messagesOut',
]);
const ERROR_CLASS_SET = new Set<string>(ERROR_CLASSES);

function checked(field: string, value: unknown): unknown {
  if (field === 'grpcStatus') {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < -1) throw new Error(`bad ${field}`);
  } else if (NUMBER_FIELDS.has(field)) {
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`bad ${field}`);
  } else if (
    typeof value !== 'string' ||
    (value.length > MAX_FIELD_BYTES / 3 && Buffer.byteLength(value) > MAX_FIELD_BYTES)
  ) {
    throw new Error(`bad ${field}`);
  } else if (field === 'errorClass' && !ERROR_CLASS_SET.has(value)) throw new Error('bad errorClass');
  return value;
}

// Version byte 2, then the event as a JSON object with its field names.
const jsonObject: Codec = {
  name: 'JSON object',
  encode: (e) => Buffer.from('\u0002' + JSON.stringify(e)),
  decode(b) {
    if (b[0] !== 2) throw new Error('unknown version');
    const raw = JSON.parse(b.toString('utf8', 1)) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
    const e: Record<string, unknown> = {};
    for (const field of FIELDS) e[field] = checked(field, raw[field]);
    return e as unknown as AccessEvent;
  },
};

// Version byte 3, then the fields as a positional JSON array: JSON at its most compact.
const jsonArray: Codec = {
  name: 'JSON array',
  encode: (e) => Buffer.from('\u0003' + JSON.stringify(FIELDS.map((field) => e[field]))),
  decode(b) {
    if (b[0] !== 3) throw new Error('unknown version');
    const raw = JSON.parse(b.toString('utf8', 1)) as unknown[];
    if (!Array.isArray(raw) || raw.length !== FIELDS.length) throw new Error('not an event array');
    const e: Record<string, unknown> = {};
    for (let i = 0; i < FIELDS.length; i++) e[FIELDS[i]] = checked(FIELDS[i], raw[i]);
    return e as unknown as AccessEvent;
  },
};

const binary: Codec = { name: 'binary v2', encode, decode };
const codecs = [binary, jsonObject, jsonArray];

const events = sampleEvents(4096);
const mask = events.length - 1;

for (const c of codecs) {
  for (const e of events.slice(0, 200)) {
    const back = c.decode(c.encode(e));
    if (JSON.stringify(back) !== JSON.stringify(e))
      throw new Error(`${c.name} does not round-trip ${JSON.stringify(e)}`);
  }
}

const encoded = codecs.map((c) => events.map((e) => c.encode(e)));
const encodeOps = compareOpsPerSecond(codecs.map((c) => (i: number) => c.encode(events[i & mask])));
const decodeOps = compareOpsPerSecond(codecs.map((c, k) => (i: number) => c.decode(encoded[k][i & mask])));
const roundTripOps = compareOpsPerSecond(codecs.map((c) => (i: number) => c.decode(c.encode(events[i & mask]))));
// Kafka compresses whole batches, which narrows the gap JSON's repeated keys
// open; 500 events is about one 100 ms linger at 5k requests/s.
const batchEvents = 500;
function compressedPerEvent(records: Buffer[], compress: (b: Buffer) => Buffer): number {
  let total = 0;
  for (let i = 0; i + batchEvents <= records.length; i += batchEvents) {
    total += compress(Buffer.concat(records.slice(i, i + batchEvents))).length;
  }
  return total / (Math.floor(records.length / batchEvents) * batchEvents);
}

const rows = codecs.map((c, k) => {
  const sizes = encoded[k].map((b) => b.length);
  return {
    name: c.name,
    meanBytes: sizes.reduce((a, b) => a + b, 0) / sizes.length,
    maxBytes: Math.max(...sizes),
    gzipBytes: compressedPerEvent(encoded[k], gzipSync),
    zstdBytes: compressedPerEvent(encoded[k], zstdCompressSync),
    encodeOps: encodeOps[k],
    decodeOps: decodeOps[k],
    roundTripOps: roundTripOps[k],
  };
});

const base = rows[0];
console.log(
  `AccessEvent codecs, ${events.length} sample events, node ${process.version}, median of interleaved rounds`,
);
console.log(
  `${'codec'.padEnd(12)} ${'mean B'.padStart(7)} ${'max B'.padStart(6)} ${'gzip B'.padStart(7)} ` +
    `${'zstd B'.padStart(7)} ${'encode'.padStart(10)} ${'decode'.padStart(10)} ${'enc+dec'.padStart(10)}   ` +
    `vs ${base.name}: size, enc+dec speed`,
);
for (const r of rows) {
  console.log(
    `${r.name.padEnd(12)} ${r.meanBytes.toFixed(1).padStart(7)} ${String(r.maxBytes).padStart(6)} ` +
      `${r.gzipBytes.toFixed(1).padStart(7)} ${r.zstdBytes.toFixed(1).padStart(7)} ` +
      `${formatOps(r.encodeOps)} ${formatOps(r.decodeOps)} ${formatOps(r.roundTripOps)}   ` +
      `${(r.meanBytes / base.meanBytes).toFixed(2)}x, ${(r.roundTripOps / base.roundTripOps).toFixed(2)}x`,
  );
}
