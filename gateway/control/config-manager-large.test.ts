// Large configs through the ConfigManager: unchanged reloads, renewed TLS files, one-service edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../log.ts';
import { ConfigManager } from './config-manager.ts';
import { fileHashOf } from './file-hash.ts';
import { OFF_THREAD_BYTES, OFF_THREAD_SERVICES } from './config/load-off-thread.ts';
import { pino } from 'pino';
import { LOCALHOST_CERT, LOOPBACK_IP_CERT } from '../../test/helpers/tls-upstream.ts';
import { FileConfigStore } from './store/file.ts';
import { validateConfig } from './config/load.ts';
import type { Config } from './config/schema.ts';

import { port, service } from './config-manager.fixture.ts';

test(
  'a reload of a large file whose config serves already (the same ' +
    'bytes, or a comment more) applies nothing; a changed one applies',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const config = { log: { level: 'silent' }, services: Array.from({ length: 1500 }, (_, i) => service(`svc${i}`)) };
      const text = JSON.stringify(config, null, 1);
      assert.ok(text.length >= OFF_THREAD_BYTES, 'loaded on a worker');
      const file = join(dir, 'tollgate.yaml');
      await writeFile(file, text);
      const store = new FileConfigStore({ dir });
      const first = await store.append({
        config,
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: fileHashOf(config),
        note: 'loaded from file',
      });
      const applied: number[] = [];
      const manager = new ConfigManager({ file, store, port: port(applied), log: createLogger('silent') });
      manager.init(first, fileHashOf(config));
      assert.ok((await manager.reloadFromFile()).ok);
      await writeFile(file, `# a comment\n${text}`);
      assert.ok((await manager.reloadFromFile()).ok);
      assert.deepEqual(applied, []);
      assert.equal((await store.head())!.version, 1);
      await writeFile(file, text.replace('"/svc7"', '"/svc7b"'));
      const changed = await manager.reloadFromFile();
      assert.ok(changed.ok && changed.version.version === 2, JSON.stringify(changed));
      assert.deepEqual(applied, [2]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'a SIGHUP that finds an upstream CA file of a large config renewed ' +
    'validates it off the event loop and applies it under the same version',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const ca = join(dir, 'ca.pem');
      await writeFile(ca, LOCALHOST_CERT);
      const tlsService = {
        name: 'tls',
        routes: [{ paths: ['/tls'] }],
        upstream: { targets: [{ url: 'https://localhost:9' }], tls: { ca_file: ca } },
      };
      const config = {
        log: { level: 'info' },
        services: [tlsService, ...Array.from({ length: OFF_THREAD_SERVICES }, (_, i) => service(`svc${i}`))],
      };
      const store = new FileConfigStore({ dir });
      const first = await store.append({
        config,
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: fileHashOf(config),
        note: 'loaded from file',
      });
      const applied: number[] = [];
      const lines: string[] = [];
      const log = pino(
        { level: 'info' },
        {
          write: (line: string) => {
            lines.push(JSON.parse(line).msg);
          },
        },
      );
      const manager = new ConfigManager({ file: join(dir, 'unused.yaml'), store, port: port(applied), log });
      manager.init(first, fileHashOf(config));
      assert.ok((await manager.reloadTlsFiles()).ok);
      assert.deepEqual(applied, [], 'the file reads as it was: nothing to apply');
      await writeFile(ca, LOOPBACK_IP_CERT);
      assert.ok((await manager.reloadTlsFiles()).ok);
      assert.deepEqual(applied, [1], 'the renewed file applied under the serving version');
      assert.ok(lines.includes('large config validated on a worker thread'), lines.join(' | '));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'an admin edit of one service of a large config ' + 'validates that service alone and applies the whole config',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-manager-'));
    try {
      const config = {
        log: { level: 'info' },
        services: Array.from({ length: OFF_THREAD_SERVICES }, (_, i) => service(`svc${i}`)),
      };
      const store = new FileConfigStore({ dir });
      const first = await store.append({
        config,
        source: 'file',
        createdAt: new Date().toISOString(),
        fileHash: fileHashOf(config),
        note: 'loaded from file',
      });
      const served: Config[] = [];
      const lines: Array<{ msg: string; services?: number }> = [];
      const log = pino(
        { level: 'info' },
        {
          write: (line: string) => {
            lines.push(JSON.parse(line));
          },
        },
      );
      const manager = new ConfigManager({
        file: join(dir, 'unused.yaml'),
        store,
        port: {
          ...port([]),
          apply: (c) => {
            served.push(c);
          },
        },
        log,
      });
      const start = validateConfig(config);
      assert.ok(start.ok);
      manager.init(first, fileHashOf(config), start.config);
      const edited = { ...service('svc7'), routes: [{ paths: ['/moved'] }] };
      const result = await manager.edit(
        (serving) => ({
          config: {
            ...serving,
            services: (serving.services as Array<{ name: string }>).map((s) => (s.name === 'svc7' ? edited : s)),
          },
        }),
        'PUT /services/svc7',
      );
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(
        lines.filter((l) => l.msg === 'large config validated on a worker thread').length,
        0,
        'the whole config was not validated',
      );
      const applied = served[0]!;
      assert.equal(applied.services.length, OFF_THREAD_SERVICES);
      assert.deepEqual(
        applied.services[7]!.routes.map((r) => r.paths),
        [['/moved']],
      );
      assert.equal(
        applied.services[8],
        start.config.services[8],
        'an unchanged service is the validated object that served',
      );
      // An edit that breaks the config is refused with the whole validation's errors.
      const bad = await manager.edit(
        (serving) => ({ config: { ...serving, services: [...(serving.services as object[]), service('svc7')] } }),
        'POST a duplicate',
      );
      assert.ok(
        !bad.ok && 'errors' in bad && bad.errors!.some((e) => e.path === `/services/${OFF_THREAD_SERVICES}/name`),
        JSON.stringify(bad),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
);
