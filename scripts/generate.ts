// Regenerates the files derived from the config schema: the published JSON
// Schema and the config reference page. `npm run generate`; a test fails
// when either differs from a fresh generation.
import { writeFileSync } from 'node:fs';
import { configReference, jsonSchema } from '../gateway/control/config/docs.ts';

export const SCHEMA_FILE = new URL('../gateway/control/config/tollgate.schema.json', import.meta.url);
export const CONFIG_REFERENCE = new URL('../docs/reference/config.md', import.meta.url);

export function renderConfigReference(): string {
  return `# Config reference

Every key of the config file, its type, its default and what it does. This page is generated from the
schema (\`gateway/control/config/schema.ts\`) by \`npm run generate\`, which also writes the JSON Schema
[\`gateway/control/config/tollgate.schema.json\`](../../gateway/control/config/tollgate.schema.json) for editors; a test fails when
either differs from the schema. How the pieces fit together: [Configuration](../configuration.md).

${configReference()}`;
}

if (import.meta.main) {
  writeFileSync(SCHEMA_FILE, jsonSchema());
  writeFileSync(CONFIG_REFERENCE, renderConfigReference());
  console.log('generated gateway/control/config/tollgate.schema.json and docs/reference/config.md');
}
