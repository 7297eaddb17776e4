// A reload that replaces a listener on the same address (TLS given or taken away, other protocols, PROXY headers
// or per-client limits turned on or off) keeps that address open: its socket is handed to the listener's new
// servers, so no connection is refused or reset meanwhile. Before, the old servers stopped listening and the new
// ones listened after: with the gateway in a process of its own (a client in the same event loop never sees the
// gap), connections made in a loop met ECONNREFUSED (7 to 21 a reload here) and ECONNRESET (those in the accept
// queue of the socket closed).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { issue, makeCa } from '../../helpers/certs.ts';
import { startGatewayProcess, tempDir, writeYaml } from '../../helpers/gateway-process.ts';
import { freePort } from '../../helpers/ports.ts';
import { handshake } from '../../helpers/tls-client.ts';
import { type ProbeResult, probeConnections } from '../../helpers/tcp.ts';

const dir = tempDir('tollgate-replace-');
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'gw.test', dns: ['gw.test'] });
let port: number;

before(async () => {
  port = await freePort();
});

/** The listener as the i-th reload leaves it: each kind of replacement in turn. */
const shapes = [
  {},
  { protocols: ['h2c', 'http/1.1'] },
  { tls: { certificates: [cert] } },
  { max_connections_per_ip: 100 },
  { proxy_protocol: { accept: true } },
  { protocols: ['h2c'] },
];

const config = (shape: object) => ({
  proxy: { listen: '127.0.0.1:0' },
  admin: { listen: '127.0.0.1:0' },
  store: { dir: join(dir, 'store') },
  events: { sink: 'none' },
  trusted_proxies: ['127.0.0.1'],
  listeners: [{ name: 'edge', listen: `127.0.0.1:${port}`, ...shape }],
  services: [],
});

test('replacing a listener on its address refuses and resets no connection made meanwhile', async () => {
  const file = writeYaml(dir, 'tollgate.yaml', config(shapes[0]));
  const gw = await startGatewayProcess(file);
  // A connection is accepted once the gateway's kernel side took it; it is then closed at once.
  const probes = probeConnections(port);
  let seen: ProbeResult | undefined;
  try {
    for (let round = 1; round <= 12; round++) {
      writeYaml(dir, 'tollgate.yaml', config(shapes[round % shapes.length]));
      await gw.waitForLog((l) => l.msg === 'config applied' && l.version === round + 1, 15000);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const replaced = gw.logs.filter((l) => l.msg?.startsWith('listener replaced')).length;
    assert.equal(replaced, 12, 'each reload replaced the listener');
  } finally {
    seen = await probes.stop();
  }
  try {
    const { accepted, failed } = seen;
    assert.deepEqual(failed, {}, `${accepted} connections accepted`);
    assert.ok(accepted > 500, `${accepted} connections accepted`);
    // The rounds ended on plain HTTP/1.1; given TLS once more, the address serves it.
    writeYaml(dir, 'tollgate.yaml', config(shapes[2]));
    await gw.waitForLog((l) => l.msg === 'config applied' && l.version === 14, 15000);
    assert.equal((await handshake(port, { ca: ca.cert, servername: 'gw.test' })).cn, 'gw.test');
  } finally {
    assert.equal((await gw.stop()).code, 0);
  }
});
