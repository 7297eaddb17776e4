import type { Socket } from 'node:net';
import type { buildConnector } from 'undici';
import { GatewayError } from '../../../errors.ts';

/** One target's check on a connection of its own, everything that stays the same from check to check. */
export interface FreshHttpProbe {
  /** What undici's connector takes: the target's address, port and scheme, and its TLS server name. */
  endpoint: { protocol: string; hostname: string; host: string; port: string; servername?: string };
  /** The whole request: `GET path HTTP/1.1`, Host and `Connection: close`. */
  request: string;
  expectedStatuses: ReadonlySet<number>;
  /** undici's connector with the upstream's TLS settings and the check's timeout as connect timeout. */
  connect: buildConnector.connector;
  /** How long the connection may stay silent once the status has decided, before it is dropped. */
  lingerMs: number;
}

/** Largest response head read; undici's own default limit. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Body bytes read, after the status has decided, before the connection is dropped. */
const MAX_BODY_BYTES = 64 * 1024;
/** The reason phrase may be empty, and its space with it (RFC 9112 §4). */
const STATUS_LINE = /^HTTP\/1\.[01] ([1-5][0-9][0-9])(?: [^\r\n]*)?$/;

/** Visible ASCII only: a path or Host that could break the request line is refused, never sent. */
const UNSAFE = /[^\x21-\x7e]/;

/** The request a check sends: a GET that asks the target to close the connection after its answer. */
export function checkRequest(path: string, host: string): string {
  if (UNSAFE.test(path) || UNSAFE.test(host))
    throw new RangeError(
      `health check path or Host has a character that is not ` +
        `visible ASCII: ${JSON.stringify(path)} ${JSON.stringify(host)}`,
    );
  return `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;
}

/**
 * An HTTP check on a new connection: connects through undici's connector
 * (the upstream's TLS settings, its session cache), writes the GET and
 * resolves with whether the status is expected as soon as the response head
 * is in; rejects on a connection error, on a response that is not HTTP/1.x,
 * and when `signal` aborts. The rest of the answer is read and dropped until
 * the target closes the connection, as `Connection: close` asks, for at most
 * 64 KB and `lingerMs` of silence.
 *
 * Not undici's Client: a check runs a few times a second, so its code runs
 * unoptimised for minutes and every layer it runs costs in full. Through the
 * Client each check also ran undici's parser (llhttp, WebAssembly), which V8
 * recompiled with its optimising compiler two seconds after start, and the
 * Client's request and connection objects. An idle gateway with the bench's
 * checks read 81.2–81.7 MB RSS a minute after start that way, and 74.6–75.0
 * this way (TCP checks: 74.4–75.3); V8's first optimisation of the check path,
 * 1–3 minutes in, still adds ~4.6 MB of its compilers' pages (2026-11-24,
 * docs/performance.md, "Idle for minutes"). A status line and the blank line after the head
 * are all a check needs parsed. `reuse_connection` still goes through the
 * Client, which has to frame the body to keep the connection.
 */
export function probeHttpFresh(probe: FreshHttpProbe, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    let socket: Socket | undefined;
    let settled = false;
    let head = '';
    let body = 0;
    const settle = (ok: boolean, err?: unknown): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      if (err === undefined) {
        resolve(ok);
        return;
      }
      socket?.destroy();
      reject(err);
    };
    const onAbort = (): void => settle(false, signal.reason ?? new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });

    const onData = (chunk: Buffer): void => {
      if (settled) {
        body += chunk.length;
        if (body > MAX_BODY_BYTES) socket!.destroy();
        return;
      }
      head += chunk.toString('latin1');
      for (;;) {
        const end = head.indexOf('\r\n\r\n');
        if (end === -1) {
          if (head.length > MAX_HEAD_BYTES)
            settle(
              false,
              new GatewayError(
                'TOLLGATE_CHECK_HEAD_TOO_LARGE',
                `health check response head over ${MAX_HEAD_BYTES} bytes`,
              ),
            );
          return;
        }
        const match = STATUS_LINE.exec(head.slice(0, head.indexOf('\r\n')));
        if (match === null) {
          settle(false, new GatewayError('TOLLGATE_CHECK_INVALID_RESPONSE', 'health check response is not HTTP/1.x'));
          return;
        }
        const status = Number(match[1]);
        // An interim response (103 Early Hints, say): the final one follows its blank line.
        if (status < 200) {
          head = head.slice(end + 4);
          continue;
        }
        body = head.length - end - 4;
        head = '';
        socket!.setTimeout(probe.lingerMs);
        settle(probe.expectedStatuses.has(status));
        return;
      }
    };
    const onEnd = (): void =>
      settle(false, new GatewayError('TOLLGATE_CHECK_CLOSED', 'health check connection closed before the response'));

    const started = probe.connect(probe.endpoint as buildConnector.Options, (err, connected) => {
      if (err !== null) {
        settle(false, err);
        return;
      }
      socket = connected as Socket;
      if (settled) {
        socket.destroy();
        return;
      }
      socket
        .on('data', onData)
        .on('end', onEnd)
        .on('error', (error) => settle(false, error))
        .on('timeout', () => socket!.destroy())
        .write(probe.request);
    });
    // An abort during the connect: the connector has no signal, but its socket can be destroyed.
    socket ??= started as unknown as Socket | undefined;
  });
}
