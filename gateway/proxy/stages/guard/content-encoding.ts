import {
  brotliDecompressSync,
  gunzipSync,
  inflateRawSync,
  inflateSync,
  type ZlibOptions,
  zstdDecompressSync,
} from 'node:zlib';

type Decode = (buf: Buffer, options: ZlibOptions) => Buffer;

/** Content codings a service's body parser may undo (Express's body parser takes gzip and deflate by default). */
const DECODERS: Record<string, Decode> = {
  gzip: gunzipSync,
  'x-gzip': gunzipSync,
  // RFC 9110 8.4.1.2: zlib-wrapped; some clients send raw deflate, which some servers take too.
  deflate: (buf, options) => {
    try {
      return inflateSync(buf, options);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw err;
      return inflateRawSync(buf, options);
    }
  },
  br: brotliDecompressSync as Decode,
  zstd: zstdDecompressSync as Decode,
};

/**
 * A body as its service reads it: its `Content-Encoding` codings undone, last applied first, and at most `max` bytes
 * of output (`maxOutputLength`, so a small body that inflates to gigabytes costs no more than `max`). 'too_large'
 * past that; 'undecodable' for a coding not listed here or data that is not in it (a parser upstream refuses it too).
 */
export function decodedBody(
  body: Buffer,
  codings: string | undefined,
  max: number,
): Buffer | 'too_large' | 'undecodable' {
  if (codings === undefined) return body;
  const list = codings
    .toLowerCase()
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '' && c !== 'identity');
  let out = body;
  for (let i = list.length - 1; i >= 0; i--) {
    const decode = DECODERS[list[i]];
    if (decode === undefined) return 'undecodable';
    try {
      out = decode(out, { maxOutputLength: max });
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? 'too_large' : 'undecodable';
    }
  }
  return out;
}
