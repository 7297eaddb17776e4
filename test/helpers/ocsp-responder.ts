// An OCSP responder for the stapling tests: HTTP on loopback, each request answered by `openssl ocsp` from the
// index file `openssl ca` keeps (test/helpers/certs.ts), so a certificate revoked there is revoked here.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type Issued, indexOf } from './certs.ts';

export interface OcspResponder {
  url: string;
  /** Requests answered so far. */
  requests: number;
  /** While set, every request gets this HTTP status and no response. */
  failWith: number | undefined;
  /** While set, every request gets 200 with this body instead of a response; `endless`: a body that never ends. */
  junk: Buffer | 'endless' | undefined;
  /** The certificates it knows, each with the status in its database (`indexOf`); others are unknown to it. */
  leaves: Issued[];
  close(): Promise<void>;
}

/** A responder for `ca`'s certificates, signing with `signer` (default the CA itself); responses valid `minutes`. */
export async function startOcspResponder(
  ca: Issued,
  o: { signer?: Issued; minutes?: number } = {},
): Promise<OcspResponder> {
  const dir = mkdtempSync(join(tmpdir(), 'tollgate-ocsp-'));
  const signer = o.signer ?? ca;
  let served = 0;
  // openssl ocsp answers from one database: the leaves' own, joined for each request.
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      if (responder.failWith !== undefined) return void res.writeHead(responder.failWith).end();
      if (responder.junk === 'endless') return void endless(res);
      if (responder.junk !== undefined) return void res.writeHead(200).end(responder.junk);
      const n = served++;
      const [reqin, respout] = [join(dir, `${n}.req`), join(dir, `${n}.resp`)];
      writeFileSync(reqin, Buffer.concat(chunks));
      const index = join(dir, `${n}.index`);
      writeFileSync(index, responder.leaves.map((leaf) => readFileSync(indexOf(leaf), 'utf8')).join(''));
      const args = ['-index', index, '-CA', ca.cert, '-rsigner', signer.cert, '-rkey', signer.key];
      await promisify(execFile)('openssl', [
        'ocsp',
        ...args,
        '-reqin',
        reqin,
        '-respout',
        respout,
        '-nmin',
        String(o.minutes ?? 60),
      ]);
      responder.requests++;
      res.writeHead(200, { 'content-type': 'application/ocsp-response' }).end(readFileSync(respout));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const responder: OcspResponder = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    requests: 0,
    failWith: undefined,
    junk: undefined,
    leaves: [],
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return responder;
}

/** 64 KB at a time for as long as the client reads. */
function endless(res: ServerResponse): void {
  const chunk = Buffer.alloc(65536, 0x30);
  const more = () => {
    while (!res.destroyed && res.write(chunk));
  };
  res.writeHead(200, { 'content-type': 'application/ocsp-response' });
  res.on('drain', more);
  more();
}
