/**
 * Breaks at start, while nothing is optimised, two promises V8 compiles typed-array code on: that no ArrayBuffer has
 * been detached, and that no typed array's prototype has been set. The gateway breaks both in normal work anyway
 * (write-then-free.ts and trace exports detach; Node's HTTP server sets a prototype for an upgrade or a malformed
 * request), and the first break under load threw away up to ~95 hot functions while requests waited
 * (docs/decisions/0023-v8-protectors-at-start.md: figures, command, and the cost, ~1% CPU per request).
 */
new ArrayBuffer(0).transfer();
Object.setPrototypeOf(new Uint8Array(0), Buffer.prototype);
