import { isIP } from 'node:net';

/**
 * True when `host` only accepts connections from this machine. Callers refuse
 * to start the admin API on any other host without a token.
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  // IPv4-mapped IPv6 loopback, e.g. ::ffff:127.0.0.1
  return /^::ffff:127\./.test(h);
}
