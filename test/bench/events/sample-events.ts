// Events shaped like a busy gateway's: mostly proxied 2xx, some rejections and
// upstream failures, IPv4 clients mostly seen as IPv4-mapped IPv6 (a
// dual-stack listener), half the requests traced. Seeded, so every run and
// every competitor sees the same events.
import { type AccessEvent, type ErrorClass, PLAIN_HTTP1 } from '../../../shared/access-event.ts';
import { EventIdGenerator } from '../../../shared/access-event-id.ts';
import { seededRandom } from '../../helpers/seeded-random.ts';

const services = [
  ['orders', ['orders.list', 'orders.get', 'orders.create']],
  ['payments', ['payments.charge', 'payments.refund']],
  ['catalog-search', ['catalog.search', 'catalog.item']],
  ['user-profile', ['profile.get', 'profile.update']],
] as const;

export function sampleEvents(count: number, seed = 42): AccessEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const int = (min: number, max: number) => min + Math.floor(random() * (max - min + 1));
  const hex = (n: number) => Array.from({ length: n }, () => int(0, 15).toString(16)).join('');
  let clockMs = Date.UTC(2025, 5, 1, 12);
  const ids = new EventIdGenerator(() => clockMs);
  const apps = Array.from({ length: 20 }, () => `app_${hex(8)}`);
  const events: AccessEvent[] = [];
  for (let i = 0; i < count; i++) {
    clockMs += int(0, 2);
    const [service, routes] = pick(services);
    const roll = random();
    const ip4 = `${int(1, 223)}.${int(0, 255)}.${int(0, 255)}.${int(1, 254)}`;
    const ipRoll = random();
    const clientIp = ipRoll < 0.6 ? `::ffff:${ip4}` : ipRoll < 0.85 ? ip4 : `2001:db8:${hex(4)}::${hex(3)}`;
    const upstreamUs = int(800, 250_000);
    const gatewayUs = int(80, 900);
    let e: AccessEvent = {
      id: ids.next(),
      startMs: clockMs,
      node: `gw-eu-west-1a-0${int(1, 4)}`,
      appId: random() < 0.8 ? pick(apps) : '',
      service,
      route: pick(routes),
      method: pick(['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE']),
      status: 200,
      upstreamStatus: 200,
      totalUs: upstreamUs + gatewayUs,
      upstreamUs,
      gatewayUs,
      bytesIn: int(0, 2_000),
      bytesOut: int(100, 60_000),
      clientIp,
      target: `http://10.0.${int(0, 9)}.${int(2, 250)}:8080`,
      errorClass: 'none',
      traceId: random() < 0.5 ? hex(32) : '',
      ...PLAIN_HTTP1,
    };
    if (roll < 0.07) {
      const errorClass: ErrorClass = pick(['rate_limited', 'unauthorized', 'forbidden']);
      const status = errorClass === 'rate_limited' ? 429 : errorClass === 'unauthorized' ? 401 : 403;
      e = { ...e, status, upstreamStatus: 0, upstreamUs: 0, totalUs: gatewayUs, target: '', bytesOut: 90, errorClass };
    } else if (roll < 0.09) {
      e = {
        ...e,
        service: '',
        route: '',
        status: 404,
        upstreamStatus: 0,
        upstreamUs: 0,
        totalUs: gatewayUs,
        target: '',
        bytesOut: 80,
        errorClass: 'no_route',
      };
    } else if (roll < 0.1) {
      e = {
        ...e,
        status: 504,
        upstreamStatus: 0,
        totalUs: 30_000_000 + gatewayUs,
        upstreamUs: 30_000_000,
        bytesOut: 95,
        errorClass: 'upstream_timeout',
      };
    } else if (roll < 0.15) {
      e = { ...e, status: 404, upstreamStatus: 404 };
    }
    // Re-created through one path so every event has one hidden class, as events
    // built at the gateway's single construction site do.
    events.push(JSON.parse(JSON.stringify(e)) as AccessEvent);
  }
  return events;
}
