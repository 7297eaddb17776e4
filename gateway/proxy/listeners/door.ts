import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';

/** The connections one set of a listener's servers took through its door, until each has closed. */
export class Accepted {
  count = 0;
  #waiters: (() => void)[] = [];

  add(socket: Socket): void {
    this.count++;
    socket.once('close', () => {
      if (--this.count === 0) for (const resolve of this.#waiters.splice(0)) resolve();
    });
  }

  /** Resolves once every connection taken so far has closed. */
  drained(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.#waiters.push(resolve));
  }
}

/** A listener's servers as the door sees them: where a connection goes in, what counts it, and the TLS server. */
export interface Inside {
  entry: Server;
  accepted: Accepted;
  tls?: { shareTicketKeys(keys: Buffer): void };
}

/**
 * What listens at a listener's address: a TCP server that hands each connection to the listener's servers of the
 * moment (`entry`: TLS, the h2c sniffer, the PROXY header reader, per-client limits, or the HTTP server itself). A
 * reload that replaces those servers (TLS given or taken away, other protocols, PROXY headers or per-client limits
 * turned on or off) hands the door on to the new ones, so the address never stops accepting. Closing the socket and
 * listening again refused the connections made in between and reset those in its accept queue
 * (test/proxy/listeners/replace-keeps-address.test.ts). What the extra hand-over costs, beside the build before the
 * door (both gateways on one CPU, `wrk -t1 -c20 -d6s -H 'Connection: close'` on proxy.listen, five alternating
 * rounds, medians): 11,719 new connections/s against 11,265, 83.9 µs of CPU per request against 86.9: nothing the
 * rounds' noise shows.
 *
 * It sets TCP_NODELAY on what it accepts, as Node's http and http2 servers do on theirs: else a response written in
 * two parts waited 44 ms for the client's delayed ACK, on every request (test/proxy/listeners/no-delay.test.ts).
 *
 * It holds the session ticket key of the TLS servers behind it (sharedTicketKeys), so a ticket resumes on any worker,
 * and across a replacement too.
 */
export class Door {
  readonly server: Server;
  #inside: Inside;
  #ticketKeys: Buffer;

  constructor(inside: Inside) {
    this.#inside = inside;
    this.server = createServer({ noDelay: true }, (socket) => {
      const to = this.#inside;
      to.accepted.add(socket);
      to.entry.emit('connection', socket);
    });
    this.#ticketKeys = sharedTicketKeys(this.server, (keys) => {
      this.#ticketKeys = keys;
      this.#inside.tls?.shareTicketKeys(keys);
    });
    inside.tls?.shareTicketKeys(this.#ticketKeys);
  }

  /** Whether connections go to `inside`: the one that closes the door when it retires. */
  leadsTo(inside: Inside): boolean {
    return this.#inside === inside;
  }

  /** From now on, connections go to `inside`. */
  handTo(inside: Inside): void {
    this.#inside = inside;
    inside.tls?.shareTicketKeys(this.#ticketKeys);
  }
}

/**
 * A session ticket key for the TLS behind `server` (what listens), the same on every worker in cluster mode, as a
 * tls.Server that listens itself shares its own: a worker's listen asks that server for data to share
 * (`_getServerData`), and the primary answers every worker at that address with the first one's (`_setServerData`,
 * lib/internal/cluster/child.js). Returns this worker's key; `handed` gets the cluster's, once it listens
 * (test/proxy/listeners/session-tickets-cluster.test.ts, for a listener and a stream).
 */
export function sharedTicketKeys(server: Server, handed: (keys: Buffer) => void): Buffer {
  const keys = randomBytes(48);
  Object.assign(server, {
    _getServerData: () => ({ ticketKeys: keys.toString('hex') }),
    _setServerData: (data: { ticketKeys?: string } | null) => {
      if (data?.ticketKeys) handed(Buffer.from(data.ticketKeys, 'hex'));
    },
  });
  return keys;
}
