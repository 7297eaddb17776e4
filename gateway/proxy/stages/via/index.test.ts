import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RequestContext } from '../../context.ts';
import { passesOf, viaEntries, viaEntry } from './index.ts';

// The stage through a running gateway, a loop included: test/proxy/via.test.ts.

test("passesOf counts the pseudonym's entries, skipping comments (a comma in one too) and protocol names", () => {
  assert.equal(passesOf('1.1 tollgate', 'tollgate'), 1);
  assert.equal(passesOf('1.0 fred, 1.1 tollgate (a, b), HTTP/2 tollgate,1.1\ttollgate', 'tollgate'), 3);
  assert.equal(passesOf('1.1 tollgate-edge, 1.1 Tollgate, 1.1 x (tollgate)', 'tollgate'), 0);
  assert.equal(passesOf('1.1 a (nested (tollgate, 1.1 tollgate) c), 1.1 gw-b', 'gw-b'), 1);
  assert.equal(passesOf('', 'tollgate'), 0);
});

test('the entry names HTTP/2 as 2', () => {
  const entries = viaEntries({ enabled: true, pseudonym: 'edge', max_passes: 5 });
  assert.ok(entries !== undefined);
  assert.equal(viaEntry({ protocol: 'h2' } as RequestContext, entries), '2 edge');
  assert.equal(viaEntries({ enabled: false, pseudonym: 'edge', max_passes: 5 }), undefined);
});
