/**
 * What one AsyncResource bind costs, as Node's HTTP/2 client makes one per request: Node's own bind against the one
 * gateway/process/async-resource-bind.ts installs. Each runs in a child process under --trace-gc-nvp (with the
 * launcher's --max-semi-space-size), binding in a loop for BIND_MS (default 1500) ms; prints ns a bind and the bytes
 * a bind left to the old generation (the scavenges' `promoted=`).
 * Run: node test/bench/process/async-resource-bind.bench.ts
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ms = Number(process.env.BIND_MS ?? 1500);
const module = fileURLToPath(new URL('../../../gateway/process/async-resource-bind.ts', import.meta.url));

const loop = (lean: boolean) => `
import { AsyncResource } from 'node:async_hooks';
${lean ? `await import(${JSON.stringify(module)});` : ''}
function fn(a, b) { return a + b; }
let keep, n = 0;
const end = performance.now() + ${ms};
while (performance.now() < end) for (let i = 0; i < 1000; i++, n++) keep = new AsyncResource('PendingRequest').bind(fn);
console.log('binds=' + n + ' asyncResource=' + ('asyncResource' in keep));
`;

for (let round = 0; round < 3; round++) {
  for (const lean of [false, true]) {
    // The launcher's young generation (scripts/bin/tollgate), and room for the trace of every scavenge.
    const args = ['--max-semi-space-size=16', '--trace-gc-nvp', '--input-type=module', '-e', loop(lean)];
    const out = execFileSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
    const binds = Number(/binds=(\d+)/.exec(out)?.[1]);
    let promoted = 0;
    for (const m of out.matchAll(/gc=s .*?promoted=(\d+)/g)) promoted += Number(m[1]);
    const name = lean ? 'without asyncResource' : "Node's bind";
    console.log(
      `${name.padEnd(22)} ${((ms * 1e6) / binds).toFixed(0).padStart(6)} ns a bind, ` +
        `${(promoted / binds).toFixed(1).padStart(7)} bytes a bind promoted (${/asyncResource=\w+/.exec(out)?.[0]})`,
    );
  }
}
