/**
 * The server name (SNI) of a TLS ClientHello, read without terminating TLS
 * (as nginx's ssl_preread): the first bytes a client sends, gathered across
 * TLS records until the ClientHello is whole (RFC 8446 4.1.2, RFC 6066 3).
 */

export type Hello =
  | { kind: 'incomplete' }
  | { kind: 'not_tls' }
  /** `serverName` lower-cased; '' when the client named no server (it connected by address). */
  | { kind: 'hello'; serverName: string };

/** A ClientHello is a few hundred bytes to ~2 KB (post-quantum key shares); past this the client is not one. */
export const MAX_HELLO_BYTES = 16 * 1024 + 5;

const INCOMPLETE: Hello = { kind: 'incomplete' };
const NOT_TLS: Hello = { kind: 'not_tls' };

/** The server name of a ClientHello held whole in `buf`, or what else `buf` is (clientHelloReader). */
export const readClientHello = (buf: Buffer): Hello => clientHelloReader()(buf);

/**
 * A reader of one connection's ClientHello, given every byte read so far each time more come. It goes on from the
 * record it stopped at, so a hello sent in 1-byte records costs a look at each record once: read from the start
 * each time, 16 KB of them took ~85 ms of CPU sent a record at a time, ~500 ms a byte at a time with readPrefix's
 * old copying (test/bench/net/prefix.bench.ts).
 */
export function clientHelloReader(): (buf: Buffer) => Hello {
  // The handshake message, reassembled from the records' fragments (their offsets in the bytes). Its 4-byte header
  // may itself be split across records, as OpenSSL accepts it: its length is known once 4 bytes are in.
  const parts: { start: number; end: number }[] = [];
  let have = 0;
  let at = 0;
  let need = -1;
  let decided: Hello | undefined;
  return (buf) => {
    if (decided !== undefined) return decided;
    while (need < 0 || have < need) {
      if (buf.length < at + 5) return buf.length > MAX_HELLO_BYTES ? (decided = NOT_TLS) : INCOMPLETE;
      if (buf[at] !== 22 || buf[at + 1] !== 3) return (decided = NOT_TLS); // a handshake record, TLS 1.x
      const length = buf.readUInt16BE(at + 3);
      if (length === 0 || length > 16384) return (decided = NOT_TLS);
      if (buf.length < at + 5 + length) return at + 5 + length > MAX_HELLO_BYTES ? (decided = NOT_TLS) : INCOMPLETE;
      parts.push({ start: at + 5, end: at + 5 + length });
      have += length;
      at += 5 + length;
      if (buf[parts[0]!.start] !== 1) return (decided = NOT_TLS); // handshake type client_hello
      if (need < 0 && have >= 4) {
        const header = message(buf, parts);
        need = 4 + ((header[1]! << 16) | (header[2]! << 8) | header[3]!);
        if (need > MAX_HELLO_BYTES) return (decided = NOT_TLS);
      }
    }
    const name = serverNameOf(message(buf, parts).subarray(4, need));
    decided = name === undefined ? NOT_TLS : { kind: 'hello', serverName: name };
    return decided;
  };
}

/** A connection's clientHelloReader as readPrefix takes one: undefined until the hello is whole. */
export function clientHelloPrefix(): (buf: Buffer) => Exclude<Hello, { kind: 'incomplete' }> | undefined {
  const read = clientHelloReader();
  return (buf) => {
    const hello = read(buf);
    return hello.kind === 'incomplete' ? undefined : hello;
  };
}

/** The handshake message's bytes so far: its records' fragments, joined. */
function message(buf: Buffer, parts: readonly { start: number; end: number }[]): Buffer {
  if (parts.length === 1) return buf.subarray(parts[0]!.start, parts[0]!.end);
  return Buffer.concat(parts.map((p) => buf.subarray(p.start, p.end)));
}

/** The host_name of the server_name extension of a ClientHello body; '' without one; undefined when malformed. */
function serverNameOf(body: Buffer): string | undefined {
  let at = 2 + 32; // legacy_version, random
  if (body.length < at + 1) return undefined;
  at += 1 + body[at]!; // legacy_session_id
  if (body.length < at + 2) return undefined;
  at += 2 + body.readUInt16BE(at); // cipher_suites
  if (body.length < at + 1) return undefined;
  at += 1 + body[at]!; // legacy_compression_methods
  if (body.length === at) return ''; // no extensions at all
  if (body.length < at + 2) return undefined;
  const end = at + 2 + body.readUInt16BE(at);
  if (end > body.length) return undefined;
  at += 2;
  while (at + 4 <= end) {
    const type = body.readUInt16BE(at);
    const length = body.readUInt16BE(at + 2);
    at += 4;
    if (at + length > end) return undefined;
    if (type === 0) return hostName(body.subarray(at, at + length));
    at += length;
  }
  return '';
}

function hostName(ext: Buffer): string | undefined {
  if (ext.length < 2) return undefined;
  const end = Math.min(ext.length, 2 + ext.readUInt16BE(0));
  for (let at = 2; at + 3 <= end; ) {
    const type = ext[at]!;
    const length = ext.readUInt16BE(at + 1);
    at += 3;
    if (at + length > end) return undefined;
    // A DNS name in ASCII (RFC 6066 3); anything else is no name this gateway could have routed.
    if (type === 0) {
      const name = ext.subarray(at, at + length).toString('latin1');
      return /^[A-Za-z0-9.-]{1,253}$/.test(name) ? name.toLowerCase().replace(/\.$/, '') : undefined;
    }
    at += length;
  }
  return '';
}
