import type { RequestContext } from '../../context.ts';
import type { RouteStage, StageResult } from '../../pipeline.ts';
import type { CompiledRoute } from '../../snapshot.ts';
import { type BodyType, bodyTexts, bodyType, isJsonText, readBody } from './body.ts';
import { inspectMultipart, multipartBoundaries } from './multipart.ts';
import { decodedBody } from './content-encoding.ts';
import {
  CLEAN,
  inspectHeaders,
  inspectJsonText,
  inspectLenientJsonText,
  inspectPath,
  inspectQuery,
  SQLI,
  type Finding,
  type InspectRules,
} from './inspect.ts';
import { guardMetrics } from './metrics.ts';
import type { GuardConfig } from './schema.ts';
import { declaresBody } from '../../net/declares-body.ts';

/** At most one warning line per route per interval in log_only mode; the rest are counted in the next line. */
const LOG_INTERVAL_MS = 1000;

export function compileRules(conf: GuardConfig): InspectRules {
  const names: string[] = [];
  const prefixes: string[] = [];
  for (const h of conf.inspect.headers) {
    const lower = h.toLowerCase();
    if (lower.endsWith('*')) prefixes.push(lower.slice(0, -1));
    else names.push(lower);
  }
  return {
    sqli: conf.sqli,
    xss: conf.xss,
    headerNames: names,
    headerPrefixes: prefixes,
    maxChars: conf.max_inspect_bytes,
  };
}

/**
 * `allowed_body_types` compiled: whether a Content-Type names one of them (exact, `type/*`, or `*` / `*` for any named
 * type; parameters ignored, case-insensitive). A body without a Content-Type is no type at all.
 */
function bodyTypeRule(list: readonly string[] | undefined): ((contentType: string | undefined) => boolean) | undefined {
  if (list === undefined) return undefined;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  for (const t of list.map((x) => x.toLowerCase())) {
    if (t.endsWith('/*')) prefixes.push(t.slice(0, -1));
    else exact.add(t);
  }
  return (contentType) => {
    if (contentType === undefined) return false;
    const semi = contentType.indexOf(';');
    const media = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
    if (!MEDIA_TYPE.test(media)) return false;
    return exact.has(media) || prefixes.some((p) => p === '*/' || media.startsWith(p));
  };
}

const MEDIA_TYPE = /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+$/;

function excludedBy(prefixes: readonly string[], path: string): boolean {
  for (const p of prefixes) {
    if (path === p || (path.startsWith(p) && (p.endsWith('/') || path.charCodeAt(p.length) === 47))) return true;
  }
  return false;
}

