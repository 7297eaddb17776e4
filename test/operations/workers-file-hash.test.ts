import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { stringify } from 'yaml';
import { service, sleep } from '../helpers/gateway.ts';
import { freePort, startGatewayProcess, tempDir, type GatewayProcess } from '../helpers/gateway-process.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { getFresh } from './client.ts';

/**
 * A cluster primary (workers: 2) once kept the hash of the file's bytes
 * where a single process keeps the hash of its parsed config (be64122). Then
 * a comment added to the file looked like a new file: SIGHUP (or the
 * watcher) stored it as a new version over the admin edits, and the edits
 * themselves recorded the bytes' hash, so a restart after a comment-only
 * change dropped them too.
 */
test(
  'with workers: 2 a comment-only change to the file makes ' +
    'no version and keeps admin edits, on reload and on restart',
  async (t) => {
    const up = await startUpstream('one');
    const dir = tempDir();
    const file = join(dir, 'gw.yaml');
    const config = {
      workers: 2,
      proxy: { listen: `127.0.0.1:${await freePort()}` },
      admin: { listen: '127.0.0.1:0' },
      store: { dir: join(dir, 'store') },
      log: { level: 'info' },
      services: [service('api', [up.url], [{ paths: ['/api'] }])],
    };
    writeFileSync(file, stringify(config));
    let gw: GatewayProcess | undefined = await startGatewayProcess(file);
    t.after(async () => {
      await gw?.stop();
      await up.close();
    });
    const versions = async () =>
      ((await adminClient(gw!.adminUrl).history()).json() as Array<{ version: number }>).map((v) => v.version);
    /** Requests on fresh connections, spread over both workers: every one must reach the edited service. */
    const editServed = async () =>
      (await Promise.all(Array.from({ length: 12 }, () => getFresh(`${gw!.proxyUrl}/edit/x`)))).every(
        (r) => r.status === 200,
      );

    const put = await adminClient(gw.adminUrl).putService(service('edit', [up.url], [{ paths: ['/edit'] }]));
    assert.equal(put.status, 200, put.text);
    const edited = put.json().version as number;
    assert.deepEqual(await versions(), [edited, 1]);

    writeFileSync(file, `# a comment, nothing else\n${stringify(config)}`);
    process.kill(gw.pid, 'SIGHUP');
    // A changed file is applied within ~400 ms (100 ms debounce, 250 ms settle); give it more.
    await sleep(1500);
    assert.deepEqual(await versions(), [edited, 1], 'the comment made no version');
    assert.equal(
      gw.logs.some((l) => String(l.msg).startsWith('config file applied over admin edits')),
      false,
    );
    assert.ok(await editServed(), 'the admin edit still serves on both workers');

    assert.equal((await gw.stop()).code, 0);
    // Another comment and another layout (a JSON document is YAML too): still the same config.
    writeFileSync(file, `# restarted\n${JSON.stringify(config, null, 2)}\n`);
    gw = await startGatewayProcess(file);
    assert.equal(
      gw.logs.find((l) => l.msg === 'tollgate listening')?.version,
      edited,
      'the restart serves the admin edit',
    );
    assert.deepEqual(await versions(), [edited, 1]);
    assert.ok(await editServed());
  },
);
