import { X509Certificate } from 'node:crypto';
import type { Server } from 'node:tls';
import type { Logger } from '../../log.ts';
import { ocspUrlOf, pemCertificates } from '../net/pem.ts';
import type { OcspSubject, OcspVerdict } from '../net/ocsp.ts';
import type { ListenerTls } from './certificates.ts';
import type { ListenerMetrics } from './metrics.ts';

/** What a fetch of a certificate's status ended with; bounded, a metric label. */
export const OCSP_RESULTS = ['good', 'revoked', 'unknown', 'bad_response', 'unreachable'] as const;
export type OcspResult = (typeof OCSP_RESULTS)[number];

export interface StaplingHooks {
  fetched(certificate: string, result: OcspResult, message: string | undefined): void;
  /** The response stapled for `certificate` is now valid until `untilMs` (Infinity: no nextUpdate; 0: none). */
  stapled(certificate: string, untilMs: number): void;
  /** `certificate` is no longer stapled (a reload dropped or replaced it). */
  forgotten(certificate: string): void;
}

/** A good response is fetched again halfway through its validity, within these bounds. */
const REFRESH_MIN_MS = 5_000;
const REFRESH_MAX_MS = 3_600_000;
/** After a failed fetch: 5 s, doubling to 5 minutes, the last good response stapled until its nextUpdate. */
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 300_000;
/** First fetches of a listener's certificates are this far apart. */
const START_SPACING_MS = 10;
/** A responder's answer is a few KB; more is not an OCSP response. */
const MAX_RESPONSE_BYTES = 256 * 1024;

const ocsp = () => import('../net/ocsp.ts');

