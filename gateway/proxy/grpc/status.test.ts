import assert from 'node:assert/strict';
import { test } from 'node:test';
import { grpcStatusIn } from './status.ts';

test('a grpc-status is read from the trailers, else a trailers-only head; -1 when neither has one', () => {
  assert.equal(grpcStatusIn({ 'grpc-status': '14' }, { 'grpc-status': '0' }), 14);
  assert.equal(grpcStatusIn({}, { 'grpc-status': '5' }), 5);
  assert.equal(grpcStatusIn({}, undefined), -1);
  assert.equal(grpcStatusIn({}, {}), -1);
});

test('a grpc-status that is not a code in decimal digits is UNKNOWN, never a number too large to record', () => {
  for (const value of ['99999999999999999999', '1e3', '0x10', '-5', '3.0', ' 3', '17', '', 'OK'])
    assert.equal(grpcStatusIn({ 'grpc-status': value }, undefined), 2, JSON.stringify(value));
  assert.equal(grpcStatusIn({ 'grpc-status': ['1', '2'] }, undefined), 2);
  assert.equal(grpcStatusIn({ 'grpc-status': '16' }, undefined), 16);
  assert.equal(grpcStatusIn({ 'grpc-status': '00' }, undefined), 0);
});
