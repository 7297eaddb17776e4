import { isDeepStrictEqual } from 'node:util';
import type { Config, ServiceConfig } from './schema.ts';
import type { LoadResult } from './load.ts';
import { validateOffThread } from './load-off-thread.ts';
import type { Logger } from '../../log.ts';

/** More services changed than this and the whole config is validated (on the config worker thread when large). */
export const EDIT_MAX_CHANGED_SERVICES = 100;

/** The serving config: as stored (`raw`) and as validated from it (`config`, service for service). */
export interface ServingConfig {
  raw: Record<string, unknown>;
  config: Config;
}

/**
 * An edit of the serving config, to be validated by what it changes: an
 * admin edit of one service of 5,000 checks that service, not the other
 * 4,999. The schema and the rules of checkSemantics take each service on its
 * own, apart from the uniqueness of service and route names, which `finish`
 * checks across all of them; every setting outside `services` must be
 * unchanged. A service unchanged by name and content keeps its validated
 * object, TLS files included: their text as last read, which the TLS file
 * watch and reloads read again, not the edit.
 */
export interface EditPlan {
  /** The changed services with the unchanged settings, to be validated (validateConfig, on a thread or not); none when
   * no service changed. */
  part: Record<string, unknown> | undefined;
  /** The whole validated config from `part`'s result, or undefined when anything is wrong: the whole validation then
   * gives every error, in its order. */
  finish(part: LoadResult | undefined): LoadResult | undefined;
}

/** Undefined when the edit cannot be validated by its changes: a setting outside `services` changed, or more than
 * `maxChanged` services did. */
export function planEdit(
  raw: unknown,
  serving: ServingConfig,
  maxChanged = EDIT_MAX_CHANGED_SERVICES,
): EditPlan | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const { services, ...rest } = raw as Record<string, unknown>;
  const { services: before, ...restBefore } = serving.raw;
  if (!Array.isArray(services) || !Array.isArray(before) || before.length !== serving.config.services.length)
    return undefined;
  if (!isDeepStrictEqual(rest, restBefore)) return undefined;
  const byName = new Map<unknown, number>();
  before.forEach((s, i) => byName.set((s as { name?: unknown } | null)?.name, i));
  const merged: ServiceConfig[] = new Array(services.length);
  const changed: number[] = [];
  for (let at = 0; at < services.length; at++) {
    const svc = services[at] as { name?: unknown } | null;
    const i = byName.get(svc?.name);
    // An edit made on the serving config hands unchanged services on as the same objects.
    if (i !== undefined && (before[i] === svc || isDeepStrictEqual(before[i], svc)))
      merged[at] = serving.config.services[i]!;
    else if (changed.push(at) > maxChanged) return undefined;
  }
  return {
    part: changed.length > 0 ? { ...rest, services: changed.map((at) => services[at]) } : undefined,
    finish(part) {
      if (changed.length > 0) {
        if (!part?.ok) return undefined;
        changed.forEach((at, k) => {
          merged[at] = part.config.services[k]!;
        });
      }
      if (namesRepeat(merged)) return undefined;
      return { ok: true, config: { ...serving.config, services: merged } };
    },
  };
}

/**
 * Validates an edit or another node's version: by what it changes from the
 * serving config when it can (planEdit), else whole. Either goes to the
 * config worker thread as validateOffThread decides: for 500 services or more.
 */
export async function validateChange(
  raw: unknown,
  serving: ServingConfig | undefined,
  log?: Logger,
): Promise<LoadResult> {
  const plan = serving && planEdit(raw, serving);
  const part = plan?.part && (await validateOffThread(plan.part, { log, what: 'edit' }));
  return plan?.finish(part) ?? validateOffThread(raw, { log });
}

/** Whether two services share a name, or two routes do (a route's name is `<service>-<index>` when it has none). */
function namesRepeat(services: ServiceConfig[]): boolean {
  const names = new Set<string>();
  const routes = new Set<string>();
  for (const svc of services) {
    if (names.has(svc.name)) return true;
    names.add(svc.name);
    for (let ri = 0; ri < svc.routes.length; ri++) {
      const name = svc.routes[ri]!.name ?? `${svc.name}-${ri}`;
      if (routes.has(name)) return true;
      routes.add(name);
    }
  }
  return false;
}
