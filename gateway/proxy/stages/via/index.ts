/**
 * Via (RFC 9110 7.6.3): a gateway must add itself to the Via of each request it forwards, and that is how a request
 * that comes back to the gateway it left is recognised. A target that leads back to the gateway (a DNS name or a
 * registry entry that resolves to it, another proxy sending traffic back) would otherwise pass through again and
 * again, each pass holding an upstream connection, until a timeout or the header size limit ends it. Config
 * validation refuses static targets that are the gateway's own listeners (upstream/self-targets.ts); this catches
 * the rest, at run time, after `max_passes` passes.
 */
import type { Config } from '../../../control/config/schema.ts';
import type { EdgeStage } from '../../pipeline.ts';
import type { RequestContext } from '../../context.ts';

/**
 * How many of the entries of a Via field were added by `pseudonym`: entries are `[protocol/]version received-by
 * [comment]`, separated by commas (repeated fields arrive joined by Node). A comment may hold a comma; it is
 * skipped whole.
 */
export function passesOf(via: string, pseudonym: string): number {
  let passes = 0;
  for (const entry of withoutComments(via).split(',')) {
    const words = entry.trim().split(/[ \t]+/);
    if (words.length >= 2 && words[1] === pseudonym) passes++;
  }
  return passes;
}

function withoutComments(via: string): string {
  if (!via.includes('(')) return via;
  let out = '';
  let depth = 0;
  for (let i = 0; i < via.length; i++) {
    const c = via[i];
    if (c === '\\' && depth > 0) i++;
    else if (c === '(') depth++;
    else if (c === ')' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** The entries this gateway adds, by the protocol version it received a request over: made once per config. */
export interface ViaEntries {
  h2: string;
  http10: string;
  http11: string;
}

export function viaEntries(via: Config['proxy']['via']): ViaEntries | undefined {
  if (!via.enabled) return undefined;
  return { h2: `2 ${via.pseudonym}`, http10: `1.0 ${via.pseudonym}`, http11: `1.1 ${via.pseudonym}` };
}

/** This request's entry: the version of the protocol it came over, and the pseudonym. */
export function viaEntry(ctx: RequestContext, entries: ViaEntries): string {
  if (ctx.protocol === 'h2') return entries.h2;
  return ctx.req.httpVersionMinor === 0 ? entries.http10 : entries.http11;
}

/** Refuses, with 508, a request that has passed through this gateway `max_passes` times already. */
export const via: EdgeStage = {
  name: 'via',
  scope: 'edge',
  init: (snapshot) => {
    const config = snapshot.config.proxy.via;
    if (!config.enabled) return undefined;
    return (ctx) => {
      const incoming = ctx.req.headers.via;
      if (incoming !== undefined && passesOf(incoming, config.pseudonym) >= config.max_passes)
        return ctx.reply('GW_ERR_LOOP_DETECTED');
    };
  },
};
