// The console's certificates page in a real browser (Debian's Chromium through playwright-core) against a real
// gateway serving TLS on a listener and a stream: every certificate, the soonest to expire first, one that expires
// within 14 days flagged, and a renewal shown once the page reads the list again.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { issue, makeCa } from '../helpers/certs.ts';
import { chromiumSkip } from '../helpers/chromium.ts';
import { eventually } from '../helpers/gateway.ts';
import { type ConsoleRig, startConsoleRig, TOKEN } from './console-rig.ts';

const skip = chromiumSkip;
const dir = mkdtempSync(join(tmpdir(), 'tollgate-console-certs-'));
const ca = makeCa(join(dir, 'ca'));
const day = 86_400_000;
const soon = issue(dir, ca, { cn: 'soon.test', dns: ['soon.test'], end: new Date(Date.now() + 5 * day) });
const later = issue(dir, ca, { cn: 'later.test', dns: ['later.test', '*.later.test'], rsa: true });
const served = { cert: join(dir, 'served.pem'), key: join(dir, 'served.key') };
let rig: ConsoleRig;

before(async () => {
  if (skip) return;
  copyFileSync(soon.cert, served.cert);
  copyFileSync(soon.key, served.key);
  rig = await startConsoleRig({
    listeners: [{ name: 'public', listen: '127.0.0.1:0', tls: { certificates: [served] } }],
    streams: [
      {
        name: 'db',
        listen: '127.0.0.1:0',
        tls: { certificates: [later] },
        upstream: { targets: [{ url: 'tcp://127.0.0.1:9' }] },
      },
    ],
  });
});
after(async () => {
  await rig?.close();
});

test('the certificates page lists each served certificate, soonest first, and flags one expiring soon', {
  skip,
}, async () => {
  const { page, gw } = rig;
  rig.expect(401, '/config/history'); // how the console learns to ask for the token
  await page.goto(`${gw.adminUrl}/console/`);
  await page.getByLabel('Admin token').fill(TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'Certificates' }).click();
  await page.getByRole('heading', { name: 'Certificates' }).waitFor();
  const rows = page.locator('tbody tr');
  await rows.nth(1).waitFor();
  const cells = async (i: number) => (await rows.nth(i).getByRole('cell').allTextContents()).map((t) => t.trim());
  const [first, second] = [await cells(0), await cells(1)];
  assert.deepEqual(first.slice(1, 8), [
    '4 daysrenew',
    'listeners/public',
    'CN=soon.test',
    'soon.test',
    'ec',
    'CN=ca',
    'no',
  ]);
  assert.match(second[1]!, /^\d+ days$/, 'not flagged');
  assert.deepEqual(second.slice(2, 6), ['streams/db', 'CN=later.test', 'later.test, *.later.test', 'rsa']);
  assert.equal(await rows.count(), 2);
  await page.getByText('One certificate expires within 14 days').waitFor();
  assert.deepEqual(rig.errors, []);
});

test('a renewed certificate replaces the flagged one once the page reads the list again', { skip }, async () => {
  const { page } = rig;
  copyFileSync(later.cert, served.cert);
  copyFileSync(later.key, served.key);
  const reloaded = await rig.api('POST', '/config/tls/reload');
  assert.equal(reloaded.status, 200, reloaded.text);
  await page.reload();
  await page.getByRole('heading', { name: 'Certificates' }).waitFor();
  const subjects = await eventually(async () => {
    const texts = await page.locator('tbody tr td:nth-child(4)').allTextContents();
    return texts.length === 2 && texts.every((t) => t === 'CN=later.test') ? texts : undefined;
  }, 10_000);
  assert.ok(subjects, 'both rows now show the renewed certificate');
  assert.equal(await page.getByText(/expires? within 14 days/).count(), 0, 'nothing flagged');
  assert.deepEqual(rig.errors, []);
});
