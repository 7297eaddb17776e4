import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonSchema } from './docs.ts';
import { README, renderReadme, SCHEMA_FILE } from '../../scripts/generate.ts';

test('the published JSON Schema matches a fresh generation (run npm run generate)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), jsonSchema());
});

test('the README config reference matches the schema (run npm run generate)', () => {
  const readme = readFileSync(README, 'utf8');
  assert.equal(readme, renderReadme(readme));
});
