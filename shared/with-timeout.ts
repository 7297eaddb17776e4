/**
 * `operation`, or a rejection with `message` after `timeoutMs` or when `abort`
 * rejects, whichever comes first. For calls to a broker that may be away, whose
 * client can wait for it without end (the Kafka sink, the cluster collector).
 */
export async function withTimeout<T>(
  operation: Promise<T>,
  timeoutMs: number,
  message: string,
  abort?: Promise<never>,
): Promise<T> {
  operation.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), timeoutMs);
  });
  try {
    return await Promise.race(abort ? [operation, timeout, abort] : [operation, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
