import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, Reader, readRecordsBatch } from '@platformatic/kafka';
import { encodeRecordBatch, type Compression } from './record-batch.ts';

const producer = { producerId: 4242n, producerEpoch: 3, baseSequence: 1_000_000 };
// Short and long values: varint lengths of one, two and three bytes, and an empty one.
const values = [
  Buffer.from('a'),
  Buffer.alloc(0),
  Buffer.alloc(200, 7),
  Buffer.alloc(20_000, 9),
  ...Array.from({ length: 300 }, (_, i) => Buffer.from(`event ${i}`)),
];

for (const compression of ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as Compression[]) {
  test(
    `a ${compression} batch reads back with the client library: ` +
      `every value in order, the producer's id and sequence, a valid CRC`,
    () => {
      const batch = encodeRecordBatch(values, compression, producer, 1_750_000_000_123);
      const read = readRecordsBatch(Reader.from(batch));
      assert.equal(read.magic, 2);
      assert.equal(read.length, batch.length - 12);
      assert.equal(read.crc, crc32c(batch.subarray(21)));
      assert.equal(read.attributes & 7, { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 }[compression]);
      assert.equal(read.producerId, 4242n);
      assert.equal(read.producerEpoch, 3);
      assert.equal(read.firstSequence, 1_000_000);
      assert.equal(read.firstTimestamp, 1_750_000_000_123n);
      assert.equal(read.maxTimestamp, 1_750_000_000_123n);
      assert.equal(read.lastOffsetDelta, values.length - 1);
      assert.deepEqual(
        read.records.map((r) => r.offsetDelta),
        values.map((_, i) => i),
      );
      assert.deepEqual(
        read.records.map((r) => Buffer.from(r.value ?? [])),
        values,
      );
      assert.ok(read.records.every((r) => r.key === null && r.headers.length === 0 && r.timestampDelta === 0n));
    },
  );
}
