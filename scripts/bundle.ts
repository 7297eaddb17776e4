// Second half of `npm run build` (npm ci runs it through `prepare`), after tsc
// has emitted dist/{gateway,collector,shared}/ module by module (the analytics
// outage bench loads single modules from there): esbuild bundles the gateway
// from gateway/process/cli.ts into dist/bundle/, which scripts/bin/tollgate runs. The
// gateway and the packages it imports are one module; what only some configs
// load (Kafka sink, Redis stores, cluster reports) are chunks loaded on first use.
//
// Why a bundle (docs/performance.md): V8 keeps every loaded module's source
// text for lazy compilation, plus a module record, wrapper and scope per file.
// ~690 files became a few chunks, comments and whitespace go, and idle heap fell by
// ~4 MB. Source text with a single non-ASCII character is stored at two bytes
// per character, so the output is ASCII (esbuild escapes non-ASCII in strings)
// and licence comments, which keep theirs, move to cli.js.LEGAL.txt.
// Identifiers are not minified, so stack traces keep function names; the .map
// files beside the chunks give source positions (node --enable-source-maps).
import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const BUNDLE_DIR = 'dist/bundle';

/**
 * Packages left to Node's loader. Only cluster-mode chunks (and tracing over OTLP/gRPC) import them, so
 * bundling them saves nothing at a single node's idle, and bundled they broke (the OTLP/gRPC exporter's
 * gRPC client finds files beside itself):
 * @platformatic/wasm-utils reads its WebAssembly beside its own modules (the Kafka
 * sink failed to start when it was bundled), and ioredis's classes came out of esbuild's CommonJS
 * interop as undefined ("Redis is not a constructor" with a Redis store).
 */
const EXTERNAL = ['@platformatic/wasm-utils', 'ioredis', '@opentelemetry/otlp-grpc-exporter-base'];

/**
 * Bundled package modules that name their own location, and why each is safe.
 * Any other bundled module that does fails the build: bundled, it would look
 * for its files in dist/bundle/ (how the Kafka sink broke before EXTERNAL).
 */
const LOCATION_OK: Record<string, string> = {
  'node_modules/thread-stream/index.js': 'pino transports only; the gateway logs through pino.destination()',
  'node_modules/pino/lib/transport.js': 'pino transports only; the gateway logs through pino.destination()',
  'node_modules/@platformatic/kafka/dist/protocol/crc32c.js':
    'require() of the optional @node-rs/crc32 from its own location; from dist/bundle/ it finds the same node_modules',
  'node_modules/@fastify/swagger/lib/util/read-package-json.js':
    'its own version, read in a try; the OpenAPI document sets info.version itself',
};
const NAMES_LOCATION = /__dirname|__filename|import\.meta\.(url|dirname|filename)|require\.resolve/;

/**
 * Node built-ins that bundled packages require when they load but use only
 * for features the gateway does not turn on: fastify's HTTPS and HTTP/2
 * servers (the admin API is plain HTTP) and prom-client's Pushgateway.
 * node:https and node:http2 load node:tls, and an idle gateway without TLS
 * paid ~2 MB of RSS for the three (docs/performance.md). In these files each
 * such require() becomes a stand-in that loads the module on first use. A
 * package update that drops one of these requires, or the file, fails the
 * build, so the list stays true.
 */
const DEFERRED_BUILTINS: Record<string, string[]> = {
  'node_modules/fastify/lib/server.js': ['node:https', 'node:http2'],
  'node_modules/prom-client/lib/pushgateway.js': ['https'],
};

/** The stand-in: a property read loads the module (process.getBuiltinModule) and reads it there. */
const DEFERRED_BUILTIN = '__tollgateDeferredBuiltin';
const DEFERRED_BUILTIN_SOURCE =
  `const ${DEFERRED_BUILTIN} = (id) => { let m; return new Proxy({}, ` +
  `{ get: (_, key) => (m ??= process.getBuiltinModule(id))[key] }); };`;

const deferBuiltins: Plugin = {
  name: 'defer-builtins',
  setup(b) {
    b.onLoad({ filter: /[\\/]node_modules[\\/].*\.js$/ }, (args) => {
      const path = args.path.replaceAll('\\', '/');
      const key = Object.keys(DEFERRED_BUILTINS).find((k) => path.endsWith(`/${k}`));
      if (key === undefined) return undefined;
      let contents = readFileSync(args.path, 'utf8');
      for (const id of DEFERRED_BUILTINS[key]!) {
        const call = `require('${id}')`;
        if (!contents.includes(call))
          throw new Error(`${key} no longer has ${call}: update DEFERRED_BUILTINS in scripts/bundle.ts`);
        contents = contents.replaceAll(call, `${DEFERRED_BUILTIN}('${id}')`);
      }
      return { contents, loader: 'js' };
    });
  },
};

