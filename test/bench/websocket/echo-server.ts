// The WebSocket origin of `npm run bench -- --websocket`: a `ws` echo server without compression.
// Usage: node test/bench/websocket/echo-server.ts PORT
import { WebSocketServer } from 'ws';

const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.argv[2]), perMessageDeflate: false });
wss.on('connection', (ws) => {
  ws.on('error', () => undefined);
  ws.on('message', (data, binary) => ws.send(data, { binary }));
});
