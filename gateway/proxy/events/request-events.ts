import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../context.ts';
import type { ErrorCode } from '../../errors.ts';
import type { CountingRequest } from '../net/counting-request.ts';
import { rejectedEvent, requestRecord, tailRecord } from './access-event.ts';
import { bodyArriving } from './group-commit.ts';
import type { EventSink } from './sink.ts';

/** A response the data plane handed a request to; its context rides on it (the response classes read it). */
export type ResponseWithContext = ServerResponse & { tollgate: RequestContext };

/**
 * The data plane's side of access events: each request's event goes to the
 * sink as its response ends, and the response ends once the event is in the
 * log (group commit); a request whose response never ended is recorded when it
 * closes, and a connection the parser refused as an unrouted request.
 */
export class RequestEvents {
  readonly #sink: EventSink;
  readonly #node: string;

  constructor(sink: EventSink, node: string) {
    this.#sink = sink;
    this.#node = node;
  }

  /**
   * For the response classes (responseClass): a response is about to end. While the body still arrives it
   * cannot wait: a gateway error then (413, 501, an upstream failed mid-upload) is followed by cutting the
   * connection, which would cut a held answer, so it goes at once; an upstream's early answer is recorded at
   * close (did the client stay?).
   */
  readonly commitThenEnd = (res: ServerResponse, end: () => void): void => {
    const ctx = (res as ResponseWithContext).tollgate;
    const arriving = ctx !== undefined && bodyArriving(ctx.req);
    if (ctx === undefined || ctx.eventSeconds >= 0 || ctx.finished || (arriving && ctx.errorCode === undefined)) {
      end();
      return;
    }
    if (!ctx.req.complete) ctx.bytesIn = (ctx.req as CountingRequest).bodyBytes;
    ctx.eventSeconds = (performance.now() - ctx.startMs) / 1000;
    // While the body arrives the answer goes at once; else it ends once the event is in the log (or was dropped).
    if (!this.record(ctx, ctx.recordStatus ?? res.statusCode, ctx.eventSeconds, arriving ? undefined : end) || arriving)
      end();
  };

  /**
   * Hands the request's event to the sink, after its tail (tailRecord) when it had interim events; false (the sink
   * counted an encode_error) when it could not be encoded.
   */
  record(ctx: RequestContext, status: number, seconds: number, written?: () => void): boolean {
    let record: Buffer;
    try {
      const tail = tailRecord(ctx, this.#node, ctx.startMs + seconds * 1000);
      if (tail !== undefined) this.#sink.append(tail);
      record = requestRecord(ctx, status, seconds, this.#node);
    } catch (err) {
      this.#sink.unencodable(err as Error);
      return false;
    }
    this.#sink.append(record, written);
    return true;
  }

  /** A fact other than a request's (a TCP connection's), encoded by `encode` for this node. */
  append(encode: (node: string) => Buffer): void {
    let record: Buffer;
    try {
      record = encode(this.#node);
    } catch (err) {
      this.#sink.unencodable(err as Error);
      return;
    }
    this.#sink.append(record);
  }

  /** A request Node's parser refused before it became one, counted as unrouted. */
  rejected(code: ErrorCode, clientIp: string, tlsVersion: string): void {
    this.#sink.emit(rejectedEvent(code, this.#node, clientIp, tlsVersion));
  }
}
