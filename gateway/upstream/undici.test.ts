import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as undici from 'undici';
import { Agent, Pool, request } from './undici.ts';

test('the deep undici modules are the classes and request function undici exports', async () => {
  assert.equal(Pool, undici.Pool);
  assert.equal(Agent, undici.Agent);
  assert.equal(typeof request, 'function');
  const agent = new Agent();
  assert.equal(agent.request, undici.Dispatcher.prototype.request, 'same Dispatcher prototype');
  await agent.close();
});
