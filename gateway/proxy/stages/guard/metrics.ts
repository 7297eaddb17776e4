import { Counter } from 'prom-client';
import { stateOf, type Runtime } from '../../runtime.ts';

/** The guard's counters, registered once per runtime (they survive reloads). Labels are bounded: service from config,
 * kind and action/reason fixed sets. */
export function guardMetrics(runtime: Runtime) {
  return stateOf(runtime, 'guard:metrics', () => {
    const registers = [runtime.metrics.register];
    return {
      detections: new Counter({
        name: 'tollgate_guard_detections_total',
        help: 'Requests the injection guard found carrying SQL injection or XSS, by what it did (blocked | logged).',
        labelNames: ['service', 'kind', 'action'] as const,
        registers,
      }),
      bodies: new Counter({
        name: 'tollgate_guard_bodies_total',
        help:
          'Request bodies seen by the guard with json_body or form_body on, by type (json | form): inspected; ' +
          'invalid_json (not JSON to JSON.parse in its charset: its quoted strings inspected as a lenient parser ' +
          'reads them); invalid_multipart (no delimiter of its boundary: no field in it); too_large (over ' +
          'max_inspect_bytes, compressed or once inflated: passed uninspected); undecodable (a Content-Encoding ' +
          'not known or not matching the data: passed uninspected).',
        labelNames: ['service', 'type', 'result'] as const,
        registers,
      }),
    };
  });
}

export type GuardMetrics = ReturnType<typeof guardMetrics>;
