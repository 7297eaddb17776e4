import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { validateConfig } from '../control/config/load.ts';
import { FileConfigStore } from '../control/store/file.ts';
import { fileHashOf, sha256 } from '../control/file-hash.ts';
import { startingConfig, type LoadedFile } from './single.ts';

function fileOf(dir: string, name: string): LoadedFile {
  const raw = {
    store: { dir },
    services: [{ name, upstream: { targets: [{ url: 'http://127.0.0.1:9' }] }, routes: [{ paths: [`/${name}`] }] }],
  };
  const v = validateConfig(raw, {});
  assert.ok(v.ok, JSON.stringify(!v.ok && v.errors));
  return { file: join(dir, 'gw.yaml'), raw, text: JSON.stringify(raw), config: v.config };
}

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const log = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  return { log, lines };
}

const startLines = (lines: Array<Record<string, unknown>>) =>
  lines.filter((l) => /^starting on the stored config version/.test(String(l.msg)));

test(
  'a start that serves a stored admin edit instead of ' + 'the file says so; one that serves the file does not',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-start-'));
    try {
      const loaded = fileOf(dir, 'api');
      const first = capture();
      const store = new FileConfigStore({ dir });
      const seeded = await startingConfig(loaded, store, first.log);
      assert.equal(seeded.version.source, 'file');
      assert.deepEqual(startLines(first.lines), [], 'the file seeds the store: nothing to say');

      // An admin edit on top of that file, then a restart with the same file.
      const edited = {
        ...loaded.raw,
        services: [
          ...(loaded.raw.services as unknown[]),
          { name: 'extra', upstream: { targets: [{ url: 'http://127.0.0.1:9' }] }, routes: [{ paths: ['/extra'] }] },
        ],
      };
      await store.append(
        {
          config: edited,
          source: 'admin',
          createdAt: new Date().toISOString(),
          fileHash: fileHashOf(loaded.raw),
          note: 'PUT /services/extra',
        },
        seeded.version.version,
      );
      const second = capture();
      const restarted = await startingConfig(loaded, store, second.log);
      assert.equal(restarted.version.source, 'admin');
      const said = startLines(second.lines);
      assert.equal(said.length, 1, JSON.stringify(second.lines));
      assert.equal(said[0].version, restarted.version.version);
      assert.equal(said[0].note, 'PUT /services/extra');
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a file version stored by an earlier release (which ' + "hashed the file's bytes) is the file: nothing to say",
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-start-'));
    try {
      const loaded = fileOf(dir, 'api');
      const store = new FileConfigStore({ dir });
      await store.append({
        config: loaded.raw,
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: sha256(loaded.text),
        note: 'loaded from file',
      });
      const { log, lines } = capture();
      const started = await startingConfig(loaded, store, log);
      assert.equal(started.version.version, 1, 'the stored version is reused, not stored again');
      assert.deepEqual(startLines(lines), []);
      await store.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
