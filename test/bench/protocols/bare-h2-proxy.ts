/**
 * The floor for the gRPC benchmark: a bare node:http2 pass-through proxy, what a team would write in an
 * afternoon. One h2c session to the upstream, each stream forwarded with its headers, body, and trailers
 * (sent with waitForTrailers), nothing else: no routing, no limits, no events. Tollgate ÷ this is the
 * price of everything the gateway does on top. Run: node bare-h2-proxy.ts <listen port> <upstream port>
 */
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';

const [listenPort, upstreamPort] = process.argv.slice(2).map(Number);
const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS } = constants;

let upstream: ClientHttp2Session | undefined;
function session(): ClientHttp2Session {
  if (upstream === undefined || upstream.closed || upstream.destroyed) {
    const s = connect(`http://127.0.0.1:${upstreamPort}`);
    s.on('error', () => {});
    s.on('close', () => {
      if (upstream === s) upstream = undefined;
    });
    upstream = s;
  }
  return upstream;
}

const HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']);

function forwarded(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return out;
}

const server = createServer({ maxSessionMemory: 64 });
server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
  const req = session().request({
    ...forwarded(headers),
    [HTTP2_HEADER_METHOD]: headers[HTTP2_HEADER_METHOD] as string,
    [HTTP2_HEADER_PATH]: headers[HTTP2_HEADER_PATH] as string,
  });
  let trailers: IncomingHttpHeaders | undefined;
  req.on('response', (head, flags) => {
    const endStream = (flags & 0x1) === 0x1; // trailers-only: END_STREAM on the HEADERS frame
    const status = Number(head[HTTP2_HEADER_STATUS]);
    const { [HTTP2_HEADER_STATUS]: _, ...rest } = head;
    if (stream.destroyed) return;
    stream.respond({ ...rest, [HTTP2_HEADER_STATUS]: status }, { endStream, waitForTrailers: !endStream });
  });
  req.on('trailers', (t) => (trailers = t));
  stream.on('wantTrailers', () => stream.sendTrailers(trailers ?? { 'grpc-status': '2' }));
  req.pipe(stream);
  stream.pipe(req);
  req.on('error', () => stream.destroy());
  stream.on('error', () => req.destroy());
  stream.on('close', () => {
    if (!req.closed) req.close(constants.NGHTTP2_CANCEL);
  });
});
server.listen(listenPort, '127.0.0.1', () => console.log(`bare-h2-proxy on ${listenPort} -> ${upstreamPort}`));
