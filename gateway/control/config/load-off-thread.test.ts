import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import {
  loadOffThread,
  OFF_THREAD_BYTES,
  OFF_THREAD_SERVICES,
  PART_SERVICES,
  validateOffThread,
  workerAnswer,
} from './load-off-thread.ts';
import { loadConfigText, validateConfig } from './load.ts';
import { fileHashOf, sha256 } from '../file-hash.ts';

/** A config of `n` services, each with a host route and a regex route: ~190 bytes of YAML a service. */
function bigConfig(n: number, bad = false): string {
  const services = [];
  for (let i = 0; i < n; i++) {
    services.push({
      name: bad && i === n - 1 ? 'svc0' : `svc${i}`,
      routes: [
        { hosts: [`h${i}.example.com`], paths: [`/s${i}`] },
        { paths: [bad && i === 7 ? '~([a-' : `~^/r${i}/[0-9]+$`] },
      ],
      upstream: { targets: [{ url: 'http://127.0.0.1:9001' }] },
    });
  }
  return stringify({ proxy: { listen: '127.0.0.1:0' }, services });
}

const logs = () => {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const at = (level: string) => (fields: Record<string, unknown>, msg: string) => {
    lines.push({ level, msg, fields });
  };
  return { lines, log: { info: at('info'), warn: at('warn') } as never };
};

test(
  'a large config is loaded on a worker while the event ' + 'loop keeps turning, with the result loading it here gives',
  async () => {
    const text = bigConfig(3000);
    assert.ok(text.length >= OFF_THREAD_BYTES, `${text.length} chars`);
    let turns = 0;
    const timer = setInterval(() => turns++, 5);
    const { lines, log } = logs();
    let loaded: Awaited<ReturnType<typeof loadOffThread>>;
    try {
      loaded = await loadOffThread('big.yaml', text, { log });
    } finally {
      clearInterval(timer);
    }
    // Parsed here, the loop would not have turned at all while the ~0.5 MB of YAML was read.
    assert.ok(turns >= 5, `the loop turned ${turns} times`);
    assert.equal(loaded.onWorker, true);
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [['info', 'large config file parsed and validated on a worker thread']],
    );
    const here = loadConfigText('big.yaml', text);
    assert.equal(loaded.ok, true);
    assert.deepEqual(loaded.ok && loaded.config, here.ok && here.config);
    assert.deepEqual(loaded.raw, here.raw);
    assert.equal(loaded.text, text);
    assert.equal(loaded.hash, fileHashOf(here.raw!));
    assert.equal(loaded.textHash, sha256(text));
  },
);

test(
  'an invalid large config gets from the worker the ' + 'errors, with their paths, that loading it here gives',
  async () => {
    const text = bigConfig(1000, true);
    const loaded = await loadOffThread('bad.yaml', text, { minBytes: 0 });
    assert.equal(loaded.onWorker, true);
    assert.equal(loaded.ok, false);
    const here = loadConfigText('bad.yaml', text);
    assert.deepEqual(!loaded.ok && loaded.errors, !here.ok && here.errors);
    const paths = !loaded.ok ? loaded.errors.map((e) => e.path) : [];
    assert.ok(
      paths.includes('/services/7/routes/1/paths/0') && paths.includes('/services/999/name'),
      JSON.stringify(paths),
    );
  },
);

test('a small config is loaded here; a worker that fails is logged and the config is loaded here', async () => {
  const small = await loadOffThread('small.yaml', 'services: []\n');
  assert.equal(small.onWorker, undefined);
  assert.equal(small.ok, true);

  const dir = mkdtempSync(join(tmpdir(), 'tollgate-worker-'));
  const broken = join(dir, 'broken-worker.mjs');
  writeFileSync(broken, 'throw new Error("no worker today");\n');
  const { lines, log } = logs();
  const loaded = await loadOffThread('cfg.yaml', bigConfig(10), {
    minBytes: 0,
    workerUrl: new URL(`file://${broken}`),
    log,
  });
  assert.equal(loaded.onWorker, undefined);
  assert.equal(loaded.ok, true);
  assert.equal(lines.length, 1);
  assert.equal(lines[0].level, 'warn');
  assert.match(String(lines[0].fields.err), /no worker today/);
});

test(
  'the worker answers with JSON parts when the result comes ' +
    'back from them exactly, else with the object (Infinity, say)',
  async () => {
    const text = bigConfig(PART_SERVICES * 2 + 1);
    const answer = workerAnswer('cfg.yaml', text);
    assert.ok('parts' in answer, 'a config of plain data goes as JSON');
    // The services go a few hundred to a text, parsed in slices; the rest goes whole.
    assert.equal(answer.parts.raw.length, 3);
    assert.equal(answer.parts.config.length, 3);
    const here = loadConfigText('cfg.yaml', text);
    const head = JSON.parse(answer.parts.head);
    assert.deepEqual(head.config, { ...(here.ok && here.config), services: [] });
    assert.deepEqual(Object.keys(head.raw), Object.keys(here.raw!), 'the raw config keeps its keys in their order');
    assert.deepEqual(
      answer.parts.config.flatMap((p) => JSON.parse(p)),
      here.ok && here.config.services,
    );
    assert.deepEqual(
      answer.parts.raw.flatMap((p) => JSON.parse(p)),
      here.raw!.services,
    );

    // YAML's .inf is no JSON: it would come back null.
    const odd = 'services: []\nproxy: { listen: 127.0.0.1:0, max_connections: .inf }\n';
    const oddAnswer = workerAnswer('odd.yaml', odd);
    assert.ok('loaded' in oddAnswer, JSON.stringify(oddAnswer));
    const loaded = await loadOffThread('odd.yaml', odd, { minBytes: 0 });
    assert.equal(loaded.onWorker, true);
    assert.equal((loaded.raw?.proxy as Record<string, unknown> | undefined)?.max_connections, Infinity);
    const oddHere = loadConfigText('odd.yaml', odd);
    assert.equal(loaded.ok, oddHere.ok);
  },
);

