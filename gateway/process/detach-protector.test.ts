import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

// Whether a function is still optimised needs --allow-natives-syntax, so the check runs in a child process: a
// function that reads a typed array is optimised, then a buffer is detached as write-then-free.ts does.
const CHILD = `
const bytes = new Uint8Array(64);
function sum(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
%PrepareFunctionForOptimization(sum);
sum(bytes);
sum(bytes);
%OptimizeFunctionOnNextCall(sum);
sum(bytes);
const optimised = %ActiveTierIsTurbofan(sum);
new ArrayBuffer(64).transfer(0);
console.log(JSON.stringify({ optimised, kept: %ActiveTierIsTurbofan(sum) }));
`;

function run(preload: string[]): { optimised: boolean; kept: boolean } {
  const args = ['--allow-natives-syntax', ...preload, '--input-type=module', '-e', CHILD];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
}

test('a buffer detached under load throws no optimised code away once the module has run at start', (t) => {
  // As JavaScript, as the bundle (esbuild) has it: Node's own type stripping of a .ts import detaches buffers itself.
  const dir = mkdtempSync(join(tmpdir(), 'detach-'));
  t.after(() => rmSync(dir, { recursive: true }));
  const module = join(dir, 'detach-protector.mjs');
  const source = readFileSync(new URL('./detach-protector.ts', import.meta.url), 'utf8');
  writeFileSync(module, transformSync(source, { loader: 'ts', format: 'esm' }).code);
  assert.deepEqual(run([]), { optimised: true, kept: false }, 'without it, the first detach drops the code');
  assert.deepEqual(run(['--import', module]), { optimised: true, kept: true });
});

test('the process entry runs it before the commands load', () => {
  const cli = readFileSync(new URL('./cli.ts', import.meta.url), 'utf8');
  const at = cli.indexOf("import './detach-protector.ts';");
  assert.ok(at > 0 && at < cli.indexOf("await import('./command.ts')"));
});
