import { STATUS_CODES } from '../../shared/http.ts';
import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'node:net';
import { finished } from 'node:stream';
import { acceptRequestId } from './stages/request-id/index.ts';
import { randomUuid } from '../../shared/uuid-text.ts';
import { errorBody, errors, type ErrorCode } from '../errors.ts';
import { cutIfStillOpen, endAndDrain } from './net/close-grace.ts';

/** Maps a parser or timeout error from Node's HTTP server to our reply code. */
export function clientErrorCode(err: NodeJS.ErrnoException): ErrorCode {
  switch (err.code) {
    case 'HPE_HEADER_OVERFLOW':
      return 'GW_ERR_HEADERS_TOO_LARGE';
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return 'GW_ERR_REQUEST_TIMEOUT';
    case 'HPE_UNEXPECTED_CONTENT_LENGTH':
    case 'HPE_INVALID_TRANSFER_ENCODING':
    case 'HPE_INVALID_CONTENT_LENGTH':
      return 'GW_ERR_AMBIGUOUS_FRAMING';
    default:
      return 'GW_ERR_BAD_REQUEST';
  }
}

/**
 * Answers a request Node's parser refused (it never reaches a handler) with
 * our JSON error, then closes: after a framing error the rest of the stream
 * cannot be trusted. Returns the code to count, or undefined when nothing was
 * written or the answer belongs to a request the data plane records itself.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): ErrorCode | undefined {
  const s = socket as ServerSocket;
  // The response on the socket now (Node's), with the data plane's context on it when it has one.
  const pending = s._httpMessage;
  // With none, a request still being read already had its response: the
  // upstream answered before the client finished sending its body (a request
  // timeout then). A second response to one request would desynchronise the
  // client; the connection is cut instead, as when the response is under way.
  const incoming = s.parser?.incoming;
  const answered = pending ? pending.headersSent : incoming != null && !incoming.complete;
  // A client that ends its side halfway through a request the data plane already holds (a truncated body) has
  // left: that request is recorded once, as client_closed, when its response closes, not again as a 400.
  if (err.code === 'ECONNRESET' || !socket.writable || answered || (err.code === 'HPE_INVALID_EOF_STATE' && pending)) {
    // An answer that waits for its access event to be logged (group commit) goes out first.
    if (socket.writable && pending && (pending.tollgate?.eventSeconds ?? -1) >= 0 && !pending.writableFinished) {
      finished(pending as unknown as NodeJS.WritableStream, () => socket.destroy());
    } else {
      socket.destroy();
    }
    return undefined;
  }
  const code = clientErrorCode(err);
  const held = pending?.tollgate;
  // A request the handler already has (a body too slow to arrive) keeps the id it was given and sent upstream.
  endWithError(socket, code, held?.requestId ?? randomUuid());
  if (held === undefined) return code;
  // ...and is recorded once, with this code, when its response closes (not again as an unrouted request).
  held.errorCode = code;
  return undefined;
}

/** The parts of Node's server socket (internal, stable since Node 0.x) the answer depends on. */
export type ServerSocket = Socket & {
  _httpMessage?: {
    headersSent?: boolean;
    writableFinished?: boolean;
    tollgate?: { requestId: string; errorCode: ErrorCode | undefined; eventSeconds: number };
  } | null;
  parser?: { incoming?: IncomingMessage | null } | null;
};

/**
 * Answers CONNECT, which Node hands to the 'connect' event instead of a
 * request handler (and, with no listener, drops without a reply): a reverse
 * proxy does not tunnel. Used by the proxy and admin listeners alike.
 */
export function answerConnect(req: IncomingMessage, socket: Socket): ErrorCode {
  const code = 'GW_ERR_METHOD_NOT_SUPPORTED';
  endWithError(socket, code, acceptRequestId(req.headers['x-request-id']));
  return code;
}

/**
 * Answers a client that sent plain HTTP to a TLS port with GW_ERR_PLAIN_HTTP_ON_TLS, as nginx and Go's servers
 * answer it with a 400, where a TLS server alone closes without a word. The rest of what the client sends is read
 * and dropped until it closes (at most CLOSE_GRACE_MS): closed with unread bytes, the connection would be reset,
 * and the client could lose the answer.
 */
export function answerPlainHttpOnTls(socket: Socket): ErrorCode {
  const code = 'GW_ERR_PLAIN_HTTP_ON_TLS';
  endAndDrain(socket, errorResponse(code, randomUuid()));
  return code;
}

/**
 * Gives every connection `server` accepts an error listener of its own. Node's HTTP server listens for a socket's
 * errors only while it parses requests on it: it takes its listener off a socket it hands over for an upgrade or a
 * CONNECT (to the listener's 'upgrade' and 'connect' handlers, or, with none, after answering it itself). A client
 * that resets such a connection (ECONNRESET on a read or on the answer's write) was then an unhandled 'error' event,
 * which ended the process (test/proxy/client-reset.test.ts). The socket's 'close' follows each error, and that is
 * what the handshake, the tunnel or the refusal act on.
 */
export function handleClientSocketErrors(server: Server): void {
  server.on('connection', (socket: Socket) => socket.on('error', ignoreClientError));
}

function ignoreClientError(): void {}

/**
 * Writes a gateway error straight to a socket Node's HTTP server has let go of
 * (a parser error, a CONNECT request) and closes it: a client that never
 * closes its side loses the connection after CLOSE_GRACE_MS.
 */
function endWithError(socket: Socket, code: ErrorCode, requestId: string): void {
  cutIfStillOpen(socket);
  socket.end(errorResponse(code, requestId));
}

/** A gateway error as the whole HTTP/1.1 answer, head and JSON body, that closes its connection. */
function errorResponse(code: ErrorCode, requestId: string): string {
  const status = errors[code].status;
  const body = errorBody(code, requestId);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: ` +
    `application/json\r\ncontent-length: ` +
    `${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`
  );
}
