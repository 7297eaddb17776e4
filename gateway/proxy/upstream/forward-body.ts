import type { Readable, Writable } from 'node:stream';

/** What a chunk of the client's body becomes on its way: the bytes to send, or the error that ends the call. */
export type Inspect = (chunk: Buffer) => Buffer | Error;

/**
 * A request that an HTTP/2 target refused (REFUSED_STREAM: a stream opened after its GOAWAY, as a gRPC server's
 * max_connection_age sends every so often) did nothing there and may go again, its body too: this much of it is kept
 * while it is sent, until the response starts. A body that outgrows it is not sent again.
 */
export const RESEND_BYTES = 64 * 1024;

/**
 * A client body that is counted, limited or decoded chunk by chunk as it is forwarded (request-body.ts) to an HTTP/2
 * upstream: by H2cDispatcher (forwardBody), or by undici as an iterable (http2Body). `end` is asked once the source
 * has ended: an error there (a gRPC-Web text body cut inside a base64 quantum) fails the call too. What was sent is
 * kept (RESEND_BYTES) for `again`.
 */
export class InspectedBody {
  readonly source: Readable;
  readonly inspect: Inspect;
  readonly end: () => Error | null | undefined;
  /** The chunks sent so far, as sent (inspected once); undefined once past RESEND_BYTES or no longer wanted. */
  sent: Buffer[] | undefined = [];
  sentBytes = 0;
  /** The source ended and `end` found nothing wrong: all of the body is in `sent`. */
  ended = false;
  /** Chunks to write before reading on from the source: what an earlier attempt sent (`again`). */
  prefix: readonly Buffer[] = [];

  constructor(source: Readable, inspect: Inspect, end: () => Error | null | undefined) {
    this.source = source;
    this.inspect = inspect;
    this.end = end;
  }

  /** A chunk of the source on its way: inspected, and kept while the body may be sent again. */
  pass(chunk: Buffer): Buffer | Error {
    const out = this.inspect(chunk);
    if (out instanceof Error || this.sent === undefined) return out;
    this.sentBytes += out.length;
    if (this.sentBytes <= RESEND_BYTES) this.sent.push(out);
    else this.sent = undefined;
    return out;
  }

  /** The source ended: `end`'s error, or none and the whole body is sent. */
  finish(): Error | undefined {
    const error = this.end() ?? undefined;
    if (error === undefined) this.ended = true;
    return error;
  }

  /** The same body for another attempt: what was sent, then the rest of the source; undefined when it was not kept. */
  again(): InspectedBody | undefined {
    const sent = this.sent;
    // The client closed its request before the end: there is no rest to read.
    if (sent === undefined || (!this.ended && this.source.destroyed)) return undefined;
    const next = new InspectedBody(this.source, this.inspect, this.end);
    next.prefix = sent;
    next.sent = [...sent];
    next.sentBytes = this.sentBytes;
    next.ended = this.ended;
    return next;
  }
}

/** The readable side of a body, for whoever watches it: its 'end', and whether any of it was read. */
export const bodySource = (body: Readable | InspectedBody): Readable =>
  body instanceof InspectedBody ? body.source : body;

const clientClosed = () =>
  Object.assign(new Error('client closed the request before its end'), { code: 'TOLLGATE_CLIENT_CLOSED' });

/**
 * Writes `body` into `sink` as pipe() would (the source paused while the sink is full, the sink ended with it), with
 * one listener per event and the body's inspection on the way. pipe() adds and removes about a dozen listeners per
 * request, and the Transform stream that counted a gRPC call's messages was a third stream with a second pipe():
 * without them a unary gRPC call through an h2c upstream cost the gateway ~77 CPU-µs instead of ~89, medians of
 * eight alternating rounds (docs/decisions/0009-h2c-upstream-client.md). `fail` gets an inspection's error, the
 * source's, or a source that closed before its end; after it, nothing more is written.
 */
export function forwardBody(body: Readable | InspectedBody, sink: Writable, fail: (error: Error) => void): void {
  const source = bodySource(body);
  const inspected = body instanceof InspectedBody ? body : undefined;
  if (inspected !== undefined) {
    for (const chunk of inspected.prefix) sink.write(chunk);
    if (inspected.ended) return void sink.end();
  }
  const onData = (chunk: Buffer) => {
    const out = inspected === undefined ? chunk : inspected.pass(chunk);
    if (out instanceof Error) return stop(out);
    if (!sink.write(out)) source.pause();
  };
  const onDrain = () => source.resume();
  const onEnd = () => {
    detach();
    const error = inspected?.finish();
    if (error) return fail(error);
    sink.end();
  };
  const onClose = () => stop(clientClosed());
  const stop = (error: Error) => {
    detach();
    fail(error);
  };
  const detach = () => {
    source.off('data', onData);
    source.off('end', onEnd);
    source.off('close', onClose);
    source.off('error', stop);
    sink.off('drain', onDrain);
    sink.off('error', detach);
    sink.off('close', detach);
  };
  source.on('data', onData);
  source.on('end', onEnd);
  source.on('close', onClose);
  source.on('error', stop);
  sink.on('drain', onDrain);
  // At once: the sink's own listeners, first, may already have handed the source to another attempt (`again`).
  sink.on('error', detach);
  sink.on('close', detach);
  if (sink.writableNeedDrain) source.pause();
  else if (!source.readableFlowing) source.resume();
}
