import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { restartGateway } from '../helpers/restart.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';
import { adminClient } from './admin.ts';
import { get } from './client.ts';

let one: TestUpstream;
let two: TestUpstream;

before(async () => {
  one = await startUpstream('one');
  two = await startUpstream('two');
});
after(() => Promise.all([one.close(), two.close()]));

test('an admin edit survives a restart with the same file and store', async () => {
  const first = await startGateway({ services: [service('api', [one.url], [{ paths: ['/api'] }])] });
  let second: TestGateway | undefined;
  try {
    const put = await adminClient(first.adminUrl).putService(service('edit', [two.url], [{ paths: ['/edit'] }]));
    assert.ok(put.status < 300, put.text);
    await first.close();
    second = await restartGateway(first);
    assert.equal((await get(`${second.url}/edit/x`)).json().name, 'two', 'the edit is still served');
    assert.equal((await get(`${second.url}/api/x`)).json().name, 'one', "and so is the file's service");
    assert.equal(second.manager.current().source, 'admin');
  } finally {
    await second?.close();
  }
});

test('a config file edited while the gateway was down wins over earlier admin edits on restart', async () => {
  const first = await startGateway({ services: [service('api', [one.url], [{ paths: ['/api'] }])] });
  let second: TestGateway | undefined;
  try {
    const put = await adminClient(first.adminUrl).putService(service('edit', [two.url], [{ paths: ['/edit'] }]));
    assert.ok(put.status < 300, put.text);
    await first.close();
    // writeConfig would also trigger a reload, but the gateway is closed: this is an offline edit.
    first.writeConfig({ services: [service('api', [two.url], [{ paths: ['/api'] }])] });
    second = await restartGateway(first);
    assert.equal((await get(`${second.url}/api/x`)).json().name, 'two', 'the edited file is served');
    assert.equal((await get(`${second.url}/edit/x`)).status, 404, 'the admin edit made on the old file is gone');
    assert.equal(second.manager.current().source, 'file');
    const sources = (await adminClient(second.adminUrl).history()).json().map((v: { source: string }) => v.source);
    assert.ok(sources.includes('admin'), 'the admin edit stays in history');
  } finally {
    await second?.close();
  }
});

test('a comment added to the file while the gateway was down keeps the admin edits on restart', async () => {
  const first = await startGateway({ services: [service('api', [one.url], [{ paths: ['/api'] }])] });
  let second: TestGateway | undefined;
  try {
    const put = await adminClient(first.adminUrl).putService(service('edit', [two.url], [{ paths: ['/edit'] }]));
    assert.ok(put.status < 300, put.text);
    await first.close();
    appendFileSync(first.file, '# reviewed, nothing changed\n');
    second = await restartGateway(first);
    assert.equal((await get(`${second.url}/edit/x`)).json().name, 'two', 'the edit is still served');
    assert.equal(second.manager.current().source, 'admin');
  } finally {
    await second?.close();
  }
});
