import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isBillable } from './billable.ts';

test('only requests the service answered without a server error are billable', () => {
  assert.equal(isBillable({ errorClass: 'none', upstreamStatus: 200, status: 200 }), true);
  assert.equal(isBillable({ errorClass: 'none', upstreamStatus: 404, status: 404 }), true);
  assert.equal(isBillable({ errorClass: 'none', upstreamStatus: 503, status: 503 }), false);
  assert.equal(isBillable({ errorClass: 'rate_limited', upstreamStatus: 0, status: 429 }), false);
  assert.equal(isBillable({ errorClass: 'no_route', upstreamStatus: 0, status: 404 }), false);
  assert.equal(isBillable({ errorClass: 'client_closed', upstreamStatus: 0, status: 499 }), false);
});

test('a request the service had whole is billable though its client left, unless the service had begun a 5xx', () => {
  assert.equal(isBillable({ errorClass: 'client_closed_late', upstreamStatus: 0, status: 499 }), true);
  assert.equal(isBillable({ errorClass: 'client_closed_late', upstreamStatus: 200, status: 499 }), true);
  assert.equal(isBillable({ errorClass: 'client_closed_late', upstreamStatus: 502, status: 499 }), false);
});
