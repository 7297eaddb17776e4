// The admin console's build (part of `npm run build`): esbuild bundles gateway/control/console/app/ into
// dist/console/ (app.js, app.css, index.html), which the admin listener serves at /console/. Prints each file's
// size, raw and gzipped, and fails when the JavaScript is over the budget of 150 KB gzipped
// (docs/decisions/0011-console-stack.md).
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const APP = 'gateway/control/console/app';
export const CONSOLE_DIR = 'dist/console';
const JS_BUDGET_GZIP_BYTES = 150 * 1024;

export interface ConsoleSizes {
  file: string;
  bytes: number;
  gzipBytes: number;
}

export async function buildConsole(outDir = join(root, CONSOLE_DIR)): Promise<ConsoleSizes[]> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: { app: `${APP}/main.tsx` },
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome120', 'firefox120', 'safari17'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'warning',
  });
  await build({
    absWorkingDir: root,
    entryPoints: { app: `${APP}/style.css` },
    outdir: outDir,
    bundle: true,
    minify: true,
    logLevel: 'warning',
  });
  copyFileSync(join(root, APP, 'index.html'), join(outDir, 'index.html'));
  const sizes = ['app.js', 'app.css', 'index.html'].map((file) => {
    const body = readFileSync(join(outDir, file));
    return { file, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length };
  });
  const js = sizes.find((s) => s.file === 'app.js')!;
  if (js.gzipBytes > JS_BUDGET_GZIP_BYTES)
    throw new Error(`console JavaScript is ${js.gzipBytes} bytes gzipped, over the budget of ${JS_BUDGET_GZIP_BYTES}`);
  return sizes;
}

if (import.meta.main) {
  const sizes = await buildConsole();
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  const listed = sizes.map((s) => `${s.file} ${kb(s.bytes)} (${kb(s.gzipBytes)} gzipped)`);
  console.log(`console: ${listed.join(', ')} in ${CONSOLE_DIR}`);
}
