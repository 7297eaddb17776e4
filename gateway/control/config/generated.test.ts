import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonSchema } from './docs.ts';
import { adminOpenApi, renderAdminApiReference } from '../../../scripts/admin-api-doc.ts';
import {
  ADMIN_API_REFERENCE,
  CONFIG_REFERENCE,
  renderConfigReference,
  renderValidator,
  SCHEMA_FILE,
  VALIDATOR_FILE,
} from '../../../scripts/generate.ts';

test('the published JSON Schema matches a fresh generation (run npm run generate)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), jsonSchema());
});

test('docs/reference/config.md matches the schema (run npm run generate)', () => {
  assert.equal(readFileSync(CONFIG_REFERENCE, 'utf8'), renderConfigReference());
});

test('the compiled config validator matches a fresh generation (run npm run generate)', () => {
  assert.equal(readFileSync(VALIDATOR_FILE, 'utf8'), renderValidator());
});

test('docs/reference/admin-api.md matches the served OpenAPI document (run npm run generate)', async () => {
  assert.equal(readFileSync(ADMIN_API_REFERENCE, 'utf8'), renderAdminApiReference(await adminOpenApi()));
});
