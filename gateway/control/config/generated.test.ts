import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { jsonSchema } from './docs.ts';
import { schemaErrors } from './validator.ts';
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

test('the compiled config validator is many small functions, none of which V8 must compile at great cost', () => {
  // One function for the whole config (780 KB of source) was compiled by Maglev at every large reload, and the memory
  // that took stayed with the process (scripts/generate.ts, splitSchema).
  const code = readFileSync(VALIDATOR_FILE, 'utf8');
  const starts = [...code.matchAll(/function validate\d+\(/g)].map((m) => m.index);
  const sizes = starts.map((at, i) => (starts[i + 1] ?? code.length) - at);
  assert.ok(sizes.length >= 20, `${sizes.length} functions`);
  assert.ok(Math.max(...sizes) <= 64 * 1024, `largest function: ${Math.max(...sizes)} chars`);
});

test('a config error inside a split-out subschema still names its field and its allowed values', () => {
  const config = { services: [{ name: 's', routes: [{ paths: ['/'] }], upstream: { balancer: 'nope', targets: [] } }] };
  const errors = schemaErrors(config);
  const balancer = errors.find((e) => e.path === '/services/0/upstream/balancer');
  assert.ok(balancer, JSON.stringify(errors));
  assert.match(balancer.message, /^must be one of "round_robin"/);
  const route = { paths: ['/'], request_headers: { set: { 'bad name': 'x' } } };
  const headers = schemaErrors({ services: [{ name: 's', routes: [route], upstream: { targets: [] } }] });
  const name = headers.find((e) => e.path === '/services/0/routes/0/request_headers/set/bad name');
  assert.match(name?.message ?? JSON.stringify(headers), /^name must match pattern "/);
});
