import type { Http2Config } from './schema.ts';

/** The defaults of `http2` (schema.ts), for a listener built without a config entry (proxy.listen's). */
export const HTTP2_DEFAULTS: Http2Config = Object.freeze({
  max_concurrent_streams: 128,
  max_header_list_bytes: 16384,
  initial_window_bytes: 1048576,
  max_session_memory_mb: 64,
  ping_timeout_ms: 20000,
});
