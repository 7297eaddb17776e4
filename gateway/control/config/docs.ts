import { ConfigSchema } from './schema.ts';
import { envSettings } from './env.ts';

/**
 * The config reference (docs/reference/config.md) is generated from the schema, so the
 * docs cannot drift from validation (a test compares the two).
 */
function typeOf(s: any): string {
  if (s.anyOf) return s.anyOf.map(typeOf).join(' \\| ');
  if (s.const !== undefined) return `\`${s.const}\``;
  if (s.type === 'array') return `${typeOf(s.items)}[]`;
  if (s.type === 'object' && s.patternProperties) return 'map';
  return s.type ?? 'any';
}

export function configReference(): string {
  const rows: string[] = ['| key | type | description |', '| --- | --- | --- |'];
  const walk = (s: any, path: string) => {
    if (s.type === 'array' && s.items?.type === 'object') {
      rows.push(`| \`${path}\` | list | ${s.description ?? ''} |`);
      walk(s.items, `${path}[]`);
      return;
    }
    if (s.type === 'object' && s.properties) {
      if (path && s.description) rows.push(`| \`${path}\` | object | ${s.description} |`);
      for (const [k, sub] of Object.entries<any>(s.properties)) walk(sub, path ? `${path}.${k}` : k);
      return;
    }
    rows.push(`| \`${path}\` | ${typeOf(s)} | ${(s.description ?? '').replace(/\|/g, '\\|')} |`);
  };
  walk(ConfigSchema, '');
  // From the TypeBox schema, not the JSON file: that file is what this run is about to rewrite.
  const env = envSettings(ConfigSchema)
    .map((e) => `\`${e.env}\``)
    .join(', ');
  return `${rows.join('\n')}\n\nEnvironment overrides (deploy-time settings): ${env}.\n`;
}

export function jsonSchema(): string {
  return (
    JSON.stringify(
      {
        $schema: 'http://json-schema.org/draft-07/schema#',
        $id: 'https://tollgate.dev/schema/config.json',
        title: 'Tollgate config',
        ...ConfigSchema,
      },
      null,
      2,
    ) + '\n'
  );
}
