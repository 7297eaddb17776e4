import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServerNames } from './server-names.ts';

test('exact names before wildcards; a wildcard covers one label; any case; a trailing dot ignored', () => {
  const names = new ServerNames<string>();
  names.add('*.Example.com', 'wild');
  names.add('api.example.com', 'api');
  assert.equal(names.find('API.example.com.'), 'api');
  assert.equal(names.find('a.example.com'), 'wild');
  assert.equal(names.find('example.com'), undefined);
  assert.equal(names.find('a.b.example.com'), undefined);
  assert.equal(names.find(''), undefined);
  names.add('api.example.com', 'later');
  assert.equal(names.find('api.example.com'), 'later', 'a name added again takes the later value');
});
