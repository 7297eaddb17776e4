// HAProxy (the Debian package `npm run services:up` installs) in TCP mode for a test: a config of the defaults
// every test uses and the sections given, run in the foreground until the test ends.
import { type ChildProcess, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export const HAPROXY = process.env.TOLLGATE_TEST_HAPROXY;

/** Why a HAProxy test is skipped on a laptop without it (never with CI=true), or false. */
export const skipWithoutHaproxy =
  !HAPROXY && process.env.CI !== 'true' && 'needs haproxy (TOLLGATE_TEST_HAPROXY): npm run services:up';

export function startHaproxy(t: TestContext, dir: string, sections: string[]): ChildProcess {
  const cfg = join(dir, 'haproxy.cfg');
  const defaults = ['defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 10s', '  timeout server 10s'];
  writeFileSync(cfg, [...defaults, ...sections, ''].join('\n'));
  const haproxy = spawn(HAPROXY ?? 'haproxy', ['-db', '-f', cfg], { stdio: 'ignore' });
  t.after(() => haproxy.kill());
  return haproxy;
}
