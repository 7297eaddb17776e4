/**
 * The floor for the gRPC benchmark: a bare node:http2 pass-through proxy, what a team would write in an
 * afternoon. One h2c session to the upstream, each stream forwarded with its headers, body, and trailers
 * (sent with waitForTrailers), nothing else: no routing, no limits, no events. Tollgate ÷ this is the
 * price of everything the gateway does on top. Run: node bare-h2-proxy.ts <listen port> <upstream port> [compat]
 *
 * With `compat`, the same proxy is written on Node's compatibility API (a request and a response object per stream,
 * as http.createServer gives), which Tollgate's HTTP/2 listeners use so that h2 requests go through the stages
 * HTTP/1.1 requests do: the difference between the two rows is what that API costs.
 */
import {
  connect,
  constants,
  createServer,
  type ClientHttp2Session,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type IncomingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';

const [listenPort, upstreamPort] = process.argv.slice(2, 4).map(Number);
const compatApi = process.argv[4] === 'compat';
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

function onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders) {
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
}

function onRequest(request: Http2ServerRequest, response: Http2ServerResponse) {
  const req = session().request({
    ...forwarded(request.headers),
    [HTTP2_HEADER_METHOD]: request.method,
    [HTTP2_HEADER_PATH]: request.url,
  });
  req.on('response', (head) => {
    const { [HTTP2_HEADER_STATUS]: status, ...rest } = head;
    response.writeHead(Number(status), rest as Record<string, string>);
  });
  req.on('trailers', (t) => response.addTrailers(t as Record<string, string>));
  request.pipe(req);
  req.pipe(response);
  req.on('error', () => response.destroy());
  response.on('close', () => {
    if (!req.closed) req.close(constants.NGHTTP2_CANCEL);
  });
}

const server = createServer({ maxSessionMemory: 64 });
if (compatApi) server.on('request', onRequest);
else server.on('stream', onStream);
server.listen(listenPort, '127.0.0.1', () => console.log(`bare-h2-proxy on ${listenPort} -> ${upstreamPort}`));
