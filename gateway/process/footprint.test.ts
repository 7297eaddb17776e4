import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

// What an idle gateway keeps in memory starts with what it loads (docs/performance.md: idle RSS).
test("the gateway loads neither undici's fetch stack nor Node's bundled undici", () => {
  const script = `
    await import(${JSON.stringify(new URL('./single.ts', import.meta.url).href)});
    await import(${JSON.stringify(new URL('./demo/upstream.ts', import.meta.url).href)});
    const { createRequire } = await import('node:module');
    const files = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({
      undiciWeb: files.filter((f) => /\\/undici\\/lib\\/web\\//.test(f)).length,
      bundledUndici: process.moduleLoadList.some((m) => m.includes('deps/undici')),
    }));`;
  const out = JSON.parse(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .pop()!,
  );
  assert.deepEqual(out, { undiciWeb: 0, bundledUndici: false });
});
