/** What Node's HTTP/2 sessions do not offer publicly, read where Node keeps it, with a fallback should it move. */
import type { Http2Session } from 'node:http2';

/**
 * A PING; `done` is called with whether it was answered (an ACK) or not (cancelled: the session ended first).
 * False if none could be sent. Node's ping() sends none once a session is closing (it calls back at once,
 * cancelled), though HTTP/2 allows PINGs until the connection ends: a closing session is pinged through its
 * handle, which is what ping() calls (none sent should Node move it one day).
 */
export function pingSession(session: Http2Session, done: (answered: boolean) => void): boolean {
  if (!session.closed) return session.ping((error) => done(error === null));
  type Handle = { ping?(payload: undefined, callback: (ack: boolean) => void): boolean };
  return sessionInternal<Handle>(session, 'kHandle')?.ping?.(undefined, done) === true;
}

const internalKeys = new Map<string, symbol>();

/** What Node keeps on a session under the symbol so described (found once), or undefined should it move one day. */
export function sessionInternal<T>(session: Http2Session, description: string): T | undefined {
  let key = internalKeys.get(description);
  if (key === undefined) {
    key = Object.getOwnPropertySymbols(session).find((s) => s.description === description);
    if (key === undefined) return undefined;
    internalKeys.set(description, key);
  }
  return (session as unknown as Record<symbol, T | undefined>)[key];
}
