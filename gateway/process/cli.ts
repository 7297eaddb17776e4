// The process entry (package.json bin; scripts/bin/tollgate runs its bundle).
// Two modules run before any other module is evaluated:
// - tick-shape.ts keeps nextTick's hidden class, before ajv's compile crowds the root object shape;
// - startup-tiering.ts turns V8's optimising tiers off while the gateway starts (and, in a process
//   that serves, until its first request: tiering.ts).
// The commands come in by dynamic import: with static imports the bundle
// (scripts/bundle.ts) would evaluate the chunks they share before these two.
import './tick-shape.ts';
import './startup-tiering.ts';

await import('./command.ts');
