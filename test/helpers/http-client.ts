import { Agent, request, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';

export interface SendOptions {
  method?: string;
  /** Sent as given; a `host` here replaces the one Node derives from the URL. */
  headers?: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Defaults to a fresh connection per request (agent: false). */
  agent?: Agent | false;
  /** Source address of the connection, e.g. 127.0.0.7 to look like another client. */
  localAddress?: string;
  /** Omit the Host header entirely. */
  noHost?: boolean;
  timeoutMs?: number;
}

export interface SendResult {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header names and values exactly as received, in order. */
  rawHeaders: string[];
  body: Buffer;
  text: string;
  ms: number;
  json<T = any>(): T;
}

/**
 * One HTTP/1.1 request through node:http, which sends the path verbatim
 * (`//a/./b` stays as written) and any header we ask for, hop-by-hop ones
 * included — which fetch would not.
 */
export function send(baseUrl: string, path: string, opts: SendOptions = {}): Promise<SendResult> {
  const url = new URL(baseUrl);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? 'GET',
        headers: opts.headers,
        agent: opts.agent ?? false,
        localAddress: opts.localAddress,
        setHost: !opts.noHost && !(opts.headers && 'host' in opts.headers),
        timeout: opts.timeoutMs ?? 10000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks);
          const text = body.toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            rawHeaders: res.rawHeaders,
            body,
            text,
            ms: performance.now() - started,
            json: () => JSON.parse(text),
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${path} timed out`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A keep-alive agent for many sequential requests; destroy it when done. */
export function keepAliveAgent(): Agent {
  return new Agent({ keepAlive: true, maxSockets: 16 });
}
