import type { Runtime } from '../runtime.ts';

/**
 * Every `intervalMs` while a WebSocket connection stays open (TCP streams have their sweep), its interim event goes to
 * the sink: `record` encodes the traffic since the connection's previous event and takes it off what the next one
 * will carry. Undefined when events go nowhere. The caller clears the timer when the connection ends.
 */
export function interimEvents(
  runtime: Runtime,
  intervalMs: number,
  record: (node: string) => Buffer,
): NodeJS.Timeout | undefined {
  const events = runtime.events;
  if (events === undefined) return undefined;
  const timer = setInterval(() => events.append(record), intervalMs);
  timer.unref();
  return timer;
}
