import { unmapIp } from '../../net/ip.ts';
import type { BalanceRequest, HashOn } from '../balancer.ts';

/** Reads the string a hashing balancer hashes; never empty while the client IP is known. */
export type KeyReader = (req: BalanceRequest) => string;

const SPACE = 0x20;
const TAB = 0x09;

/** `::ffff:1.2.3.4` (an IPv4 client on a dual-stack socket) and `1.2.3.4` are the same client and hash alike. */
const clientKey: KeyReader = (req) => unmapIp(req.clientIp);

/**
 * Built once per balancer so the per-request work is one lookup or one
 * indexOf scan. A missing or empty key falls back to the client IP: hashing
 * '' would send every such client to one target.
 */
export function keyReader(hashOn: HashOn | undefined): KeyReader {
  const name = hashOn?.name;
  switch (hashOn?.source) {
    case 'path':
      return (req) => req.path || clientKey(req);
    case 'app':
      return (req) => req.appId || clientKey(req);
    case 'header': {
      if (!name) return clientKey;
      const header = name.toLowerCase();
      return (req) => firstValue(req.headers[header]) || clientKey(req);
    }
    case 'cookie': {
      if (!name) return clientKey;
      const needle = name + '=';
      return (req) => {
        const cookies = firstValue(req.headers.cookie);
        return (cookies && findValue(cookies, needle, ';', true)) || clientKey(req);
      };
    }
    case 'query': {
      if (!name) return clientKey;
      const needle = name + '=';
      // The raw (still percent-encoded) value: one client sends one encoding,
      // so stickiness holds without paying for decodeURIComponent.
      return (req) => (req.query && findValue(req.query, needle, '&', false)) || clientKey(req);
    }
    default:
      return clientKey;
  }
}

function firstValue(v: string | string[] | undefined): string {
  if (v === undefined) return '';
  return typeof v === 'string' ? v : (v[0] ?? '');
}

/**
 * Value of `needle` (`name=`) in a `sep`-separated list, '' when absent. A
 * match counts only at the start of a pair, so `xid=` never matches `id=`.
 * Cookies allow whitespace around pairs; query strings do not.
 */
export function findValue(s: string, needle: string, sep: string, trimSpaces: boolean): string {
  let from = 0;
  for (;;) {
    const at = s.indexOf(needle, from);
    if (at < 0) return '';
    if (startsPair(s, at, sep, trimSpaces)) {
      const start = at + needle.length;
      let end = s.indexOf(sep, start);
      if (end < 0) end = s.length;
      if (trimSpaces) {
        while (end > start && isSpace(s.charCodeAt(end - 1))) end--;
      }
      return s.slice(start, end);
    }
    from = at + 1;
  }
}

function startsPair(s: string, at: number, sep: string, trimSpaces: boolean): boolean {
  let i = at - 1;
  if (trimSpaces) {
    while (i >= 0 && isSpace(s.charCodeAt(i))) i--;
  }
  return i < 0 || s.charCodeAt(i) === sep.charCodeAt(0);
}

function isSpace(c: number): boolean {
  return c === SPACE || c === TAB;
}
