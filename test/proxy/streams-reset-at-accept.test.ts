// A client that resets its TCP connection before the gateway has taken it from the accept queue: it has no address
// left to read, and the connection is refused as the client's close, not taken on to a target as an empty address.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { eventually, startGateway, type TestGateway } from '../helpers/gateway.ts';
import { metric } from '../helpers/metrics.ts';
import { tcpServer, type TcpServer } from '../helpers/tcp.ts';

let target: TcpServer;
let gw: TestGateway;

before(async () => {
  target = await tcpServer();
  gw = await startGateway({
    streams: [
      { name: 'tcp', listen: '127.0.0.1:0', upstream: { targets: [{ url: `tcp://127.0.0.1:${target.port}` }] } },
    ],
  });
});
after(async () => {
  await gw?.close();
  await target?.close();
});

test('a connection reset before it was accepted is refused as client_closed and reaches no target', async () => {
  // The gateway runs in this process: while execFileSync blocks it, another process connects (the kernel completes
  // the handshake into the accept queue), resets and exits. The gateway accepts a connection already gone.
  const client =
    'const s = require("net").connect(Number(process.argv[1]), "127.0.0.1", () => s.resetAndDestroy());' +
    's.on("close", () => process.exit(0));';
  execFileSync(process.execPath, ['-e', client, String(gw.port('tcp'))]);
  const refused = () => metric(gw, 'tollgate_stream_refused_total', 'stream="tcp",reason="client_closed"');
  assert.equal(await eventually(refused), 1);
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(target.accepted.length, 0, 'the target was connected to for a client already gone');
});
