/**
 * HTTP/1.1 pipelining: requests a client sends before it has its answers.
 * Node's server hands over every request of a chunk it read at once (a 64 KB
 * read holds thousands of small ones) and buffers the answers to all but the
 * first until the one before is written. Served as they came, they would all
 * go upstream together and their answers pile up for a client that need never
 * read them: one connection writing 200,000 GETs without reading took a
 * gateway to 2 GB, and kept a core busy for a minute and a half after the
 * client had gone. So they are served one at a time, in order, as nginx and
 * HAProxy serve them.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { finished } from 'node:stream';
import type { ServerSocket } from '../client-errors.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, expectsContinue?: boolean) => void;

/**
 * `handle`, for requests behind another on their connection only once Node
 * gives them the socket (the one before has been written). A request behind
 * another has no socket yet: Node queued its response. Past `maxWaiting`
 * requests waiting on one connection, the connection is closed
 * (`overflow`); the one being served is then a client that left, the waiting
 * ones were never begun and are not counted.
 */
export function inTurn(handle: Handler, maxWaiting: () => number, overflow: () => void): Handler {
  const waiting = new WeakMap<Socket, number>();
  return (req, res, expectsContinue) => {
    if (res.socket !== null) return handle(req, res, expectsContinue);
    const socket = req.socket;
    if (socket.destroyed) return;
    const count = (waiting.get(socket) ?? 0) + 1;
    if (count > maxWaiting()) {
      waiting.delete(socket);
      overflow();
      return void socket.destroy();
    }
    waiting.set(socket, count);
    res.once('socket', () => {
      waiting.set(socket, (waiting.get(socket) ?? 1) - 1);
      // Node assigns it from the 'finish' of the response before; the stages start once that is over (after that
      // response's 'close'), unless the client has gone since: begun on a closed socket, it would never close.
      process.nextTick(() => {
        if (!socket.destroyed) handle(req, res, expectsContinue);
      });
    });
  };
}

/**
 * Runs `then` once no response is being written on `socket`: a WebSocket
 * handshake or a CONNECT that came pipelined behind requests still being
 * answered waits for their answers, which Node writes on the socket it has
 * already handed over. Nothing runs if the client leaves first.
 */
export function afterAnswers(socket: Socket, then: () => void): void {
  const pending = (socket as ServerSocket)._httpMessage;
  if (pending === null || pending === undefined) return void then();
  finished(pending as unknown as NodeJS.WritableStream, (err) => {
    if (err || socket.destroyed) return;
    // Node gives the socket to the next queued answer in its own 'finish' listener, which ran first.
    afterAnswers(socket, then);
  });
}
