import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatGrpcTimeout, parseGrpcTimeout } from './timeout.ts';

test('grpc-timeout is read in every unit, and anything else is invalid', () => {
  assert.equal(parseGrpcTimeout(undefined), undefined);
  assert.equal(parseGrpcTimeout('1H'), 3_600_000);
  assert.equal(parseGrpcTimeout('2M'), 120_000);
  assert.equal(parseGrpcTimeout('5S'), 5000);
  assert.equal(parseGrpcTimeout('250m'), 250);
  assert.equal(parseGrpcTimeout('1500u'), 1.5);
  assert.equal(parseGrpcTimeout('99999999n'), 99.999999);
  for (const bad of ['', '5', 'S', '123456789m', '-5S', '5 S', '5s', '1.5S', '5SS']) {
    assert.equal(parseGrpcTimeout(bad), 'invalid', JSON.stringify(bad));
  }
  assert.equal(parseGrpcTimeout(['5S', '6S']), 'invalid');
});

test('the remaining time goes upstream in the finest unit that fits 8 digits, rounded up', () => {
  assert.equal(formatGrpcTimeout(0.0004), '1u');
  assert.equal(formatGrpcTimeout(12.3456), '12346u');
  assert.equal(formatGrpcTimeout(99_999.999), '99999999u');
  assert.equal(formatGrpcTimeout(100_000), '100000m');
  assert.equal(formatGrpcTimeout(86_400_000 * 365), '31536000S');
  for (const ms of [0.5, 7, 4321.5, 1e7]) assert.ok((parseGrpcTimeout(formatGrpcTimeout(ms)) as number) >= ms);
});
