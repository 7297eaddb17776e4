import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';

// Whether a function is still optimised needs --allow-natives-syntax, so the check runs in a child process: a
// function that reads a typed array is optimised, then the gateway's work does what it does under load.
const child = (underLoad: string) => `
const bytes = new Uint8Array(64);
function sum(a) { let s = 0; for (let i = 0; i < a.length; i++) s += a[i]; return s; }
%PrepareFunctionForOptimization(sum);
sum(bytes);
sum(bytes);
%OptimizeFunctionOnNextCall(sum);
sum(bytes);
const optimised = %ActiveTierIsTurbofan(sum);
${underLoad};
console.log(JSON.stringify({ optimised, kept: %ActiveTierIsTurbofan(sum) }));
`;

const UNDER_LOAD = {
  // write-then-free.ts, and a trace export moving its bytes to the exporter's thread.
  'a buffer detached': 'new ArrayBuffer(64).transfer(0)',
  // What Node's HTTP server does in C++ for an upgrade's first bytes or a malformed request's raw packet.
  "a typed array's prototype set": 'Object.setPrototypeOf(new Uint8Array(8), Buffer.prototype)',
};

function run(preload: string[], underLoad: string): { optimised: boolean; kept: boolean } {
  const args = ['--allow-natives-syntax', ...preload, '--input-type=module', '-e', child(underLoad)];
  return JSON.parse(execFileSync(process.execPath, args, { encoding: 'utf8' }).trim());
}

for (const [what, underLoad] of Object.entries(UNDER_LOAD)) {
  test(`${what} under load throws no optimised code away once the module has run at start`, (t) => {
    // As JavaScript, as the bundle (esbuild) has it: Node's own type stripping of a .ts import detaches buffers.
    const dir = mkdtempSync(join(tmpdir(), 'protectors-'));
    t.after(() => rmSync(dir, { recursive: true }));
    const module = join(dir, 'v8-protectors.mjs');
    const source = readFileSync(new URL('./v8-protectors.ts', import.meta.url), 'utf8');
    writeFileSync(module, transformSync(source, { loader: 'ts', format: 'esm' }).code);
    assert.deepEqual(run([], underLoad), { optimised: true, kept: false }, 'without it, the code is dropped');
    assert.deepEqual(run(['--import', module], underLoad), { optimised: true, kept: true });
  });
}

test('the process entry runs it before the commands load', () => {
  const cli = readFileSync(new URL('./cli.ts', import.meta.url), 'utf8');
  const at = cli.indexOf("import './v8-protectors.ts';");
  assert.ok(at > 0 && at < cli.indexOf("await import('./command.ts')"));
});
