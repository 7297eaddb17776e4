/**
 * Breaks, while nothing is optimised yet, two promises V8 compiles code on and that the gateway's own work breaks
 * later anyway.
 *
 * V8 compiles code that reads a Buffer or typed array on the promise that no ArrayBuffer in the process has been
 * detached, and that no typed array has had its prototype changed. The first break of either throws away every
 * optimised function that relied on it, at once, and they are compiled again as requests wait. The gateway breaks
 * both in normal work:
 * - TCP streams and WebSocket tunnels free each chunk once written (proxy/net/write-then-free.ts), and a trace export
 *   moves its request body to the exporter's thread: a detach;
 * - Node's HTTP server makes a Buffer in C++, with its prototype set, for an upgrade's first bytes and for the raw
 *   packet of a malformed request.
 * Under HTTP/1.1 load, the first of them threw away 25–95 hot functions and made thousands of requests slower than
 * 8 ms (docs/decisions/0023-v8-protectors-at-start.md has the figures and the command). Broken here, before anything
 * is hot, nothing is thrown away later. CPU per request was 0.98–1.03× (same record): the state a gateway reaches at
 * its first upgrade or malformed request anyway.
 */
new ArrayBuffer(0).transfer();
Object.setPrototypeOf(new Uint8Array(0), Buffer.prototype);
