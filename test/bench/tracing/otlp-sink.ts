// An OTLP/HTTP receiver that takes every export and keeps nothing, for `npm run bench -- --tracing`: what the
// gateway pays to trace, without a backend's own work on the machine. Prints the spans' bytes received on exit.
// Usage: node test/bench/tracing/otlp-sink.ts PORT
import { createServer } from 'node:http';

let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  // An empty ExportTraceServiceResponse: the same bytes in protobuf and in JSON ({} would do too).
  req.on('end', () => res.writeHead(200, { 'content-type': req.headers['content-type'] ?? '' }).end());
});
server.listen(Number(process.argv[2]), '127.0.0.1');
process.on('SIGTERM', () => {
  console.log(`otlp-sink: ${bytes} bytes of spans`);
  process.exit(0);
});
