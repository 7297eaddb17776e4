#!/usr/bin/env node
// Tollgate runs TypeScript natively, which needs Node 24 (the project pins it as the `node` dev dependency).
const [major] = process.versions.node.split('.').map(Number);
if (major < 24) {
  console.error(`tollgate needs Node 24 or newer (this is ${process.version}); run it through npm (npm start) or with node_modules/.bin/node`);
  process.exit(1);
}
await import('../gateway/cli.ts');
