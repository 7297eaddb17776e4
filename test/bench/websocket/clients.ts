// Load for `npm run bench -- --websocket`, in a process of its own; prints one JSON line with its result.
//   hold URL N                 open N connections (200 handshakes at a time), print {openMs}, keep them until killed
//   hold-h2 URL N STREAMS      the same over HTTP/2 (RFC 8441 extended CONNECT, h2c): N WebSockets as streams of
//                              ceil(N / STREAMS) connections; one echo checks the first before {openMs} is printed
//   echo URL CONNECTIONS BYTES SECONDS   each connection sends a message and waits for its echo, for SECONDS;
//                              print {messagesPerS} (round trips)
import { type ClientHttp2Session, type ClientHttp2Stream, connect } from 'node:http2';
import { WebSocket } from 'ws';
import { h2Handshake } from '../../helpers/raw-websocket.ts';

const [mode, url, ...rest] = process.argv.slice(2);

function open(target: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/** An h2c connection once the server's SETTINGS (which must allow extended CONNECT) have arrived. */
function h2Connection(origin: string): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = connect(origin);
    session.once('error', reject);
    session.once('remoteSettings', (settings) => {
      if (settings.enableConnectProtocol) resolve(session);
      else reject(new Error(`${origin} does not offer extended CONNECT`));
    });
  });
}

/** A WebSocket as one HTTP/2 stream: CONNECT with :protocol websocket, open once the answer is 200. */
function h2Open(session: ClientHttp2Session, target: URL): Promise<ClientHttp2Stream> {
  return new Promise((resolve, reject) => {
    const stream = session.request(h2Handshake(target.pathname, target.host), { endStream: false });
    stream.once('error', reject);
    stream.once('response', (headers) => {
      if (headers[':status'] === 200) resolve(stream);
      else reject(new Error(`extended CONNECT answered ${headers[':status']}`));
    });
  });
}

/** Sends a masked one-byte text frame on `stream` and resolves when the server's frame comes back (within 10 s). */
function h2Echo(stream: ClientHttp2Stream): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no echo over HTTP/2 within 10 s')), 10_000);
    stream.once('data', () => {
      clearTimeout(timer);
      resolve();
    });
    const mask = [1, 2, 3, 4];
    stream.write(Buffer.from([0x81, 0x81, ...mask, 'x'.charCodeAt(0) ^ mask[0]]));
  });
}

if (mode === 'hold') {
  const n = Number(rest[0]);
  const held: WebSocket[] = [];
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      held.push(await open(url));
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  console.log(JSON.stringify({ openMs: Math.round(performance.now() - started), open: held.length }));
  setInterval(() => undefined, 1 << 30);
} else if (mode === 'hold-h2') {
  const [n, perConnection] = rest.map(Number);
  const target = new URL(url);
  const started = performance.now();
  const sessions = await Promise.all(
    Array.from({ length: Math.ceil(n / perConnection) }, () => h2Connection(`http://${target.host}`)),
  );
  const held: ClientHttp2Stream[] = [];
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const session = sessions[next++ % sessions.length];
      held.push(await h2Open(session, target));
    }
  };
  await Promise.all(Array.from({ length: 200 }, worker));
  const openMs = Math.round(performance.now() - started);
  await h2Echo(held[0]);
  console.log(JSON.stringify({ openMs, open: held.length }));
  setInterval(() => undefined, 1 << 30);
} else if (mode === 'echo') {
  const [connections, bytes, seconds] = rest.map(Number);
  const message = Buffer.alloc(bytes, 0x61);
  const sockets = await Promise.all(Array.from({ length: connections }, () => open(url)));
  let count = 0;
  const until = performance.now() + seconds * 1000;
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('message', () => {
            count++;
            if (performance.now() < until) ws.send(message);
            else resolve();
          });
          ws.send(message);
        }),
    ),
  );
  console.log(JSON.stringify({ messagesPerS: Math.round(count / seconds) }));
  for (const ws of sockets) ws.terminate();
} else {
  console.error('usage: clients.ts hold URL N | hold-h2 URL N STREAMS | echo URL CONNECTIONS BYTES SECONDS');
  process.exit(2);
}
