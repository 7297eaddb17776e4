// A gRPC echo server for the examples, tests and bench: helloworld.Greeter, helloworld.Echo (unary,
// server, client and bidirectional streaming) and grpc.health.v1.Health, on @grpc/grpc-js over h2c.
// Run it: node_modules/.bin/node gateway/examples/grpc/server.ts [port] (default 50051); it needs the
// dev dependencies (npm ci).
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';

// The loaded packages are reached by name (protos.echo.helloworld.Echo), which their GrpcObject type does not
// know; the handlers below are typed instead.
const load = (file: string) =>
  grpc.loadPackageDefinition(
    loader.loadSync(new URL(file, import.meta.url).pathname, { keepCase: true, defaults: true, longs: Number }),
    // biome-ignore lint/suspicious/noExplicitAny: a package tree from a .proto file, navigated by name
  ) as any;

/** helloworld.EchoRequest (echo.proto). */
interface EchoRequest {
  message: string;
  repeat: number;
  delay_ms: number;
  fail_code: number;
  reply_bytes: number;
}
interface EchoReply {
  message: string;
  index: number;
  metadata?: string;
  padding?: Buffer;
}

export const protos = { echo: load('./echo.proto'), health: load('./health.proto') };

export interface EchoServer {
  port: number;
  /** What the health check answers: SERVING, NOT_SERVING or SERVICE_UNKNOWN (for an unknown service). */
  serving: { status: 'SERVING' | 'NOT_SERVING' };
  /** Calls seen, by method name. */
  calls: Map<string, number>;
  /** Calls the client cancelled before they were answered. */
  cancelled: number;
  close(): Promise<void>;
  /** Drops every connection at once, calls in flight included (a crashed server). */
  kill(): void;
}

function metadataText(md: grpc.Metadata): string {
  return Object.entries(md.getMap())
    .map(([k, v]) => `${k}=${String(v)}`)
    .join('\n');
}

function reply(req: EchoRequest, index: number, md: grpc.Metadata, name = '') {
  const padding = req.reply_bytes > 0 ? Buffer.alloc(req.reply_bytes, 0x61) : Buffer.alloc(0);
  return { message: `${name}${req.message}`, index, metadata: metadataText(md), padding };
}

const fail = (code: number) => ({ code, details: `failed as asked (${code})` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `options`: grpc-js server options, e.g. `grpc.max_connection_age_ms` (a GOAWAY to each connection that old). */
export async function startEchoServer(port = 0, host = '127.0.0.1', options?: grpc.ServerOptions): Promise<EchoServer> {
  const server = new grpc.Server(options);
  const state: Omit<EchoServer, 'port' | 'close' | 'kill'> = {
    serving: { status: 'SERVING' },
    calls: new Map(),
    cancelled: 0,
  };
  const seen = (method: string) => state.calls.set(method, (state.calls.get(method) ?? 0) + 1);
  server.addService(protos.echo.helloworld.Greeter.service, {
    SayHello: (
      call: grpc.ServerUnaryCall<{ name: string }, { message: string }>,
      cb: grpc.sendUnaryData<{ message: string }>,
    ) => {
      seen('SayHello');
      cb(null, { message: `Hello ${call.request.name}` });
    },
  });
  server.addService(protos.echo.helloworld.Echo.service, {
    Unary: async (call: grpc.ServerUnaryCall<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      seen('Unary');
      call.on('cancelled', () => state.cancelled++);
      if (call.request.delay_ms > 0) await sleep(call.request.delay_ms);
      if (call.cancelled) return;
      if (call.request.fail_code) return cb(fail(call.request.fail_code));
      cb(null, reply(call.request, 0, call.metadata));
    },
    ServerStream: async (call: grpc.ServerWritableStream<EchoRequest, EchoReply>) => {
      seen('ServerStream');
      call.on('cancelled', () => state.cancelled++);
      for (let i = 0; i < Math.max(1, call.request.repeat); i++) {
        if (call.cancelled) return;
        if (i > 0 && call.request.delay_ms > 0) await sleep(call.request.delay_ms);
        // Backpressure: wait for the stream to drain before the next reply.
        if (!call.write(reply(call.request, i, call.metadata))) await new Promise((r) => call.once('drain', r));
      }
      // grpc-js ends a server stream with a status by an 'error' event (destroy() would send none).
      if (call.request.fail_code) return call.emit('error', fail(call.request.fail_code));
      call.end();
    },
    ClientStream: (call: grpc.ServerReadableStream<EchoRequest, EchoReply>, cb: grpc.sendUnaryData<EchoReply>) => {
      seen('ClientStream');
      call.on('cancelled', () => state.cancelled++);
      const messages: string[] = [];
      call.on('data', (req: EchoRequest) => messages.push(req.message));
      call.on('end', () => cb(null, { message: messages.join(','), index: messages.length }));
    },
    Bidi: (call: grpc.ServerDuplexStream<EchoRequest, EchoReply>) => {
      seen('Bidi');
      let i = 0;
      call.on('data', (req: EchoRequest) => call.write(reply(req, i++, call.metadata)));
      call.on('end', () => call.end());
    },
  });
  server.addService(protos.health.grpc.health.v1.Health.service, {
    Check: (
      call: grpc.ServerUnaryCall<{ service: string }, { status: string }>,
      cb: grpc.sendUnaryData<{ status: string }>,
    ) => {
      seen('Check');
      const known = call.request.service === '' || call.request.service === 'helloworld.Echo';
      cb(null, { status: known ? state.serving.status : 'SERVICE_UNKNOWN' });
    },
  });
  const bound = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  // The state object itself: the handlers keep counting into it.
  return Object.assign(state, {
    port: bound,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
    kill: () => server.forceShutdown(),
  });
}

if (import.meta.main) {
  const server = await startEchoServer(Number(process.argv[2] ?? 50051), process.argv[3] ?? '127.0.0.1');
  console.log(`gRPC echo server on 127.0.0.1:${server.port}: helloworld.Greeter, helloworld.Echo, grpc.health.v1`);
  // A graceful stop: GOAWAY on each connection, the calls under way finished, then exit.
  process.once('SIGTERM', () => void server.close());
}
