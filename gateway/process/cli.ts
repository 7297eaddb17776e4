// The process entry (package.json bin; scripts/bin/tollgate runs its bundle).
// tick-shape.ts runs before any other module is evaluated: it keeps nextTick's hidden class before
// start-up crowds the root object shape. The commands come in by dynamic import: with static imports
// the bundle (scripts/bundle.ts) would evaluate the chunks they share before it. detach-protector.ts makes V8's
// one-time drop of typed-array code happen at start, not under load.
import './tick-shape.ts';
import './detach-protector.ts';

await import('./command.ts');
