/**
 * Detaches one empty ArrayBuffer while nothing is optimised yet.
 *
 * The first ArrayBuffer detached in a V8 isolate invalidates its "array buffer detaching" protector, and every
 * optimised function compiled on the promise that none would be (most code that reads a Buffer or typed array) is
 * thrown away at once. The gateway detaches buffers as a matter of course: TCP streams and WebSocket tunnels free
 * each chunk once written (proxy/net/write-then-free.ts), and a trace export moves its bytes to the exporter's
 * thread. The first of those under load threw ~90 hot functions away and they were compiled again while requests
 * waited: with 15,000 req/s of HTTP/1.1 through a gateway on one CPU, one request through a TCP stream made
 * 2,600–4,800 requests slower than 8 ms within the next second, and the first trace export 3,500–5,600, where
 * p99 was otherwise 3–15 ms (docs/decisions/0023-detach-at-start.md has the command). Detached here, before
 * anything is hot, nothing is thrown away; CPU per request did not change (same record).
 */
new ArrayBuffer(0).transfer();
