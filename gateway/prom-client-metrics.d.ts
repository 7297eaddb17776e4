// prom-client ships no types for the modules behind collectDefaultMetrics; gateway/metrics.ts calls them one by one.
declare module 'prom-client/lib/metrics/*' {
  import type { Registry } from 'prom-client';
  const collect: (register: Registry, config: { register: Registry; eventLoopMonitoringPrecision?: number }) => void;
  export default collect;
}