/** One certificate's stapled response: fetched at start, refreshed before it expires, never served past it. */
class Stapler {
  readonly file: string;
  readonly subject: OcspSubject;
  readonly url: string;
  readonly timeoutMs: number;
  readonly #hooks: StaplingHooks;
  #staple: Buffer | undefined;
  #untilMs = 0;
  #failures = 0;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(file: string, subject: OcspSubject, url: string, timeoutMs: number, hooks: StaplingHooks, startMs = 0) {
    this.file = file;
    this.subject = subject;
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.#hooks = hooks;
    this.#timer = setTimeout(() => void this.#fetch(), startMs).unref();
  }

  /** The response to staple now, if a good one is still current. */
  current(nowMs = Date.now()): Buffer | undefined {
    return this.#staple !== undefined && nowMs < this.#untilMs ? this.#staple : undefined;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  async #fetch(): Promise<void> {
    const { verdict, der } = await this.#ask();
    let delayMs: number;
    if (verdict.status === 'good' && der !== undefined) {
      this.#failures = 0;
      this.#staple = der;
      this.#untilMs = verdict.nextUpdateMs ?? Infinity;
      const halfway = verdict.nextUpdateMs === undefined ? REFRESH_MAX_MS : (verdict.nextUpdateMs - Date.now()) / 2;
      delayMs = Math.min(Math.max(halfway, REFRESH_MIN_MS), REFRESH_MAX_MS);
    } else {
      // A revoked certificate is never vouched for again, not even by a good response still current.
      if (verdict.status === 'revoked') this.#staple = undefined;
      delayMs = this.#retryMs();
    }
    if (this.#stopped) return;
    this.#hooks.fetched(this.file, verdict.status, 'message' in verdict ? verdict.message : undefined);
    this.#hooks.stapled(this.file, this.#staple === undefined ? 0 : this.#untilMs);
    this.#timer = setTimeout(() => void this.#fetch(), delayMs).unref();
  }

  /** The responder's answer and what it says; `unreachable` when no answer came over HTTP. */
  async #ask(): Promise<{ verdict: OcspVerdict | { status: 'unreachable'; message: string }; der?: Buffer }> {
    const { ocspRequest, checkOcspResponse } = await ocsp();
    let der: Buffer | undefined;
    try {
      const response = await fetch(this.url, {
        method: 'POST',
        headers: { 'content-type': 'application/ocsp-request', accept: 'application/ocsp-response' },
        body: new Uint8Array(ocspRequest(this.subject)),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      if (response.status !== 200) throw new Error(`the responder answered HTTP ${response.status}`);
      der = await bodyOf(response);
    } catch (e) {
      return { verdict: { status: 'unreachable', message: `${this.url}: ${(e as Error).message}` } };
    }
    if (der === undefined)
      return { verdict: { status: 'bad_response', message: `more than ${MAX_RESPONSE_BYTES} bytes, not OCSP` } };
    return { verdict: checkOcspResponse(der, this.subject), der };
  }

  #retryMs(): number {
    this.#failures++;
    return Math.min(RETRY_FIRST_MS * 2 ** (this.#failures - 1), RETRY_MAX_MS);
  }
}

/** A response's body; undefined once it runs past MAX_RESPONSE_BYTES (the rest is not read). */
async function bodyOf(response: Response): Promise<Buffer | undefined> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of response.body ?? []) {
    size += chunk.length;
    // Leaving the loop cancels the body.
    if (size > MAX_RESPONSE_BYTES) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/**
 * A TLS listener's OCSP stapling (`tls.ocsp_stapling`): a Stapler per certificate, each asking the responder its
 * certificate names (or `responder`), and a handshake that asks for status (status_request) gets the current good
 * response of the certificate SNI chose, or none. An update keeps the staplers of certificates it keeps.
 */
export class OcspStapling {
  /** By the certificate's DER (base64), as the OCSPRequest event hands it. */
  #byCertificate = new Map<string, Stapler>();
  readonly #hooks: StaplingHooks;

  constructor(server: Server, hooks: StaplingHooks) {
    this.#hooks = hooks;
    server.on('OCSPRequest', (certificate: Buffer, _issuer: Buffer, answer: (err: null, r: Buffer | null) => void) =>
      answer(null, this.#byCertificate.get(certificate.toString('base64'))?.current() ?? null),
    );
  }

  update(tls: ListenerTls): void {
    const next = new Map<string, Stapler>();
    let fresh = 0;
    const stapling = tls.ocsp_stapling;
    if (stapling !== undefined)
      tls.certificates.forEach((c, i) => {
        const [leafPem, issuerPem] = pemCertificates(tls.pem?.certificates[i]?.cert ?? '');
        const leaf = new X509Certificate(leafPem);
        const key = leaf.raw.toString('base64');
        const url = stapling.responder ?? ocspUrlOf(leaf);
        const old = this.#byCertificate.get(key);
        if (old !== undefined && old.url === url && old.file === c.cert && old.timeoutMs === stapling.timeout_ms)
          return void next.set(key, old);
        // checkListenerTls refused a certificate without its issuer or without a responder to ask.
        const subject = { leaf, issuer: new X509Certificate(issuerPem) };
        // Reading a response takes ~1.5 ms of this thread: a listener with many certificates asks for them in turn.
        const startMs = fresh++ * START_SPACING_MS;
        next.set(key, new Stapler(c.cert, subject, url as string, stapling.timeout_ms, this.#hooks, startMs));
      });
    this.#forget(next);
    this.#byCertificate = next;
  }

  stop(): void {
    this.#forget(new Map());
    this.#byCertificate.clear();
  }

  /** Stops the staplers `kept` does not hold. */
  #forget(kept: Map<string, Stapler>): void {
    for (const [key, stapler] of this.#byCertificate)
      if (kept.get(key) !== stapler) {
        stapler.stop();
        this.#hooks.forgotten(stapler.file);
      }
  }
}

/** Stapling's metrics and logs for listener or stream `name`. */
export function staplingHooks(metrics: ListenerMetrics, log: Logger, name: string): StaplingHooks {
  return {
    fetched(certificate, result, message) {
      metrics.ocspFetches.inc({ listener: name, result });
      if (result === 'good') return;
      const fields = { listener: name, certificate, result, reason: message };
      if (result === 'revoked') log.error(fields, 'OCSP: the certificate is revoked; no response is stapled');
      else log.warn(fields, 'OCSP: no new response to staple; the last good one is stapled until it expires');
    },
    stapled(certificate, untilMs) {
      metrics.ocspStapleExpiry.set({ listener: name, certificate }, untilMs / 1000);
    },
    forgotten(certificate) {
      metrics.ocspStapleExpiry.remove({ listener: name, certificate });
    },
  };
}
