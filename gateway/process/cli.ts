// The process entry (package.json bin; scripts/bin/tollgate runs its bundle).
// tick-shape.ts runs before any other module is evaluated: it keeps nextTick's hidden class before
// start-up crowds the root object shape. The commands come in by dynamic import: with static imports
// the bundle (scripts/bundle.ts) would evaluate the chunks they share before it. v8-protectors.ts makes V8's
// one-time drops of typed-array code happen at start, not under load. async-resource-bind.ts takes a deprecated
// property, and its cost, off every request Node's HTTP/2 client makes.
import './tick-shape.ts';
import './v8-protectors.ts';
import './async-resource-bind.ts';

await import('./command.ts');
