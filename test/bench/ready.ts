import http from 'node:http';
import net from 'node:net';
import type { ChildProcess } from 'node:child_process';
import { hasExited } from './procs.ts';

/** True once a TCP connection to 127.0.0.1:port succeeds. */
export function tcpConnects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function getStatus(url: string, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    // agent: false so no keep-alive socket of ours lingers in the competitor.
    const req = http.get(url, { agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
  });
}

/** Resolves once a TCP connect succeeds and a GET returns 200; throws after timeoutMs or if the process dies. */
export async function waitReady(url: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const port = Number(new URL(url).port);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (hasExited(child)) throw new Error(`exited (code ${child.exitCode ?? child.signalCode}) before becoming ready`);
    if ((await tcpConnects(port)) && (await getStatus(url, 1000)) === 200) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not ready within ${timeoutMs} ms (${url})`);
}

export { freePort } from '../helpers/ports.ts';
