import assert from 'node:assert/strict';
import { test } from 'node:test';
import { healthCheckRequest, servingStatus } from './grpc-probe.ts';

test('a health check request is its gRPC frame: flag, length, then field 1 naming the service', () => {
  assert.deepEqual([...healthCheckRequest('')], [0, 0, 0, 0, 0]);
  assert.deepEqual([...healthCheckRequest('a.B')], [0, 0, 0, 0, 5, 0x0a, 3, 0x61, 0x2e, 0x42]);
  const long = healthCheckRequest('x'.repeat(200));
  assert.deepEqual([...long.subarray(0, 8)], [0, 0, 0, 0, 203, 0x0a, 0xc8, 1], '200 as a varint is 0xc8 0x01');
});

test('the serving status is read from field 1 of the answer, 0 when absent or unreadable', () => {
  const frame = (...message: number[]) => Buffer.from([0, 0, 0, 0, message.length, ...message]);
  assert.equal(servingStatus(frame(0x08, 1)), 1);
  assert.equal(servingStatus(frame(0x08, 2)), 2);
  assert.equal(servingStatus(frame()), 0);
  assert.equal(servingStatus(frame(0x10, 7, 0x08, 1)), 1, 'an unknown varint field before it is skipped');
  assert.equal(servingStatus(frame(0x12, 1, 0x61)), 0, 'a length-delimited field is not guessed at');
  assert.equal(servingStatus(Buffer.from([1, 0, 0, 0, 2, 0x08, 1])), 0, 'a compressed frame is not read');
});
