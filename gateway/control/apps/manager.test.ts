import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateConfig } from '../config/load.ts';
import { createLogger } from '../../log.ts';
import type { TokensConfig } from '../../proxy/stages/token-endpoint/schema.ts';
import type { IdentityWire } from './identity.ts';
import { AppError, IdentityManager } from './manager.ts';
import type { AppStore } from './doc.ts';
import { FileAppStore } from './store/file.ts';

async function withManager(
  tokens: Partial<TokensConfig>,
  fn: (m: IdentityManager, pushed: IdentityWire[], dir: string) => Promise<void>,
) {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-identity-'));
  const r = validateConfig({ tokens });
  assert.ok(r.ok);
  const conf = r.config.tokens;
  const pushed: IdentityWire[] = [];
  const m = new IdentityManager({
    store: new FileAppStore(dir),
    push: (w) => pushed.push(w),
    tokens: () => conf,
    log: createLogger('silent'),
  });
  try {
    await m.start();
    await fn(m, pushed, dir);
  } finally {
    await m.close();
    await rm(dir, { recursive: true, force: true });
  }
}

test('start makes a signing key and pushes it; every change pushes a new, higher identity version', () =>
  withManager({}, async (m, pushed) => {
    assert.equal(m.keys().length, 1);
    const first = pushed.at(-1)!;
    assert.equal(first.signingKey?.kid, m.keys()[0].kid);
    assert.equal(first.publicKeys[0].kid, m.keys()[0].kid);
    assert.equal(
      (first.publicKeys[0] as unknown as Record<string, unknown>).d,
      undefined,
      'no private part in the public keys',
    );
    const before = pushed.length;
    const { app } = await m.create({ name: 'a' });
    await m.update(app.id, { name: 'a', status: 'disabled' });
    await m.remove(app.id);
    const versions = pushed.map((w) => w.version);
    assert.deepEqual(
      versions,
      [...versions].sort((a, b) => a - b),
    );
    assert.equal(pushed.length - before, 3, 'one push per change');
    assert.equal(pushed.at(-1)!.apps.length, 0);
  }));

