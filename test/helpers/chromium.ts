// Debian's Chromium, driven by playwright-core (never a downloaded browser): what the browser suites share.
import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** The browser the project installs (`npm run services:up`, Debian's chromium), or the one named by the env. */
const CHROMIUM = process.env.TOLLGATE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** A browser suite's skip: never with CI=true, where a missing browser must fail; on a laptop, when it is missing. */
export const chromiumSkip: string | false =
  process.env.CI === 'true' || existsSync(CHROMIUM)
    ? false
    : `needs Chromium at ${CHROMIUM} (npm run services:up installs it)`;

/** Chromium with the flags it needs here: root in a sandbox, no GPU, no background calls to an unreachable network. */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