test(
  'with the serving hash given, a worker that finds the same ' +
    'text or the same config answers unchanged, and nothing more',
  async () => {
    const text = bigConfig(50);
    const here = loadConfigText('cfg.yaml', text);
    const byText = await loadOffThread('cfg.yaml', text, { minBytes: 0, unchangedHash: sha256(text) });
    assert.deepEqual(byText, { unchanged: true, hash: fileHashOf(here.raw!), textHash: sha256(text), onWorker: true });
    const reformatted = `# a comment\n${text}`;
    const byConfig = await loadOffThread('cfg.yaml', reformatted, {
      minBytes: 0,
      unchangedHash: fileHashOf(here.raw!),
    });
    assert.ok('unchanged' in byConfig, 'a comment changes the text, not the config');
    const changed = await loadOffThread('cfg.yaml', bigConfig(51), {
      minBytes: 0,
      unchangedHash: fileHashOf(here.raw!),
    });
    assert.ok(!('unchanged' in changed) && changed.ok && changed.config.services.length === 51);
  },
);

test('loaded here (a small file), a text whose bytes or config serve already is answered unchanged too', async () => {
  const text = bigConfig(3);
  const here = loadConfigText('cfg.yaml', text);
  const byText = await loadOffThread('cfg.yaml', text, { unchangedHash: sha256(text) });
  assert.deepEqual(byText, { unchanged: true, hash: fileHashOf(here.raw!), textHash: sha256(text) });
  assert.ok(
    'unchanged' in (await loadOffThread('cfg.yaml', `# a comment\n${text}`, { unchangedHash: fileHashOf(here.raw!) })),
  );
  const changed = await loadOffThread('cfg.yaml', bigConfig(4), { unchangedHash: fileHashOf(here.raw!) });
  assert.ok(!('unchanged' in changed) && changed.ok && changed.config.services.length === 4);
});

test(
  'a large config object is validated on a worker while the ' +
    'loop turns, with the result validating it here gives; errors too',
  async () => {
    const raw = parse(bigConfig(OFF_THREAD_SERVICES)) as Record<string, unknown>;
    const { lines, log } = logs();
    // Validated on the loop, the result would be ready before the loop turned, so an immediate queued after the
    // call must run first. (A timer count would not do: cloning the object to and from the worker can hold a
    // busy machine's loop for the whole ~100 ms.)
    let turned = false;
    const pending = validateOffThread(raw, { log });
    setImmediate(() => {
      turned = true;
    });
    const result = await pending;
    assert.ok(turned, 'the loop turned before the result came back');
    assert.deepEqual(
      lines.map((l) => [l.level, l.msg]),
      [['info', 'large config validated on a worker thread']],
    );
    assert.equal(lines[0]!.fields.services, OFF_THREAD_SERVICES);
    assert.deepEqual(result, validateConfig(raw));

    const bad = parse(bigConfig(OFF_THREAD_SERVICES, true)) as Record<string, unknown>;
    const refused = await validateOffThread(bad, { log });
    assert.equal(refused.ok, false);
    assert.deepEqual(refused, validateConfig(bad));
    assert.equal(lines.length, 2, 'validated on the worker too');
  },
);

test(
  'a config object validated on a worker comes back exactly, ' +
    'Infinity and all; a small one, or one whose worker fails, is validated here',
  async () => {
    const raw = parse(bigConfig(3)) as Record<string, unknown>;
    raw.proxy = { listen: '127.0.0.1:0', max_connections: Infinity };
    const { lines, log } = logs();
    const result = await validateOffThread(raw, { minServices: 0, log });
    assert.equal(lines.length, 1);
    assert.ok(result.ok);
    assert.equal(result.config.proxy.max_connections, Infinity);
    assert.deepEqual(result, validateConfig(raw));

    const small = logs();
    assert.deepEqual(await validateOffThread(raw, { log: small.log }), validateConfig(raw));
    assert.equal(small.lines.length, 0, 'a config of 3 services is validated here');

    const dir = mkdtempSync(join(tmpdir(), 'tollgate-worker-'));
    const broken = join(dir, 'broken-worker.mjs');
    writeFileSync(broken, 'throw new Error("no worker today");\n');
    const failed = logs();
    assert.deepEqual(
      await validateOffThread(raw, { minServices: 0, workerUrl: new URL(`file://${broken}`), log: failed.log }),
      validateConfig(raw),
    );
    assert.deepEqual(
      failed.lines.map((l) => l.level),
      ['warn'],
    );
    assert.match(String(failed.lines[0]!.fields.err), /no worker today/);
  },
);

test(
  'a small config is validated on the event loop: the ' + 'validator is compiled ahead of time, so nothing stalls it',
  async () => {
    const raw = parse(bigConfig(3)) as Record<string, unknown>;
    const seen = logs();
    assert.deepEqual(await validateOffThread(raw, { log: seen.log }), validateConfig(raw));
    assert.equal(seen.lines.length, 0, 'no worker thread was asked');
  },
);
