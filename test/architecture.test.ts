import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(path);
    else if (entry.name.endsWith('.ts')) yield path;
  }
}

/** Every relative module a file imports or re-exports (static and dynamic), as repository paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)['"](\.{1,2}\/[^'"]+)['"]/g)].map((m) => m[1]);
  return specs.map((s) => relative(root, resolve(dirname(file), s)));
}

test('collector/ and shared/ never import gateway/: the collector mounts into the gateway, not the reverse', () => {
  const crossings: string[] = [];
  for (const top of ['collector', 'shared']) {
    for (const file of sources(join(root, top))) {
      for (const target of importsOf(file))
        if (target.startsWith('gateway/')) crossings.push(`${relative(root, file)} → ${target}`);
    }
  }
  assert.deepEqual(crossings, []);
});

const CODE_FOLDERS = ['gateway', 'collector', 'shared', 'scripts', 'dashboards', 'test'];

test('no line of TypeScript is over 120 characters', () => {
  const long: string[] = [];
  for (const top of CODE_FOLDERS) {
    for (const file of sources(join(root, top))) {
      readFileSync(file, 'utf8')
        .split('\n')
        .forEach((line, i) => {
          if (line.length > 120) long.push(`${relative(root, file)}:${i + 1} (${line.length})`);
        });
    }
  }
  assert.deepEqual(long, []);
});

test('no source file is over 350 lines (STYLE.md: small files with one purpose)', () => {
  const big: string[] = [];
  for (const top of CODE_FOLDERS) {
    for (const file of sources(join(root, top))) {
      const lines = readFileSync(file, 'utf8').split('\n').length - 1;
      if (lines > 350) big.push(`${relative(root, file)} (${lines})`);
    }
  }
  assert.deepEqual(big, []);
});

test('every stage folder has its code in index.ts and a test beside it', () => {
  const stages = join(root, 'gateway/proxy/stages');
  const missing: string[] = [];
  for (const entry of readdirSync(stages, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const files = readdirSync(join(stages, entry.name));
    if (!files.includes('index.ts')) missing.push(`${entry.name}: no index.ts`);
    if (!files.some((f) => f.endsWith('.test.ts'))) missing.push(`${entry.name}: no test beside the code`);
  }
  assert.deepEqual(missing, []);
});

test('no test names a target or endpoint by a port from freePort(): a dead one must come from closedPort()', () => {
  // freePort's port is in the ephemeral range, where a later listen(0), the gateway's own included, can take it:
  // a "dead" upstream then became the gateway, and a CI run got 508 (loop) where it expected 502.
  const found: string[] = [];
  for (const file of sources(join(root, 'test'))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/:\/\/[^`'"]*\$\{await freePort\(\)\}/.test(line)) found.push(`${relative(root, file)}:${i + 1}`);
      });
  }
  assert.deepEqual(found, []);
});
