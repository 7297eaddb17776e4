import { GatewayError } from '../../errors.ts';

/**
 * gRPC-Web (grpc/doc/PROTOCOL-WEB.md), the protocol browsers speak for gRPC: the same length-prefixed messages
 * over any HTTP version, with the status in a last body frame (flag 0x80, then an HTTP/1 header block) instead of
 * HTTP/2 trailers, and in `-text` mode the whole body base64-encoded. The gateway translates a call to gRPC for
 * an upstream that speaks HTTP/2 (h2, h2c) and the answer back (docs/protocols.md, gRPC-Web).
 */
export class GrpcWebCall {
  /** application/grpc-web-text: both bodies are base64. */
  readonly text: boolean;
  /** What follows the protocol in the content type: '+proto', '+json', '; charset=…', or ''. */
  readonly subtype: string;
  /** Set by the request-headers stage when the upstream speaks HTTP/2; an HTTP/1.1 one gets the call as it came. */
  translated = false;

  constructor(text: boolean, subtype: string) {
    this.text = text;
    this.subtype = subtype;
  }

  /** The content type the client sent and gets back. */
  get contentType(): string {
    return `application/grpc-web${this.text ? '-text' : ''}${this.subtype}`;
  }

  /** The content type the call has as gRPC. */
  get grpcContentType(): string {
    return `application/grpc${this.subtype}`;
  }

  /** Response bytes as the client reads them: base64 in text mode, each chunk padded on its own as the spec allows. */
  encode(chunk: Buffer): Buffer {
    return this.text ? Buffer.from(chunk.toString('base64'), 'latin1') : chunk;
  }

  /** The upstream's response head as the client gets it. */
  translateHead(fields: Record<string, string | string[]>): void {
    fields['content-type'] = this.contentType;
    delete fields['content-length']; // the body gains a trailer frame, and grows as base64
  }

  /** The frame that ends a translated body: the upstream's trailers, or nothing when it sent none (trailers-only). */
  endFrame(trailers: Record<string, string | string[] | undefined>): Buffer | undefined {
    for (const _ in trailers) return this.trailerFrame(trailers);
    return undefined;
  }

  /** The trailer frame that ends the body: the status and any other trailers, one `name: value` line each. */
  trailerFrame(trailers: Record<string, string | string[] | undefined>): Buffer {
    let block = '';
    for (const name in trailers) {
      const value = trailers[name];
      if (value === undefined) continue;
      for (const v of Array.isArray(value) ? value : [value]) block += `${name.toLowerCase()}: ${v}\r\n`;
    }
    const body = Buffer.from(block, 'utf8');
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0x80;
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    return this.encode(frame);
  }
}

/** The gRPC-Web call a request's content type makes (application/grpc-web, -text, with +subtype or ;params). */
export function grpcWebCall(contentType: string | undefined): GrpcWebCall | undefined {
  if (contentType === undefined || !contentType.startsWith('application/grpc-web')) return undefined;
  const text = contentType.startsWith('-text', 20);
  const rest = contentType.slice(text ? 25 : 20);
  // application/grpc-webfoo is another type; -text-base64 is the spec's explicit name for base64 text.
  const subtype = rest.startsWith('-base64') && text ? rest.slice(7) : rest;
  if (subtype !== '' && subtype[0] !== '+' && subtype[0] !== ';') return undefined;
  return new GrpcWebCall(text, subtype);
}

const GROUPS = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes a base64 request body as it streams, chunks split anywhere. A client may pad where it flushed, so the
 * text is a series of padded segments; Node's decoder stops at the first `=`, so each segment is decoded alone.
 * Anything else (a character outside base64, padding inside a group, a body ending mid-group) is refused.
 */
export class Base64Decoder {
  #carry = '';

  push(chunk: Buffer): Buffer {
    const s = this.#carry + chunk.toString('latin1');
    const whole = s.length - (s.length % 4);
    this.#carry = s.slice(whole);
    const parts: Buffer[] = [];
    let from = 0;
    while (from < whole) {
      const pad = s.indexOf('=', from);
      // A segment ends with the group that holds its padding, or at the last whole group.
      const end = pad === -1 || pad >= whole ? whole : (Math.floor(pad / 4) + 1) * 4;
      const segment = s.slice(from, end);
      if (!GROUPS.test(segment)) throw badBody();
      parts.push(Buffer.from(segment, 'base64'));
      from = end;
    }
    return parts.length === 1 ? parts[0] : Buffer.concat(parts);
  }

  /** The body ended: an error when it stopped inside a group. */
  end(): GatewayError | null {
    return this.#carry === '' ? null : badBody();
  }
}

function badBody(): GatewayError {
  return new GatewayError('TOLLGATE_GRPC_WEB_BAD_BODY', 'gRPC-Web text body is not base64');
}
