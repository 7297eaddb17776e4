import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { errors, errorBody, grpcStatusOf, type ErrorCode } from './errors.ts';
import { GRPC_STATUS } from '../shared/grpc-status.ts';

test('every error code is GW_ERR_*, has a 4xx/5xx status and a message', () => {
  for (const [code, def] of Object.entries(errors)) {
    assert.match(code, /^GW_ERR_[A-Z_]+$/);
    assert.ok(def.status >= 400 && def.status < 600, code);
    assert.ok(def.message.length > 0, code);
  }
});

test("docs/reference/errors.md lists exactly the registry's codes, each with its status", () => {
  const page = readFileSync(new URL('../docs/reference/errors.md', import.meta.url), 'utf8');
  const rows = new Map([...page.matchAll(/^\| `(GW_ERR_[A-Z_]+)` \| (\d{3}) \|/gm)].map((m) => [m[1], Number(m[2])]));
  for (const [code, def] of Object.entries(errors))
    assert.equal(rows.get(code), def.status, `${code} (${def.status}) in docs/reference/errors.md`);
  for (const code of rows.keys()) assert.ok(code in errors, `${code} is documented but not in the registry`);
});

test("the page's gRPC column is the status a gRPC call gets for each code (— for admin API codes)", () => {
  const page = readFileSync(new URL('../docs/reference/errors.md', import.meta.url), 'utf8');
  const rows = [...page.matchAll(/^\| `(GW_ERR_[A-Z_]+)` \| \d{3} \| (`([A-Z_]+)`|—) \| (.*)$/gm)];
  assert.equal(rows.length, Object.keys(errors).length);
  for (const [, code, , name, when] of rows) {
    if (name === undefined) assert.match(when, /^admin API/, `${code}: only admin API codes go without a gRPC status`);
    else assert.equal(GRPC_STATUS[name as keyof typeof GRPC_STATUS], grpcStatusOf(code as ErrorCode), code);
  }
});

test('5xx messages say nothing internal', () => {
  for (const [code, def] of Object.entries(errors)) {
    if (def.status < 500) continue;
    assert.doesNotMatch(def.message, /\d+\.\d+\.\d+\.\d+|localhost|stack|Error:/i, code);
  }
});

test('an error body is {code, message, request_id}', () => {
  assert.deepEqual(JSON.parse(errorBody('GW_ERR_NO_ROUTE', 'r1')), {
    code: 'GW_ERR_NO_ROUTE',
    message: errors.GW_ERR_NO_ROUTE.message,
    request_id: 'r1',
  });
});
