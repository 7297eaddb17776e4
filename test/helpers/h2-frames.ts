// Raw HTTP/2 frames (RFC 9113 §4.1), for tests that must send what no well-behaved client library sends:
// floods of resets or CONTINUATION frames.
import { connect, type Socket } from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const FRAME = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const END_STREAM = 0x1;
export const END_HEADERS = 0x4;

export function frame(type: number, flags: number, stream: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream, 5);
  return Buffer.concat([head, payload]);
}

/** An HPACK literal without indexing, its name by static-table index (RFC 7541 §6.2.2); values under 128 bytes. */
function literal(nameIndex: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([nameIndex, value.length]), Buffer.from(value, 'latin1')]);
}

/** The header block of `GET http://<authority><path>`: :method GET, :scheme http (indexed), :path, :authority. */
export function getHeaderBlock(path: string, authority = 'gateway.test'): Buffer {
  return Buffer.concat([Buffer.from([0x82, 0x86]), literal(4, path), literal(1, authority)]);
}

/** An HPACK string's length, a 7-bit-prefix integer (RFC 7541 §5.1), Huffman off. */
function stringLength(n: number): number[] {
  if (n < 127) return [n];
  const out = [127];
  for (n -= 127; n >= 128; n >>= 7) out.push((n & 127) | 128);
  out.push(n);
  return out;
}

/** An HPACK literal without indexing with a new name (RFC 7541 §6.2.2), of any length. */
export function newNameLiteral(name: string, value: string): Buffer {
  const [n, v] = [Buffer.from(name, 'latin1'), Buffer.from(value, 'latin1')];
  return Buffer.concat([Buffer.from([0, ...stringLength(n.length)]), n, Buffer.from(stringLength(v.length)), v]);
}

/** A header block as one HEADERS frame and CONTINUATION frames of 16 KB at most (the default max frame size). */
export function headerFrames(stream: number, block: Buffer, flags = END_STREAM): Buffer {
  const frames: Buffer[] = [];
  for (let at = 0; at < block.length || at === 0; at += 16384) {
    const last = at + 16384 >= block.length;
    const type = at === 0 ? FRAME.HEADERS : FRAME.CONTINUATION;
    frames.push(frame(type, (last ? END_HEADERS : 0) | (at === 0 ? flags : 0), stream, block.subarray(at, at + 16384)));
  }
  return Buffer.concat(frames);
}

export function rstStream(stream: number, code = 0x8 /* CANCEL */): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(code);
  return frame(FRAME.RST_STREAM, 0, stream, payload);
}

export interface RawH2 {
  socket: Socket;
  /** Set once the peer sent GOAWAY: its error code. */
  goaway: number | undefined;
  closed: Promise<void>;
  /** Writes and resolves once the socket drained; false once the peer closed. */
  send(bytes: Buffer): Promise<boolean>;
}

/** A cleartext connection that has sent the preface and an empty SETTINGS frame, and reads GOAWAY frames. */
export async function rawH2(port: number): Promise<RawH2> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((r) => socket.once('connect', r));
  let open = true;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  closed.then(() => (open = false));
  socket.on('error', () => undefined);
  const raw: RawH2 = {
    socket,
    goaway: undefined,
    closed,
    send: async (bytes) => {
      if (open && !socket.write(bytes)) await Promise.race([new Promise((r) => socket.once('drain', r)), closed]);
      return open;
    },
  };
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) break;
      if (pending[3] === FRAME.GOAWAY) raw.goaway = pending.readUInt32BE(9 + 4);
      pending = pending.subarray(9 + length);
    }
  });
  await raw.send(Buffer.concat([PREFACE, frame(FRAME.SETTINGS, 0, 0)]));
  return raw;
}
