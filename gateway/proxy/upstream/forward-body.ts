import type { Readable, Writable } from 'node:stream';

/** What a chunk of the client's body becomes on its way: the bytes to send, or the error that ends the call. */
export type Inspect = (chunk: Buffer) => Buffer | Error;

/**
 * A client body that is counted, limited or decoded chunk by chunk as it is forwarded (request-body.ts), for an
 * upstream client that forwards bodies itself (H2cDispatcher). `end` is asked once the source has ended: an error
 * there (a gRPC-Web text body cut inside a base64 quantum) fails the call too.
 */
export class InspectedBody {
  readonly source: Readable;
  readonly inspect: Inspect;
  readonly end: () => Error | null | undefined;

  constructor(source: Readable, inspect: Inspect, end: () => Error | null | undefined) {
    this.source = source;
    this.inspect = inspect;
    this.end = end;
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
  const inspect = body instanceof InspectedBody ? body.inspect : undefined;
  const onData = (chunk: Buffer) => {
    const out = inspect === undefined ? chunk : inspect(chunk);
    if (out instanceof Error) stop(out);
    else if (!sink.write(out)) source.pause();
  };
  const onDrain = () => source.resume();
  const onEnd = () => {
    detach();
    const error = body instanceof InspectedBody ? body.end() : undefined;
    if (error) fail(error);
    else sink.end();
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
    sink.off('close', detach);
  };
  source.on('data', onData);
  source.on('end', onEnd);
  source.on('close', onClose);
  source.on('error', stop);
  sink.on('drain', onDrain);
  sink.on('close', detach);
  if (sink.writableNeedDrain) source.pause();
  else if (!source.readableFlowing) source.resume();
}
