/**
 * The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2): the
 * header a proxy puts before a connection's first byte to say whose
 * connection it is. Streams send one to their targets, and read one from a
 * trusted load balancer in front.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { canonicalIp } from './ip.ts';

export interface Endpoints {
  sourceIp: string;
  sourcePort: number;
  destIp: string;
  destPort: number;
}

/** The v2 signature, the first 12 bytes of every v2 header. */
const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** A v1 header is at most 107 bytes, CRLF included. */
const V1_MAX = 107;
/** Longest v2 header read: the addresses and room for TLVs (AWS and Azure send a few dozen bytes of them). */
const V2_MAX = 16 + 2048;

/** An IPv4 address mapped into IPv6 (`::ffff:1.2.3.4`, how a dual-stack socket names IPv4 peers) as IPv4. */
const plain = (ip: string) => (ip.startsWith('::ffff:') && isIPv4(ip.slice(7)) ? ip.slice(7) : ip);

/** `PROXY TCP4|TCP6 src dst sport dport\r\n`, or `PROXY UNKNOWN\r\n` when the families differ or are unknown. */
export function headerV1(e: Endpoints): Buffer {
  const src = plain(e.sourceIp);
  const dst = plain(e.destIp);
  const family = isIPv4(src) && isIPv4(dst) ? 'TCP4' : isIPv6(src) && isIPv6(dst) ? 'TCP6' : undefined;
  if (family === undefined) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY ${family} ${src} ${dst} ${e.sourcePort} ${e.destPort}\r\n`, 'latin1');
}

/** The header of `version` telling a target of a client at `sourceIp`:`sourcePort`, accepted at `accepted`. */
export function headerFor(
  version: 'v1' | 'v2',
  sourceIp: string,
  sourcePort: number,
  accepted: { localAddress?: string; localPort?: number },
): Buffer {
  const e = { sourceIp, sourcePort, destIp: accepted.localAddress ?? '', destPort: accepted.localPort ?? 0 };
  return version === 'v1' ? headerV1(e) : headerV2(e);
}

/** The binary header, command PROXY over TCP; LOCAL with no addresses when the families differ. */
export function headerV2(e: Endpoints): Buffer {
  const src = plain(e.sourceIp);
  const dst = plain(e.destIp);
  const v4 = isIPv4(src) && isIPv4(dst);
  const v6 = !v4 && isIPv6(src) && isIPv6(dst);
  const addressBytes = v4 ? 12 : v6 ? 36 : 0;
  const out = Buffer.alloc(16 + addressBytes);
  V2_SIGNATURE.copy(out, 0);
  out[12] = v4 || v6 ? 0x21 : 0x20; // version 2; PROXY, or LOCAL
  out[13] = v4 ? 0x11 : v6 ? 0x21 : 0x00; // TCP over IPv4 / IPv6, or unspecified
  out.writeUInt16BE(addressBytes, 14);
  if (v4) {
    writeV4(out, 16, src);
    writeV4(out, 20, dst);
    out.writeUInt16BE(e.sourcePort, 24);
    out.writeUInt16BE(e.destPort, 26);
  } else if (v6) {
    writeV6(out, 16, src);
    writeV6(out, 32, dst);
    out.writeUInt16BE(e.sourcePort, 48);
    out.writeUInt16BE(e.destPort, 50);
  }
  return out;
}

function writeV4(out: Buffer, at: number, ip: string): void {
  ip.split('.').forEach((part, i) => {
    out[at + i] = Number(part);
  });
}

function writeV6(out: Buffer, at: number, ip: string): void {
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4 kept as IPv6 when the other side is IPv6) as two groups.
  const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (quad) {
    const [a, b, c, d] = quad.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g, 16), at + i * 2));
}

/** What reading a header from the bytes so far gave. */
export type Parsed =
  | { kind: 'incomplete' }
  | { kind: 'invalid'; why: string }
  /** `bytes` of header; `source` undefined for LOCAL or UNKNOWN (the peer itself is the client). */
  | { kind: 'header'; bytes: number; source: { ip: string; port: number } | undefined };

const INCOMPLETE: Parsed = { kind: 'incomplete' };
const invalid = (why: string): Parsed => ({ kind: 'invalid', why });

/** parseHeader for readPrefix (net/prefix.ts): undefined while the header is not whole. */
export function parseWhole(bytes: Buffer): Exclude<Parsed, { kind: 'incomplete' }> | undefined {
  const header = parseHeader(bytes);
  return header.kind === 'incomplete' ? undefined : header;
}

/** Reads a v1 or v2 header at the start of `buf`. */
export function parseHeader(buf: Buffer): Parsed {
  if (buf.length === 0) return INCOMPLETE;
  if (buf[0] === 0x0d) return parseV2(buf);
  if (buf[0] === 0x50 /* P */) return parseV1(buf);
  return invalid('no PROXY protocol header');
}

function parseV1(buf: Buffer): Parsed {
  const prefix = 'PROXY ';
  const seen = buf.subarray(0, prefix.length).toString('latin1');
  if (!prefix.startsWith(seen)) return invalid('no PROXY protocol header');
  const end = buf.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return buf.length >= V1_MAX ? invalid('v1 header longer than 107 bytes') : INCOMPLETE;
  if (end + 2 > V1_MAX) return invalid('v1 header longer than 107 bytes');
  const parts = buf.subarray(0, end).toString('latin1').split(' ');
  if (parts[1] === 'UNKNOWN') return { kind: 'header', bytes: end + 2, source: undefined };
  if (parts.length !== 6) return invalid('v1 header has the wrong number of fields');
  const [, family, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  const isFamily = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (isFamily === undefined) return invalid(`v1 family ${JSON.stringify(family)} is not TCP4, TCP6 or UNKNOWN`);
  if (!isFamily(src) || !isFamily(dst)) return invalid(`v1 addresses are not ${family}`);
  const port = (p: string) => (/^(0|[1-9][0-9]{0,4})$/.test(p) && Number(p) <= 65535 ? Number(p) : -1);
  if (port(sport) < 0 || port(dport) < 0) return invalid('v1 ports must be 0-65535');
  return { kind: 'header', bytes: end + 2, source: { ip: canonicalIp(src), port: port(sport) } };
}

function parseV2(buf: Buffer): Parsed {
  const have = Math.min(buf.length, 12);
  if (!buf.subarray(0, have).equals(V2_SIGNATURE.subarray(0, have))) return invalid('no PROXY protocol header');
  if (buf.length < 16) return INCOMPLETE;
  const version = buf[12]! >> 4;
  const command = buf[12]! & 0x0f;
  if (version !== 2) return invalid(`v2 header of version ${version}`);
  if (command > 1) return invalid(`v2 command ${command} is neither LOCAL nor PROXY`);
  const length = buf.readUInt16BE(14);
  if (16 + length > V2_MAX) return invalid(`v2 header of ${16 + length} bytes is over ${V2_MAX}`);
  if (buf.length < 16 + length) return INCOMPLETE;
  const bytes = 16 + length;
  if (command === 0) return { kind: 'header', bytes, source: undefined }; // LOCAL: the balancer's own connection
  const family = buf[13]! >> 4;
  const transport = buf[13]! & 0x0f;
  if (transport !== 1 || (family !== 1 && family !== 2)) return { kind: 'header', bytes, source: undefined };
  if (family === 1) {
    if (length < 12) return invalid('v2 header too short for IPv4 addresses');
    return { kind: 'header', bytes, source: { ip: [...buf.subarray(16, 20)].join('.'), port: buf.readUInt16BE(24) } };
  }
  if (length < 36) return invalid('v2 header too short for IPv6 addresses');
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(16 + i * 2).toString(16));
  return { kind: 'header', bytes, source: { ip: canonicalIp(groups.join(':')), port: buf.readUInt16BE(48) } };
}