function build(route: CompiledRoute, conf: GuardConfig) {
  const service = route.service.name;
  const metrics = guardMetrics(route.runtime);
  const block = conf.mode === 'block';
  const action = block ? 'blocked' : 'logged';
  const counted = {
    [SQLI]: metrics.detections.labels(service, 'sqli', action),
    2: metrics.detections.labels(service, 'xss', action),
  };
  const bodyCounters = (type: 'json' | 'form', invalid: 'invalid_json' | 'invalid_multipart') => ({
    inspected: metrics.bodies.labels(service, type, 'inspected'),
    tooLarge: metrics.bodies.labels(service, type, 'too_large'),
    invalid: metrics.bodies.labels(service, type, invalid),
    undecodable: metrics.bodies.labels(service, type, 'undecodable'),
  });
  const counters = { json: bodyCounters('json', 'invalid_json'), form: bodyCounters('form', 'invalid_multipart') };
  const countersOf = (type: BodyType) => (type === 'json' ? counters.json : counters.form);
  const rules = compileRules(conf);
  const { path: doPath, query: doQuery, json_body: doJson, form_body: doForm } = conf.inspect;
  const doHeaders = rules.headerNames.length + rules.headerPrefixes.length > 0;
  const exclude = conf.exclude_paths;
  const maxBody = conf.max_inspect_bytes;
  const allowsType = bodyTypeRule(conf.allowed_body_types);
  const log = route.runtime.log;
  const logLimit = { nextMs: 0, suppressed: 0 };

  /** A detection: count it, then 403 (block) or a rate-limited warning (log_only). */
  const found = (ctx: RequestContext, f: Finding, where: string): false | undefined => {
    counted[f as 1 | 2].inc();
    if (block) return ctx.reply('GW_ERR_INJECTION_BLOCKED');
    const now = ctx.startMs;
    if (now < logLimit.nextMs) {
      logLimit.suppressed++;
      return undefined;
    }
    log.warn(
      {
        service,
        route: route.name,
        kind: f === SQLI ? 'sqli' : 'xss',
        where,
        request_id: ctx.requestId,
        client_ip: ctx.clientIp,
        method: ctx.req.method,
        path: ctx.path,
        suppressed: logLimit.suppressed,
      },
      'injection guard: suspicious request let through (log_only)',
    );
    logLimit.nextMs = now + LOG_INTERVAL_MS;
    logLimit.suppressed = 0;
    return undefined;
  };

  const inspectBody = async (ctx: RequestContext, max: number, type: BodyType): Promise<void | false> => {
    const bodies = countersOf(type);
    const buf = await readBody(ctx, max);
    if (buf === 'left') return false; // the data plane records the request
    if (buf === 'timeout') return ctx.reply('GW_ERR_REQUEST_TIMEOUT');
    if (buf === 'more') return void bodies.tooLarge.inc(); // sent on uninspected, from its first byte
    ctx.body = buf; // sent on as it came
    ctx.bytesIn = buf.length;
    // Compressed, it is read as the service reads it: Express's body parser inflates gzip and deflate by default.
    const plain = decodedBody(buf, ctx.headers['content-encoding'], maxBody);
    if (plain === 'too_large') return void bodies.tooLarge.inc();
    if (plain === 'undecodable') return void bodies.undecodable.inc();
    const contentType = ctx.headers['content-type'] ?? '';
    const { declared, utf8 } = bodyTexts(plain, contentType);
    const read = declared === undefined ? undefined : inspectText(declared, type, contentType);
    // A urlencoded form is well formed whatever it holds (in a charset no decoder knows, it is read as UTF-8).
    ((read?.wellFormed ?? type === 'form') ? bodies.inspected : bodies.invalid).inc();
    let f = read?.finding ?? CLEAN;
    // Read as UTF-8 too when the charset said otherwise: `charset=utf-16le` on UTF-8 bytes decoded to no quote.
    if (f === CLEAN && utf8 !== undefined && utf8 !== declared) f = inspectText(utf8, type, contentType).finding;
    if (f !== CLEAN) return found(ctx, f, type === 'json' ? 'json_body' : 'form_body');
  };

  /**
   * A body's text read as the type it says it is, and whether it was well formed. A urlencoded form is what a query
   * string is (Express's urlencoded parser and the WHATWG one read both alike). JSON that JSON.parse refuses may be
   * what a lenient parser upstream reads: its quoted strings are inspected. A multipart body is read with every
   * boundary a parser may take; one with no delimiter of any holds no field for any parser.
   */
  const inspectText = (
    text: string,
    type: BodyType,
    contentType: string,
  ): { finding: Finding; wellFormed: boolean } => {
    if (type === 'form') return { finding: inspectQuery(text, rules), wellFormed: true };
    if (type === 'json')
      return isJsonText(text)
        ? { finding: inspectJsonText(text, rules), wellFormed: true }
        : { finding: inspectLenientJsonText(text, rules), wellFormed: false };
    let wellFormed = false;
    for (const boundary of multipartBoundaries(contentType, text)) {
      const finding = inspectMultipart(text, boundary, rules);
      if (finding !== undefined) wellFormed = true;
      if (finding !== undefined && finding !== CLEAN) return { finding, wellFormed };
    }
    return { finding: CLEAN, wellFormed };
  };

  // One detection per request: the first finding decides (block) or is the one logged and counted (log_only).
  return (ctx: RequestContext): StageResult => {
    if (exclude.length > 0 && excludedBy(exclude, ctx.path)) return;
    if (allowsType !== undefined && declaresBody(ctx.req) && !allowsType(ctx.headers['content-type']))
      return ctx.reply('GW_ERR_BODY_TYPE_NOT_ALLOWED');
    if (doPath) {
      const f = inspectPath(ctx.path, rules);
      if (f !== CLEAN) return found(ctx, f, 'path');
    }
    if (doQuery && ctx.query !== '') {
      const f = inspectQuery(ctx.query, rules);
      if (f !== CLEAN) return found(ctx, f, 'query');
    }
    if (doHeaders) {
      const f = inspectHeaders(ctx.headers, rules);
      if (f !== CLEAN) return found(ctx, f, 'header');
    }
    if (!doJson && !doForm) return;
    const type = bodyType(ctx);
    if (type === undefined || !(type === 'json' ? doJson : doForm)) return;
    const cl = ctx.headers['content-length'];
    // A body of undeclared length (chunked, or HTTP/2 without Content-Length) is read up to the limit.
    if (cl === undefined) return declaresBody(ctx.req) ? inspectBody(ctx, maxBody, type) : undefined;
    const length = Number(cl);
    if (!(length > 0)) return;
    if (length > maxBody) {
      countersOf(type).tooLarge.inc();
      return;
    }
    return inspectBody(ctx, length, type);
  };
}

/**
 * SQL injection and XSS guard, per service (`guard:`). Path, query and the
 * configured headers are inspected synchronously, and a clean request is
 * decided by a character pre-filter without decoding or allocating; with
 * `json_body` (`form_body`), a JSON (urlencoded or multipart form) body up to `max_inspect_bytes` is read whole
 * (inflated if compressed), inspected, and handed to the proxy to send unchanged.
 */
export const guard: RouteStage = {
  name: 'guard',
  scope: 'route',
  init: (route) => {
    const conf = route.service.config.guard;
    if (conf === undefined || (!conf.sqli && !conf.xss)) return undefined;
    return build(route, conf);
  },
};
