import type { ConfigError } from '../types.ts';
import { isLoopback } from '../admin/loopback.ts';
import { splitListen } from '../../../shared/listen.ts';
import type { Config } from './schema.ts';
import { checkCanary } from '../../proxy/stages/canary/semantics.ts';
import { checkRemovedKeys } from '../../proxy/stages/authenticate/semantics.ts';
import { checkUpstream } from '../../proxy/upstream/semantics.ts';
import { checkRateLimits } from '../../proxy/stages/rate-limit/semantics.ts';
import { checkAccessControl, checkTrustedProxies } from '../../proxy/stages/ip-acl/semantics.ts';
import { checkRoutePaths } from '../../proxy/stages/route-match/semantics.ts';
import { ownEscapedSlashes } from '../../proxy/stages/route-match/path.ts';
import { checkListeners as checkProxyListeners } from '../../proxy/listeners/semantics.ts';
import { checkStreams } from '../../proxy/streams/semantics.ts';
import { checkHeaderOps } from '../../proxy/stages/request-headers/semantics.ts';
import { checkSelfTargets } from '../../proxy/upstream/self-targets.ts';
import { MAX_TIMER_MS } from '../../../shared/timer-limit.ts';
import { regexError } from '../../proxy/router/linear-regex.ts';

/**
 * Rules a JSON Schema cannot state: uniqueness, regexes that compile, required
 * pairs. Runs on schema-invalid configs too, so each part is guarded: a part
 * whose shape is wrong was reported by the schema and is skipped here
 * (`shapeValid`: the schema found nothing, so a check that throws is reported).
 */
export function checkSemantics(
  config: Config,
  env: NodeJS.ProcessEnv = process.env,
  shapeValid = false,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const err = (path: string, message: string) => errors.push({ path, message });
  const guard = (fn: () => void) => {
    try {
      fn();
    } catch (e) {
      // A wrong shape was reported by the schema. A config of the right shape that a check cannot finish is refused,
      // never let through with the rest of that part unchecked.
      if (shapeValid) err('', `could not be checked: ${(e as Error).message}`);
    }
  };
  guard(() => checkListeners(config, err));
  guard(() => checkProxyListeners(config, err, env));
  guard(() => checkClientTimeouts(config, err));
  guard(() => checkDurations(config, '', err));
  guard(() => checkTrustedProxies(config, err));
  guard(() => checkStreams(config, err, env));
  guard(() => checkSelfTargets(config, err));
  if (!Array.isArray(config.services)) return errors;
  const services = new Map<string, number>();
  const routeNames = new Map<string, string>();
  config.services.forEach((svc, si) =>
    guard(() => checkService(svc, si, services, routeNames, config.proxy.paths, err)),
  );
  return errors;
}

type Report = (path: string, message: string) => void;

function checkListeners(config: Config, err: Report): void {
  for (const key of ['proxy', 'admin'] as const) {
    const { port } = splitListen(config[key].listen);
    if (!(port >= 0 && port <= 65535)) err(`/${key}/listen`, 'port must be 0-65535 (0 = any free port)');
  }
  if (!isLoopback(splitListen(config.admin.listen).host) && !config.admin.token) {
    err('/admin/token', 'required when admin.listen is not a loopback address (set TOLLGATE_ADMIN_TOKEN)');
  }
}

/** Node refuses to start a listener whose head timeout exceeds its whole-request timeout; say so at validate time. */
function checkClientTimeouts(config: Config, err: Report): void {
  const { header_timeout_ms: head, request_timeout_ms: whole } = config.proxy;
  if (head > whole)
    err(
      '/proxy/header_timeout_ms',
      `must be at most proxy.request_timeout_ms (${whole}): the head is part of the request`,
    );
}

/** Every `*_ms` setting, wherever it is: past what a timer runs, it would fire at once (MAX_TIMER_MS). */
function checkDurations(value: unknown, path: string, err: Report): void {
  if (typeof value !== 'object' || value === null) return;
  for (const [key, v] of Object.entries(value)) {
    const at = `${path}/${key}`;
    if (key.endsWith('_ms') && typeof v === 'number' && v > MAX_TIMER_MS)
      err(at, `must be at most ${MAX_TIMER_MS} (24.8 days, the longest a timer runs; ${v} would fire at once)`);
    else checkDurations(v, at, err);
  }
}

function checkService(
  svc: Config['services'][number],
  si: number,
  services: Map<string, number>,
  routeNames: Map<string, string>,
  paths: Config['proxy']['paths'],
  err: Report,
): void {
  const base = `/services/${si}`;
  if (services.has(svc.name))
    err(`${base}/name`, `duplicate service name "${svc.name}" (also /services/${services.get(svc.name)})`);
  services.set(svc.name, si);
  checkRateLimits(svc, base, err);
  checkAccessControl(svc, base, err);

  svc.routes.forEach((route, ri) => {
    const rbase = `${base}/routes/${ri}`;
    const name = route.name ?? `${svc.name}-${ri}`;
    if (routeNames.has(name)) err(`${rbase}/name`, `duplicate route name "${name}" (also ${routeNames.get(name)})`);
    routeNames.set(name, rbase);
    route.paths.forEach((p, pi) => {
      if (p.startsWith('~')) {
        const e = regexError(p.slice(1));
        if (e) err(`${rbase}/paths/${pi}`, e);
      } else if (!(p.startsWith('/') || p.startsWith('=/'))) {
        err(`${rbase}/paths/${pi}`, 'must be /prefix, =/exact or ~regex');
      }
    });
    const keepsSeparators = ownEscapedSlashes(route, svc) === 'keep';
    checkRoutePaths(route, rbase, paths, keepsSeparators, err);
    if (route.strip_prefix && route.paths.some((p) => p.startsWith('~'))) {
      err(`${rbase}/strip_prefix`, 'cannot strip a regex path; use rewrite');
    }
    if (route.rewrite) {
      const e = regexError(route.rewrite.regex);
      if (e) err(`${rbase}/rewrite/regex`, e);
    }
    for (const [h, v] of Object.entries(route.headers)) {
      if (v.startsWith('~')) {
        const e = regexError(v.slice(1));
        if (e) err(`${rbase}/headers/${h}`, e);
      }
    }
    checkHeaderOps(route, rbase, err);
  });

  checkUpstream(svc.upstream, `${base}/upstream`, err);
  checkCanary(svc, base, err);
  checkRemovedKeys(svc, base, err);
}
