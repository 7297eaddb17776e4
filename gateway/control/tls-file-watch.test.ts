import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { tlsFilePaths, watchTlsFiles } from './tls-file-watch.ts';

const CHECK_MS = 40;

test(
  "the TLS files of a config are every service's and " + "canary group's ca_file, cert_file and key_file, each once",
  () => {
    const raw = {
      services: [
        { name: 'a', upstream: { tls: { ca_file: '/ca.pem', cert_file: '/c.pem', key_file: '/k.pem', verify: true } } },
        {
          name: 'b',
          upstream: { targets: [] },
          canary: {
            groups: [{ name: 'g', upstream: { tls: { ca_file: '/ca.pem', server_name: 'x' } } }, { name: 'h' }],
          },
        },
        { name: 'c', upstream: { tls: { ca_file: 42 } } },
        null,
      ],
    };
    assert.deepEqual(tlsFilePaths(raw).sort(), ['/c.pem', '/ca.pem', '/k.pem']);
    assert.deepEqual(tlsFilePaths({}), []);
    assert.deepEqual(tlsFilePaths(undefined), []);
  },
);

test("listeners', TLS streams' and admin's certificates, client CAs, CRLs, ticket keys are watched, no service", () => {
  const tls = (n: string) => ({
    certificates: [{ cert: `/${n}.pem`, key: `/${n}.key` }],
    client_certificates: { ca: `/${n}-ca.pem`, crl: `/${n}.crl` },
    session_ticket_key: `/${n}-ticket.key`,
  });
  const raw = {
    listeners: [{ name: 'l', tls: tls('l') }],
    streams: [{ name: 's', tls: tls('s') }, { name: 't' }],
    admin: { tls: { certificates: [{ cert: '/admin.pem', key: '/admin.key' }] } },
  };
  assert.deepEqual(tlsFilePaths(raw).sort(), [
    '/admin.key',
    '/admin.pem',
    '/l-ca.pem',
    '/l-ticket.key',
    '/l.crl',
    '/l.key',
    '/l.pem',
    '/s-ca.pem',
    '/s-ticket.key',
    '/s.crl',
    '/s.key',
    '/s.pem',
  ]);
});

function watched(files: string[], checkMs = CHECK_MS) {
  const calls: string[][] = [];
  const stop = watchTlsFiles(
    () => files,
    (changed) => calls.push(changed),
    checkMs,
  );
  /** Waits (up to 3 s, for a busy machine) until `n` reports came, then a few more checks to see no more come. */
  const reports = async (n: number) => {
    for (let waited = 0; calls.length < n && waited < 3000; waited += 10) await sleep(10);
    await sleep(checkMs * 3);
    return calls;
  };
  return { calls, stop, reports };
}

test('a changed file is reported once, after it held still for a whole check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-watch-'));
  const ca = join(dir, 'ca.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(ca, 'one');
  writeFileSync(key, 'k');
  const w = watched([ca, key]);
  try {
    await sleep(CHECK_MS * 3);
    assert.deepEqual(w.calls, [], 'nothing changed');
    writeFileSync(ca, 'two, longer');
    assert.deepEqual(await w.reports(1), [[ca]]);
  } finally {
    w.stop();
  }
});

test('a file rewritten at every check is not reported until it stops changing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-watch-'));
  const cert = join(dir, 'cert.pem');
  writeFileSync(cert, 'x');
  // Writes 5 times per check: both run on this event loop, so however late the timers fire, a write comes between two
  // checks.
  const w = watched([cert], 100);
  try {
    for (let i = 0; i < 30; i++) {
      writeFileSync(cert, 'x'.repeat(i + 2));
      await sleep(20);
    }
    assert.deepEqual(w.calls, [], 'still being written');
    assert.deepEqual(await w.reports(1), [[cert]]);
  } finally {
    w.stop();
  }
});

test('a Kubernetes-style swap of the directory a symlink points through is a change', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tls-watch-'));
  // ca.pem -> ..data/ca.pem, ..data -> a version directory, swapped by a rename as the kubelet does.
  for (const [version, text] of [
    ['..v1', 'old'],
    ['..v2', 'new, and longer'],
  ]) {
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, 'ca.pem'), text);
  }
  symlinkSync('..v1', join(dir, '..data'));
  symlinkSync(join('..data', 'ca.pem'), join(dir, 'ca.pem'));
  const ca = join(dir, 'ca.pem');
  const w = watched([ca]);
  try {
    await sleep(CHECK_MS * 2);
    symlinkSync('..v2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    assert.deepEqual(await w.reports(1), [[ca]]);
  } finally {
    w.stop();
  }
});

test(
  'a file a config change adds is checked once (the apply read it before ' +
    'this watch first looked); one that disappears, or comes back, is a change',
  async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tls-watch-'));
    const ca = join(dir, 'ca.pem');
    const added = join(dir, 'added.pem');
    writeFileSync(ca, 'ca');
    writeFileSync(added, 'added');
    const files = [ca];
    const w = watched(files);
    try {
      await sleep(CHECK_MS * 2);
      files.push(added);
      assert.deepEqual(await w.reports(1), [[added]]);
      renameSync(ca, join(dir, 'gone.pem'));
      assert.deepEqual(await w.reports(2), [[added], [ca]]);
      renameSync(join(dir, 'gone.pem'), ca);
      assert.deepEqual(await w.reports(3), [[added], [ca], [ca]]);
    } finally {
      w.stop();
    }
  },
);