test('the signing key rotates on schedule and the previous public key is kept for the token lifetime', () =>
  withManager({ key_rotation_s: 1 }, async (m, pushed) => {
    const firstKid = m.keys()[0].kid;
    const deadline = Date.now() + 4000;
    while (m.keys().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(m.keys().length >= 2, 'rotated');
    assert.notEqual(pushed.at(-1)!.signingKey?.kid, firstKid);
    assert.ok(pushed.at(-1)!.publicKeys.some((k) => k.kid === firstKid));
  }));

test('a manager restarted on the same store keeps its apps and key', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-identity-'));
  try {
    const r = validateConfig({});
    assert.ok(r.ok);
    const conf = r.config.tokens;
    const make = () =>
      new IdentityManager({
        store: new FileAppStore(dir),
        push: () => undefined,
        tokens: () => conf,
        log: createLogger('silent'),
      });
    const a = make();
    await a.start();
    const { app } = await a.create({ name: 'kept' }, 'kept');
    const kid = a.keys()[0].kid;
    await a.close();
    const b = make();
    await b.start();
    assert.equal(b.get('kept')?.name, app.name);
    assert.equal(b.keys()[0].kid, kid);
    await b.close();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test(
  'a change another writer beats on every try is refused as ' +
    'a conflict with the version now served, and saves nothing',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-identity-'));
    const r = validateConfig({});
    assert.ok(r.ok);
    const conf = r.config.tokens;
    const own = new FileAppStore(dir);
    const rival = new FileAppStore(dir);
    let beaten = false;
    // Once `beaten` is set, another writer saves just before each of this manager's saves.
    const store: AppStore = {
      load: () => own.load(),
      async save(doc, expected) {
        if (beaten) {
          const theirs = await rival.load();
          await rival.save(
            {
              apps: theirs.apps.map((a) => ({ ...a, name: `${a.name}+` })),
              keys: theirs.keys,
              appsVersion: theirs.version + 1,
              keysVersion: theirs.keysVersion,
            },
            theirs.version,
          );
        }
        return own.save(doc, expected);
      },
      watch: () => undefined,
      close: () => own.close(),
    };
    const m = new IdentityManager({ store, push: () => undefined, tokens: () => conf, log: createLogger('silent') });
    try {
      await m.start();
      const { app } = await m.create({ name: 'a' }, 'a');
      beaten = true;
      await assert.rejects(m.update(app.id, { name: 'mine' }), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.kind, 'conflict');
        assert.equal(err.serving, m.appsVersion(), 'the newest version read is served');
        return true;
      });
      const stored = await own.load();
      assert.equal(stored.appsVersion, m.appsVersion());
      assert.ok(!stored.apps.some((a) => a.name === 'mine'), 'nothing of this change was saved');
    } finally {
      await m.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'apps and signing keys are versioned apart: a rotation ' +
    'moves only the keys version, an app change only the apps version',
  () =>
    withManager({}, async (m) => {
      const keys0 = m.keysVersion();
      assert.equal(m.appsVersion(), 0, 'no app saved yet');
      assert.ok(keys0 >= 1, 'the first signing key was saved');
      const { version: apps1 } = await m.create({ name: 'a' }, 'a');
      assert.equal(m.appsVersion(), apps1);
      assert.equal(m.keysVersion(), keys0, 'an app change leaves the keys version');
      const { key, version: keys1 } = await m.rotateKeys([keys0]);
      assert.ok(keys1 > keys0);
      assert.equal(m.appsVersion(), apps1, 'a rotation leaves the apps version');
      assert.equal(
        (await m.update('a', { name: 'b' }, [apps1])).version,
        keys1 + 1,
        'an apps If-Match taken before the rotation still matches',
      );
      await assert.rejects(m.rotateKeys([keys0]), (err: unknown) => {
        assert.ok(err instanceof AppError);
        assert.equal(err.kind, 'version_mismatch');
        assert.equal(err.serving, keys1);
        return true;
      });
      assert.equal(m.keys().length, 2, 'the refused rotation changed nothing');
      assert.equal(m.keysVersion(), keys1);
      assert.equal(m.keys().find((k) => k.retiredAt === undefined)?.kid, key.kid);
    }),
);

test(
  "a change that loses the race to the other part's " + 'change is redone on it, its If-Match still matching',
  async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tollgate-identity-'));
    const r = validateConfig({});
    assert.ok(r.ok);
    const conf = r.config.tokens;
    const own = new FileAppStore(dir);
    const rival = new FileAppStore(dir);
    // Set to the part the other writer changes just before this manager's next save, once.
    let rivalChanges: 'apps' | 'keys' | undefined;
    const store: AppStore = {
      load: () => own.load(),
      async save(doc, expected) {
        const part = rivalChanges;
        rivalChanges = undefined;
        const theirs = await rival.load();
        if (part === 'keys')
          await rival.save(
            { ...theirs, keys: theirs.keys.map((k) => ({ ...k })), keysVersion: theirs.version + 1 },
            theirs.version,
          );
        if (part === 'apps')
          await rival.save(
            { ...theirs, apps: [...theirs.apps, { ...theirs.apps[0], id: 'theirs' }], appsVersion: theirs.version + 1 },
            theirs.version,
          );
        return own.save(doc, expected);
      },
      watch: () => undefined,
      close: () => own.close(),
    };
    const m = new IdentityManager({ store, push: () => undefined, tokens: () => conf, log: createLogger('silent') });
    try {
      await m.start();
      const { version: apps1 } = await m.create({ name: 'a' }, 'a');
      rivalChanges = 'keys';
      const keysBefore = m.keysVersion();
      const updated = await m.update('a', { name: 'mine' }, [apps1]);
      assert.equal(updated.app.name, 'mine');
      assert.ok(m.keysVersion() > keysBefore, "the other writer's rotation was adopted");
      rivalChanges = 'apps';
      const rotated = await m.rotateKeys([m.keysVersion()]);
      assert.equal(rotated.version, m.keysVersion());
      assert.ok(m.get('theirs'), "the other writer's app was adopted");
      assert.equal(m.get('a')?.name, 'mine');
    } finally {
      await m.close();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
