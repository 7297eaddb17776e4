/**
 * One Kafka record batch (magic v2) holding encoded access events, one event
 * per record, written straight into one buffer. The client library builds
 * each record through its own growable writer (a handful of small buffers and
 * BigInt arithmetic per record, then a concatenation): that was ~3/4 of the
 * gateway's CPU per event with the Kafka sink on (README.md beside this file).
 * Records carry no key, no headers and the batch's timestamp, so each one is
 * 6–8 bytes of framing around the event.
 *
 * Layout (https://kafka.apache.org/documentation/#recordbatch):
 *   baseOffset int64, batchLength int32, partitionLeaderEpoch int32, magic int8 = 2,
 *   crc uint32 (CRC-32C of everything after it), attributes int16 (compression in bits 0-2),
 *   lastOffsetDelta int32, baseTimestamp int64, maxTimestamp int64, producerId int64,
 *   producerEpoch int16, baseSequence int32, recordCount int32, records (compressed as a whole)
 *   record = varint length, int8 attributes, varint timestampDelta, varint offsetDelta,
 *            varint keyLength (-1), varint valueLength, value, varint headerCount (0)
 *   varint = zigzag LEB128.
 */
import { compressionsAlgorithms, crc32c } from '@platformatic/kafka';

export type Compression = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';

export interface BatchProducer {
  producerId: bigint;
  producerEpoch: number;
  /** Sequence of the batch's first record in its partition (idempotent producer). */
  baseSequence: number;
}

const HEADER_BYTES = 61;
const CRC_AT = 17;
const ATTRIBUTES_AT = 21;
// Largest framing of one record: length (5), attributes, timestamp delta, offset delta (5), key, value length (5),
// headers.
const MAX_FRAMING_BYTES = 18;

export function encodeRecordBatch(
  values: readonly Buffer[],
  compression: Compression,
  producer: BatchProducer,
  timestampMs: number,
): Buffer {
  let capacity = 0;
  for (const value of values) capacity += value.length + MAX_FRAMING_BYTES;
  const compressed = compression !== 'none';
  // Uncompressed records go straight after the header; compressed ones into their own buffer first.
  const records = Buffer.allocUnsafe((compressed ? 0 : HEADER_BYTES) + capacity);
  let pos = compressed ? 0 : HEADER_BYTES;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    const offsetDeltaBytes = varintBytes(i << 1);
    const valueLengthBytes = varintBytes(value.length << 1);
    // attributes, timestamp delta 0, offset delta, key length -1, value length, value, 0 headers.
    const length = 1 + 1 + offsetDeltaBytes + 1 + valueLengthBytes + value.length + 1;
    pos = writeVarint(records, pos, length << 1);
    records[pos++] = 0;
    records[pos++] = 0;
    pos = writeVarint(records, pos, i << 1);
    records[pos++] = 1;
    pos = writeVarint(records, pos, value.length << 1);
    pos += value.copy(records, pos);
    records[pos++] = 0;
  }
  let batch: Buffer;
  let attributes = 0;
  if (compressed) {
    const algorithm = compressionsAlgorithms[compression];
    const body = algorithm.compressSync(records.subarray(0, pos)) as Buffer;
    attributes = algorithm.bitmask;
    batch = Buffer.allocUnsafe(HEADER_BYTES + body.length);
    body.copy(batch, HEADER_BYTES);
  } else {
    batch = records.subarray(0, pos);
  }
  batch.writeBigInt64BE(0n, 0);
  batch.writeInt32BE(batch.length - 12, 8);
  batch.writeInt32BE(-1, 12);
  batch[16] = 2;
  batch.writeInt16BE(attributes, ATTRIBUTES_AT);
  batch.writeInt32BE(values.length - 1, 23);
  const timestamp = BigInt(timestampMs);
  batch.writeBigInt64BE(timestamp, 27);
  batch.writeBigInt64BE(timestamp, 35);
  batch.writeBigInt64BE(producer.producerId, 43);
  batch.writeInt16BE(producer.producerEpoch, 51);
  batch.writeInt32BE(producer.baseSequence, 53);
  batch.writeInt32BE(values.length, 57);
  batch.writeUInt32BE(crc32c(batch.subarray(ATTRIBUTES_AT)), CRC_AT);
  return batch;
}

/** Bytes of the unsigned LEB128 of a (zigzagged, non-negative) value. */
function varintBytes(value: number): number {
  let n = 1;
  for (let v = value >>> 7; v > 0; v >>>= 7) n++;
  return n;
}

function writeVarint(out: Buffer, at: number, value: number): number {
  let pos = at;
  let v = value >>> 0;
  while (v > 0x7f) {
    out[pos++] = (v & 0x7f) | 0x80;
    v >>>= 7;
  }
  out[pos++] = v;
  return pos;
}
