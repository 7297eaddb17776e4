import assert from 'node:assert/strict';
import { connect, type Http2Server, Http2ServerResponse, type Http2Session } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Config } from '../../control/config/schema.ts';
import { createHttp2Server } from './http2.ts';
import { HTTP2_DEFAULTS } from './http2-defaults.ts';

let server: Http2Server;
let port: number;
const sessions = new Set<Http2Session>();

before(async () => {
  const listener = { name: 'h2c', listen: '127.0.0.1:0', http2: HTTP2_DEFAULTS };
  const proxy = { keep_alive_ms: 65_000 } as Config['proxy'];
  server = createHttp2Server({ config: listener, proxy }, Http2ServerResponse, {
    // As an upload's reader that stopped (an upstream that answered early): one chunk read, the rest left unread and
    // more of it arriving before the answer.
    handle: (req, res) =>
      req.once('data', () => {
        req.pause();
        // /empty: an answer with no body (204), its HEADERS frame the end of the response.
        setTimeout(() => (req.url === '/empty' ? res.writeHead(204).end() : res.writeHead(413).end('no thanks')), 20);
      }),
    refused: () => undefined,
    cancelledUnbegun: () => undefined,
  });
  server.on('session', (s: Http2Session) => {
    sessions.add(s);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
after(() => {
  for (const s of sessions) s.destroy(); // a failing test leaves them open
  server.close();
});

test('a stream answered whole with its body left unread is let go: the client can close its connection', async () => {
  for (const path of ['/upload', '/empty']) await uploadsEnd(path);
});

async function uploadsEnd(path: string): Promise<void> {
  // Node ends a closed stream once its body has been read to the end; the rest of this one never was, so the stream
  // stayed, and its session with it after the client's GOAWAY: the socket in CLOSE-WAIT for good once the client
  // had gone. Each session here is one upload of 4 MiB (more than a stream's window) answered after its first chunk.
  for (let i = 0; i < 3; i++) {
    const session = connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    const status = await new Promise<number>((resolve) => {
      const req = session.request({ ':method': 'POST', ':path': path });
      let got = 0;
      req.on('response', (h) => (got = Number(h[':status'])));
      req.on('data', () => undefined);
      req.on('error', () => undefined);
      req.on('close', () => resolve(got));
      setTimeout(() => resolve(-got), 3000).unref(); // answered, but the stream left open: the client still sending
      req.end(Buffer.alloc(4 << 20));
    });
    assert.equal(status, path === '/empty' ? 204 : 413, `${path}: answered, and the stream closed`);
    const closed = new Promise<boolean>((resolve) => {
      session.once('close', () => resolve(true));
      setTimeout(() => resolve(false), 3000).unref();
    });
    session.close(); // GOAWAY: Node's client then waits for the server to end the connection
    const ended = await closed;
    session.destroy();
    assert.ok(ended, `${path}, session ${i}: the server ended the connection after the client's GOAWAY`);
  }
}
