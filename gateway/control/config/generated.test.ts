import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonSchema } from './docs.ts';
import { CONFIG_REFERENCE, renderConfigReference, SCHEMA_FILE } from '../../../scripts/generate.ts';

test('the published JSON Schema matches a fresh generation (run npm run generate)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), jsonSchema());
});

test('docs/reference/config.md matches the schema (run npm run generate)', () => {
  assert.equal(readFileSync(CONFIG_REFERENCE, 'utf8'), renderConfigReference());
});
