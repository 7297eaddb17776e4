import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errors, errorBody } from './errors.ts';

test('every error code is GW_ERR_*, has a 4xx/5xx status and a message', () => {
  for (const [code, def] of Object.entries(errors)) {
    assert.match(code, /^GW_ERR_[A-Z_]+$/);
    assert.ok(def.status >= 400 && def.status < 600, code);
    assert.ok(def.message.length > 0, code);
  }
});

test('every error code is documented in the README', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const code of Object.keys(errors)) assert.ok(readme.includes(`\`${code}\``), `${code} missing from README`);
});

test('5xx messages say nothing internal', () => {
  for (const [code, def] of Object.entries(errors)) {
    if (def.status < 500) continue;
    assert.doesNotMatch(def.message, /\d+\.\d+\.\d+\.\d+|localhost|stack|Error:/i, code);
  }
});

test('an error body is {code, message, request_id}', () => {
  assert.deepEqual(JSON.parse(errorBody('GW_ERR_NO_ROUTE', 'r1')), { code: 'GW_ERR_NO_ROUTE', message: errors.GW_ERR_NO_ROUTE.message, request_id: 'r1' });
});
