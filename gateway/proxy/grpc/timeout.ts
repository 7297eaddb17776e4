const UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 0.001, n: 0.000_001 };
const TIMEOUT = /^([0-9]{1,8})([HMSmun])$/;

/**
 * The deadline a gRPC client set (`grpc-timeout`: at most 8 digits and a unit,
 * PROTOCOL-HTTP2.md), in milliseconds from the request's arrival; undefined
 * when it set none; 'invalid' for anything else.
 */
export function parseGrpcTimeout(value: string | string[] | undefined): number | undefined | 'invalid' {
  if (value === undefined) return undefined;
  const m = typeof value === 'string' ? TIMEOUT.exec(value) : null;
  if (m === null) return 'invalid';
  return Number(m[1]) * UNIT_MS[m[2]];
}

/** `ms` (positive) as grpc-timeout, in the finest unit whose value fits 8 digits, rounded up. */
export function formatGrpcTimeout(ms: number): string {
  for (const [unit, size] of [
    ['u', 0.001],
    ['m', 1],
    ['S', 1000],
    ['M', 60_000],
  ] as const) {
    const value = Math.max(1, Math.ceil(ms / size));
    if (value <= 99_999_999) return `${value}${unit}`;
  }
  return `${Math.min(99_999_999, Math.ceil(ms / 3_600_000))}H`;
}
