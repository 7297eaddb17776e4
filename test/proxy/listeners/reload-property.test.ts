// Property: whatever sequence of listener and stream sets reloads apply (added, removed, moved, swapped, given or
// relieved of TLS, other protocols), after each one every listener serves its protocols at its address, every stream
// its target, the address map says where, and an address nothing holds any more refuses connections.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import fc from 'fast-check';
import { reload } from '../../helpers/admin.ts';
import { issue, makeCa } from '../../helpers/certs.ts';
import { eventually, startGateway, type TestGateway } from '../../helpers/gateway.ts';
import { freePort } from '../../helpers/ports.ts';
import { roundTrip, tcpServer, type TcpServer } from '../../helpers/tcp.ts';
import { type Answer, h2Request, httpsGet } from '../../helpers/tls-client.ts';
import { startUpstream, type TestUpstream } from '../../helpers/upstream.ts';

const dir = mkdtempSync(join(tmpdir(), 'tollgate-reload-property-'));
const ca = makeCa(dir);
const cert = issue(dir, ca, { cn: 'api.test', dns: ['api.test'] });
const tlsClient = { ca: readFileSync(ca.cert), servername: 'api.test' };
let upstream: TestUpstream;
let echo: TcpServer;
let gw: TestGateway;
let ports: number[];

before(async () => {
  upstream = await startUpstream('u', (req, res) => {
    req.resume();
    res.end('done');
  });
  echo = await tcpServer('e:');
  gw = await startGateway({
    services: [{ name: 'api', routes: [{ paths: ['/'] }], upstream: { targets: [{ url: upstream.url }] } }],
  });
  ports = [await freePort(), await freePort(), await freePort()];
});

after(async () => {
  await gw.close();
  await upstream.close();
  await echo.close();
});

type Kind = 'http' | 'h2c' | 'both' | 'tls' | 'tls-h2' | 'stream' | 'tls-stream';
const KINDS: Kind[] = ['http', 'h2c', 'both', 'tls', 'tls-h2', 'stream', 'tls-stream'];
/** Each name is a listener or stream (as its kind says) at one of the ports, or absent. */
const NAMES = ['a', 'b', 'c'];

const entry = (name: string, kind: Kind, port: number) => {
  const listen = `127.0.0.1:${port}`;
  const tls = kind.startsWith('tls') ? { tls: { certificates: [cert] } } : {};
  if (kind.endsWith('stream'))
    return { name, listen, ...tls, upstream: { targets: [{ url: `tcp://127.0.0.1:${echo.port}` }] } };
  // A TLS listener without protocols takes its default, [h2, http/1.1].
  const protocols: Record<string, string[]> = {
    http: ['http/1.1'],
    h2c: ['h2c'],
    both: ['h2c', 'http/1.1'],
    'tls-h2': ['h2'],
  };
  return { name, listen, ...tls, ...(protocols[kind] ? { protocols: protocols[kind] } : {}) };
};

const tlsOptions = { ca: ca.cert, servername: 'api.test' };
const ok = (answer: Promise<Answer>): Promise<boolean> =>
  answer.then(
    (a) => a.status === 200,
    () => false,
  );

function http1(port: number, tls: boolean): Promise<boolean> {
  if (tls) return ok(httpsGet(port, '/', tlsOptions));
  return fetch(`http://127.0.0.1:${port}/`)
    .then(async (r) => r.status === 200 && (await r.text()) === 'done')
    .catch(() => false);
}

const http2 = (port: number, tls: boolean) => ok(h2Request(port, '/', tls ? tlsOptions : undefined));

function stream(port: number, tls: boolean): Promise<boolean> {
  if (!tls)
    return roundTrip(port, 'x').then(
      (r) => r.data.toString() === 'e:x',
      () => false,
    );
  return new Promise((resolve) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...tlsClient }, () => socket.write('x'));
    socket.on('data', (d) => {
      socket.destroy();
      resolve(d.toString() === 'e:x');
    });
    socket.on('error', () => resolve(false));
  });
}

const refuses = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.on('error', () => resolve(true));
  });

/** Whether what serves at `port` is what `kind` says. */
async function serves(kind: Kind, port: number): Promise<boolean> {
  const tls = kind.startsWith('tls');
  if (kind.endsWith('stream')) return stream(port, tls);
  const h1 = kind === 'http' || kind === 'both' || kind === 'tls';
  const h2 = kind !== 'http';
  return (!h1 || (await http1(port, tls))) && (!h2 || (await http2(port, tls)));
}

// Each step: for each name, absent or a kind at a port index; names sharing a port keep only the first.
const step = fc.tuple(
  ...NAMES.map(() => fc.option(fc.tuple(fc.constantFrom(...KINDS), fc.nat({ max: 2 })), { nil: undefined })),
);

test('after each reload of a random sequence, each listener and stream serves as and where configured', async () => {
  await fc.assert(
    fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 4 }), async (steps) => {
      // Each run from nothing, so a failing one shrinks to its own steps.
      await reload(gw, (c) => {
        c.listeners = [];
        c.streams = [];
      });
      for (const port of ports) assert.ok(await eventually(() => refuses(port), 4000, 50), `${port} free at the start`);
      for (const s of steps) {
        const taken = new Set<number>();
        const placed: { name: string; kind: Kind; port: number }[] = [];
        s.forEach((choice, i) => {
          if (choice === undefined || taken.has(ports[choice[1]])) return;
          taken.add(ports[choice[1]]);
          placed.push({ name: NAMES[i], kind: choice[0], port: ports[choice[1]] });
        });
        await reload(gw, (c) => {
          c.listeners = placed.filter((p) => !p.kind.endsWith('stream')).map((p) => entry(p.name, p.kind, p.port));
          c.streams = placed.filter((p) => p.kind.endsWith('stream')).map((p) => entry(p.name, p.kind, p.port));
        });
        for (const p of placed) {
          assert.ok(await eventually(() => serves(p.kind, p.port), 4000, 50), `${p.name} serves as ${p.kind}`);
          assert.equal(gw.port(p.name), p.port, `${p.name}'s address`);
        }
        for (const port of ports.filter((x) => !taken.has(x)))
          assert.ok(await eventually(() => refuses(port), 4000, 50), `${port} is free again`);
      }
    }),
    {
      numRuns: 40,
      // Two listeners swapping addresses, which once waited on each other for good.
      examples: [
        [
          [
            [['http', 0], ['h2c', 1], undefined],
            [['http', 1], ['h2c', 0], undefined],
          ],
        ],
      ],
    },
  );
});
