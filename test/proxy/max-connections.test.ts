import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { test } from 'node:test';
import { eventually, service, startGateway } from '../helpers/gateway.ts';
import { startUpstream } from '../helpers/upstream.ts';
import { metricValue } from '../operations/client.ts';

/** A keep-alive connection that has had one answer; resolves with the socket, or with the way it ended. */
function openAndAsk(port: number): Promise<{ socket: Socket; answered: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1', () => socket.write('GET /x HTTP/1.1\r\nHost: t\r\n\r\n'));
    socket.once('data', (d) => resolve({ socket, answered: String(d).startsWith('HTTP/1.1 200') }));
    socket.once('error', () => resolve({ socket, answered: false }));
    socket.once('close', () => resolve({ socket, answered: false }));
  });
}

test(
  'proxy.max_connections: a connection over it is closed on accept ' +
    'and counted; the open ones keep working, and one that closes makes room',
  async (t) => {
    const up = await startUpstream('up');
    t.after(() => up.close());
    const gw = await startGateway({
      proxy: { max_connections: 3 },
      services: [service('svc', [up.url], [{ paths: ['/'] }])],
    });
    const port = Number(new URL(gw.url).port);
    const open: Socket[] = [];
    try {
      for (let i = 0; i < 3; i++) {
        const c = await openAndAsk(port);
        assert.equal(c.answered, true, `connection ${i + 1} of 3`);
        open.push(c.socket);
      }
      const metrics = async () => (await fetch(`${gw.adminUrl}/metrics`)).text();
      assert.equal(metricValue(await metrics(), 'tollgate_client_connections'), 3);
      const over = await openAndAsk(port);
      open.push(over.socket);
      assert.equal(over.answered, false, 'the fourth is closed unanswered');
      assert.equal(metricValue(await metrics(), 'tollgate_client_connections_dropped_total'), 1);
      // The three still serve.
      for (const s of open.slice(0, 3)) {
        const answered = await new Promise<boolean>((resolve) => {
          s.once('data', (d) => resolve(String(d).startsWith('HTTP/1.1 200')));
          s.write('GET /x HTTP/1.1\r\nHost: t\r\n\r\n');
        });
        assert.equal(answered, true);
      }
      open[0].destroy();
      assert.ok(await eventually(async () => metricValue(await metrics(), 'tollgate_client_connections') === 2));
      const next = await openAndAsk(port);
      open.push(next.socket);
      assert.equal(next.answered, true, 'room again once one closed');
    } finally {
      for (const s of open) s.destroy();
      await gw.close();
    }
  },
);

test(
  "a listener's own max_connections holds its WebSocket tunnels and connections to it, " +
    'while proxy.listen beside it has no limit',
  async (t) => {
    const { WebSocket, WebSocketServer } = await import('ws');
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => wss.once('listening', r));
    wss.on('connection', (ws) => ws.on('message', (m) => ws.send(m)));
    t.after(() => wss.close());
    const upstream = `http://127.0.0.1:${(wss.address() as { port: number }).port}`;
    const gw = await startGateway({
      listeners: [{ name: 'chat', listen: '127.0.0.1:0', max_connections: 2 }],
      services: [service('chat', [upstream], [{ paths: ['/'] }])],
    });
    t.after(() => gw.close());
    const opened: InstanceType<typeof WebSocket>[] = [];
    t.after(() => {
      for (const ws of opened) ws.terminate();
    });
    const open = (port: number) =>
      new Promise<boolean>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/room`);
        opened.push(ws);
        ws.once('open', () => resolve(true));
        ws.once('error', () => resolve(false));
        ws.once('close', () => resolve(false));
      });
    const chat = gw.port('chat');
    assert.deepEqual([await open(chat), await open(chat)], [true, true], 'two tunnels open on the listener');
    assert.equal(await open(chat), false, 'a third connection to it is closed on accept');
    const metrics = async () => (await fetch(`${gw.adminUrl}/metrics`)).text();
    assert.equal(metricValue(await metrics(), 'tollgate_client_connections_dropped_total'), 1);
    const proxyPort = Number(new URL(gw.url).port);
    assert.deepEqual([await open(proxyPort), await open(proxyPort)], [true, true], 'proxy.listen is not limited');
    opened[0].close();
    assert.ok(await eventually(() => open(chat), 3000), 'room on the listener once a tunnel closed');
  },
);
