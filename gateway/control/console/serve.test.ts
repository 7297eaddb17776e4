import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Fastify from 'fastify';
import { installAdminAuth } from '../admin/auth.ts';
import { installErrorReplies } from '../admin/replies.ts';
import { CONSOLE_CSP, consoleRoutes } from './serve.ts';

async function adminWith(dir: string | null) {
  const app = Fastify();
  installErrorReplies(app);
  installAdminAuth(app, () => 'secret-token-123');
  app.get('/config', async () => ({ version: 1 }));
  consoleRoutes(app, dir);
  await app.ready();
  return app;
}

test('serves the built console without the token, with a strict CSP; the API still wants it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-console-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>x</title>');
  writeFileSync(join(dir, 'app.js'), 'console.log(1)');
  const app = await adminWith(dir);
  const page = await app.inject('/console/');
  assert.equal(page.statusCode, 200);
  assert.equal(page.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(page.headers['content-security-policy'], CONSOLE_CSP);
  assert.equal(page.headers['x-frame-options'], 'DENY');
  assert.doesNotMatch(CONSOLE_CSP, /unsafe/);
  const js = await app.inject('/console/app.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  const again = await app.inject({ url: '/console/app.js', headers: { 'if-none-match': String(js.headers.etag) } });
  assert.equal(again.statusCode, 304);
  assert.equal((await app.inject('/console')).headers.location, '/console/');
  assert.equal((await app.inject('/config')).statusCode, 401, 'the API is not opened by it');
  for (const path of ['/console/missing.js', '/console/..%2Fsecret.js', '/console/.env', '/console/notes.txt'])
    assert.equal((await app.inject(path)).statusCode, 404, path);
});

test('an installation without the built console says how to build it', async () => {
  const app = await adminWith(null);
  const res = await app.inject('/console/');
  assert.equal(res.statusCode, 503);
  assert.equal(res.json().code, 'GW_ERR_CONSOLE_NOT_BUILT');
  assert.match(res.json().message, /npm run build/);
});
