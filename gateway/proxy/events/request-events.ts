import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../context.ts';
import type { ErrorCode } from '../../errors.ts';
import type { CountingRequest } from '../net/counting-request.ts';
import { rejectedEvent, requestRecord, tailRecord } from './access-event.ts';
import { bodyArriving } from './group-commit.ts';
import type { EventSink } from './sink.ts';

/** Encodes an event for the node that writes it. */
type Encode = (node: string) => Buffer;

/** Where the events of requests and connections still open go (Runtime.events). */
export interface OpenEvents {
  /** An event other than a request's final one (a TCP connection's tail). */
  append(encode: Encode): void;
  /** An interim event of `key`, still open, and the final event `cut` encodes should the gateway end first. */
  interim(key: object, encode: Encode, cut: Encode): void;
  /** The final event `cut` encodes should the gateway end before `key` does, which had no interim event yet. */
  keep(key: object, cut: Encode): void;
  /** The final event of `key` (a TCP connection), which had interim events or not. */
  final(key: object, encode: Encode): void;
}

/** A response the data plane handed a request to; its context rides on it (the response classes read it). */
export type ResponseWithContext = ServerResponse & { tollgate: RequestContext };

/**
 * The data plane's side of access events: each request's event goes to the
 * sink as its response ends, and the response ends once the event is in the
 * log (group commit); a request whose response never ended is recorded when it
 * closes, and a connection the parser refused as an unrouted request.
 */
export class RequestEvents implements OpenEvents {
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
    // Its final event, kept since it was open a second or had an interim event should the gateway end first, is this.
    if (ctx.cutKept) this.#sink.unfinished?.settle(ctx);
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

  append(encode: Encode): void {
    const record = this.#encode(encode);
    if (record !== undefined) this.#sink.append(record);
  }

  interim(key: object, encode: Encode, cut: Encode): void {
    this.append(encode);
    // After the interim event, which moves what the cut one counts from.
    this.keep(key, cut);
  }

  keep(key: object, cut: Encode): void {
    const unfinished = this.#sink.unfinished;
    if (unfinished === undefined) return;
    const record = this.#encode(cut);
    if (record !== undefined) unfinished.note(key, record);
  }

  final(key: object, encode: Encode): void {
    this.#sink.unfinished?.settle(key);
    this.append(encode);
  }

  #encode(encode: Encode): Buffer | undefined {
    try {
      return encode(this.#node);
    } catch (err) {
      this.#sink.unencodable(err as Error);
      return undefined;
    }
  }

  /** A request Node's parser refused before it became one, counted as unrouted. */
  rejected(code: ErrorCode, clientIp: string, tlsVersion: string): void {
    this.#sink.emit(rejectedEvent(code, this.#node, clientIp, tlsVersion));
  }
}