/**
 * Packages whose modules only define things, bundled as if their package.json said `"sideEffects": false`,
 * so that a module none of whose exports the gateway uses is left out whole. @platformatic/kafka's index
 * loads every client, and their option validators compile at load: 38 ajv compiles, ~11 MB of heap and
 * ~300 ms in the Kafka sender thread, which uses the producer's six.
 */
const SIDE_EFFECT_FREE = /[\\/]node_modules[\\/]@platformatic[\\/]kafka[\\/]dist[\\/]/;

const sideEffectFree: Plugin = {
  name: 'side-effect-free',
  setup(b) {
    // The package's modules import one another by relative paths; its index is what the gateway imports by name.
    b.onResolve({ filter: /^\.\.?\// }, async (args) => {
      if (args.pluginData === 'side-effect-free' || !SIDE_EFFECT_FREE.test(args.importer)) return;
      const resolved = await b.resolve(args.path, {
        kind: args.kind,
        importer: args.importer,
        resolveDir: args.resolveDir,
        pluginData: 'side-effect-free',
      });
      if (resolved.errors.length > 0 || resolved.external || !SIDE_EFFECT_FREE.test(resolved.path)) return;
      return { path: resolved.path, sideEffects: false };
    });
  },
};

async function bundleGateway(): Promise<void> {
  rmSync(`${root}${BUNDLE_DIR}`, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: root,
    // The worker threads' entries beside the chunks: load-off-thread.ts, collector/embedded/threaded.ts,
    // gateway/proxy/events/kafka/kafka-sink.ts and shared/tracing/thread-exporter.ts start them by these names.
    entryPoints: {
      cli: 'gateway/process/cli.ts',
      'config-worker': 'gateway/control/config/config-worker.ts',
      'collector-thread': 'collector/embedded/collector-thread.ts',
      'kafka-sender-thread': 'gateway/proxy/events/kafka/kafka-sender-thread.ts',
      'otlp-exporter-thread': 'shared/tracing/otlp-exporter-thread.ts',
    },
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node24',
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    legalComments: 'external',
    sourcemap: 'linked',
    external: EXTERNAL,
    metafile: true,
    // A free __dirname in an ES module throws; these name the bundle's own directory.
    define: { __dirname: 'import.meta.dirname', __filename: 'import.meta.filename' },
    // CommonJS packages inside an ES module bundle call require() for Node's
    // built-ins; esbuild's own shim throws for those, so give them the real one.
    banner: {
      js:
        `import { createRequire as __tollgateCreateRequire } from 'node:module'; const ` +
        `require = __tollgateCreateRequire(import.meta.url); ${DEFERRED_BUILTIN_SOURCE}`,
    },
    plugins: [deferBuiltins, sideEffectFree],
    logLevel: 'warning',
  });
  // Input paths are relative to the repository; node_modules may be a link elsewhere, so match from it.
  // Only modules with code in the output count: tree shaking leaves out the rest (see SIDE_EFFECT_FREE).
  const inOutput = new Set(
    Object.values(result.metafile.outputs).flatMap((output) =>
      Object.entries(output.inputs)
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([file]) => file),
    ),
  );
  const misplaced = [...inOutput].filter(
    (file) =>
      file.includes('node_modules/') &&
      !(file.slice(file.lastIndexOf('node_modules/')) in LOCATION_OK) &&
      NAMES_LOCATION.test(readFileSync(resolve(root, file), 'utf8')),
  );
  if (misplaced.length > 0) {
    throw new Error(
      'bundled modules that find files relative to themselves (add the package to EXTERNAL in scripts/bundle.ts):' +
        `\n  ${misplaced.join('\n  ')}`,
    );
  }
  const bundled = [...inOutput].map((file) => file.slice(file.lastIndexOf('node_modules/')));
  const gone = Object.keys(DEFERRED_BUILTINS).filter((file) => !bundled.includes(file));
  if (gone.length > 0)
    throw new Error(
      `DEFERRED_BUILTINS in scripts/bundle.ts names files the bundle no longer has:\n  ${gone.join('\n  ')}`,
    );
}

await bundleGateway();
