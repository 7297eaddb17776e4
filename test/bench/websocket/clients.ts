// Load for `npm run bench -- --websocket`, in a process of its own; prints one JSON line with its result.
//   hold URL N                 open N connections (200 handshakes at a time), print {openMs}, keep them until killed
//   echo URL CONNECTIONS BYTES SECONDS   each connection sends a message and waits for its echo, for SECONDS;
//                              print {messagesPerS} (round trips)
import { WebSocket } from 'ws';

const [mode, url, ...rest] = process.argv.slice(2);

function open(target: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(target, { perMessageDeflate: false });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
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
  console.error('usage: clients.ts hold URL N | echo URL CONNECTIONS BYTES SECONDS');
  process.exit(2);
}
