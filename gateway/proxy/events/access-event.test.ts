import { test } from 'node:test';
import assert from 'node:assert/strict';
import { traceIdOf } from './access-event.ts';

test(
  'traceIdOf takes the trace id of a W3C traceparent ' + 'and refuses uppercase, all-zero, short or malformed ones',
  () => {
    const id = '4bf92f3577b34da6a3ce929d0e0e4736';
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7-01`), id);
    assert.equal(traceIdOf(`00-${id.toUpperCase()}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${'0'.repeat(32)}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${'0'.repeat(31)}1-00f067aa0ba902b7-01`), `${'0'.repeat(31)}1`);
    assert.equal(traceIdOf(`00-${id.slice(0, 31)}g-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(`00-${id}-00f067aa0ba902b7`), '');
    assert.equal(traceIdOf(`00_${id}-00f067aa0ba902b7-01`), '');
    assert.equal(traceIdOf(undefined), '');
    assert.equal(traceIdOf([`00-${id}-00f067aa0ba902b7-01`]), '');
  },
);
