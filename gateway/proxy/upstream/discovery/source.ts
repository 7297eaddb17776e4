/** One target as a discovery source reports it. */
export interface DiscoveredTarget {
  /** `scheme://host:port`, IPv6 hosts in brackets. */
  origin: string;
  weight: number;
  /**
   * The name the target was found by when `origin` holds a resolved address
   * (DNS): sent as Host (with the port unless it is the scheme's default) and
   * as the TLS server name, as nginx and Kong do; absent for static targets.
   */
  hostname?: string;
}

export type TargetsListener = (targets: DiscoveredTarget[]) => void;

/**
 * A live list of targets for one upstream. The contract every source keeps:
 * - `onTargets` always receives the whole current list, never a delta, and
 *   only when it differs from the last one it sent;
 * - a failed refresh keeps the last good list (it is reported through the
 *   source's own `onError` option, not by emitting an empty list);
 * - `stop()` clears every timer and pending request, and `onTargets` is not
 *   called after it returns.
 *
 * Consul and etcd fit the same shape later:
 * - Consul: `start` runs a blocking-query loop on
 *   `/v1/health/service/<name>?passing=true&index=<X-Consul-Index>&wait=<s>`,
 *   maps each entry's `Service.Address` (or `Node.Address`) and `Service.Port`
 *   to an origin and `Service.Weights.Passing` to the weight; `stop` aborts
 *   the long poll.
 * - etcd: `start` reads a key prefix (one key per target, value
 *   `{origin, weight}`), emits, then watches the prefix from the read's
 *   revision + 1 and re-emits the folded list on each event; on a compacted
 *   revision it reads again. `stop` cancels the watch.
 */
export interface TargetSource {
  start(onTargets: TargetsListener): void;
  stop(): void;
}
