import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isNoResponse } from './classify.ts';

const err = (code: string) => Object.assign(new Error(code), { code });

test('no response: a failed connect at any time, a lost connection only before the response', () => {
  for (const code of ['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EHOSTUNREACH']) {
    assert.equal(isNoResponse(err(code), false), true, code);
  }
  for (const code of ['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']) {
    assert.equal(isNoResponse(err(code), false), true, code);
    assert.equal(isNoResponse(err(code), true), false, `${code} once the response started`);
  }
  for (const code of [
    'TOLLGATE_HEADERS_TIMEOUT',
    'HPE_INVALID_CONSTANT',
    'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
    'UND_ERR_INFO',
  ]) {
    assert.equal(isNoResponse(err(code), false), false, code);
  }
});
