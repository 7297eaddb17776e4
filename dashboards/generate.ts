// `npm run dashboards`: writes dashboards/json/<uid>.json from dashboards/src/.
// The JSON is committed and never hand-edited; dashboards.test.ts fails when it is stale.
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderAll } from './src/render.ts';

export const JSON_DIR = join(import.meta.dirname, 'json');

function generate(): void {
  const files = renderAll();
  mkdirSync(JSON_DIR, { recursive: true });
  // A renamed or removed dashboard must not linger: Grafana would keep provisioning it.
  for (const name of readdirSync(JSON_DIR)) {
    if (name.endsWith('.json') && !files.has(name)) rmSync(join(JSON_DIR, name));
  }
  for (const [name, content] of files) writeFileSync(join(JSON_DIR, name), content);
  console.log(`wrote ${[...files.keys()].map((n) => `dashboards/json/${n}`).join(', ')}`);
}

if (import.meta.main) generate();
