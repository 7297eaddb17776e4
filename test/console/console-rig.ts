// A real gateway with an admin token, a real upstream, and Debian's Chromium driven by playwright-core: what the
// console's browser suites share. Every console error, failed page script and dialog is kept, so a suite can
// assert there were none.
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/chromium.ts';
import { service, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { startUpstream, type TestUpstream } from '../helpers/upstream.ts';

export const TOKEN = 'console-test-token-0123456789';

export interface ConsoleRig {
  gw: TestGateway;
  up: TestUpstream;
  browser: Browser;
  page: Page;
  /**
   * Console errors, uncaught page errors and API answers of 400 or more that no test said to expect, as text. The
   * browser's own "Failed to load resource" line for an answer is left to the answers' check.
   */
  errors: string[];
  /** An answer `status` to `path` (a substring of the URL) is one the test brings about; it is not an error. */
  expect(status: number, path: string): void;
  /** Every URL the page asked for. */
  urls: string[];
  /** The message of every dialog (confirm(), alert()) the page opened; confirms are accepted. */
  dialogs: string[];
  /** An admin API call with the token. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: any; text: string }>;
  close(): Promise<void>;
}

/** `more`: config keys beside the rig's own (listeners, streams). */
export async function startConsoleRig(more: Record<string, unknown> = {}): Promise<ConsoleRig> {
  const up = await startUpstream('up');
  const gw = await startGateway({
    admin: { token: TOKEN },
    // Links only: tracing itself stays off here.
    tracing: { enabled: false, ui_url: 'http://127.0.0.1:16686/trace/{trace_id}' },
    services: [service('seed', [up.url], [{ paths: ['/seed'] }])],
    ...more,
  });
  const browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  const urls: string[] = [];
  const dialogs: string[] = [];
  const expected: Array<{ status: number; path: string }> = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !m.text().startsWith('Failed to load resource')) errors.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const i = expected.findIndex((e) => e.status === r.status() && r.url().includes(e.path));
    if (i >= 0) expected.splice(i, 1);
    else errors.push(`${r.status()} from ${r.request().method()} ${r.url()}`);
  });
  page.on('pageerror', (e) => errors.push(`page error: ${e.message}`));
  page.on('request', (r) => urls.push(r.url()));
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.accept();
  });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${gw.adminUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let json: any;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  return {
    gw,
    up,
    browser,
    page,
    errors,
    urls,
    dialogs,
    expect: (status, path) => void expected.push({ status, path }),
    api,
    close: async () => {
      await browser.close();
      await gw.close();
      await up.close();
    },
  };
}

/** Sends `count` requests through the gateway, `perSecond` at a time each second, without waiting on the page. */
export async function traffic(url: string, count: number, headers: Record<string, string> = {}): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    const res = await fetch(url, { headers });
    await res.arrayBuffer();
    statuses.push(res.status);
  }
  return statuses;
}
