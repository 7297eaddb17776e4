import type { ServiceConfig } from '../../config/schema.ts';
import type { CompiledRoute } from '../../snapshot.ts';

/** The config of the service a route belongs to (looked up at init, never per request). */
export function serviceConfig(route: CompiledRoute): ServiceConfig {
  return route.snapshotConfig.services.find((s) => s.name === route.service.name)!;
}
