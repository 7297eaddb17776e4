import { readFileSync } from 'node:fs';
import {
  CLEAN,
  inspectHeaders,
  inspectJsonText,
  inspectPath,
  inspectQuery,
  type Finding,
  type InspectRules,
} from '../inspect.ts';
import type { CorpusRequest } from './generate.ts';

/** The rules a service gets from `guard: {}` with `json_body: true`. */
export const DEFAULT_RULES: InspectRules = {
  sqli: true,
  xss: true,
  headerNames: ['user-agent', 'referer', 'cookie'],
  headerPrefixes: ['x-'],
  maxChars: 65536,
};

export function loadCorpus(name: 'attacks' | 'benign'): CorpusRequest[] {
  const text = readFileSync(new URL(`${name}.jsonl`, import.meta.url), 'utf8');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as CorpusRequest);
}

/** The guard's verdict on a corpus request, inspecting what the stage inspects (path, query, headers, JSON body). */
export function inspectCorpusRequest(r: CorpusRequest, rules: InspectRules = DEFAULT_RULES): Finding {
  const q = r.url.indexOf('?');
  const path = q === -1 ? r.url : r.url.slice(0, q);
  const query = q === -1 ? '' : r.url.slice(q + 1);
  let f = inspectPath(path, rules) || inspectQuery(query, rules) || inspectHeaders(r.headers, rules);
  if (f === CLEAN && r.body !== undefined && r.headers['content-type'] === 'application/json')
    f = inspectJsonText(r.body, rules);
  return f;
}

export interface CorpusResult {
  attacks: number;
  detected: number;
  missed: CorpusRequest[];
  benign: number;
  falsePositives: CorpusRequest[];
  detectionRate: number;
  falsePositiveRate: number;
}

export function evaluate(
  detect: (r: CorpusRequest) => boolean = (r) => inspectCorpusRequest(r) !== CLEAN,
): CorpusResult {
  const attacks = loadCorpus('attacks');
  const benign = loadCorpus('benign');
  const missed = attacks.filter((r) => !detect(r));
  const falsePositives = benign.filter((r) => detect(r));
  return {
    attacks: attacks.length,
    detected: attacks.length - missed.length,
    missed,
    benign: benign.length,
    falsePositives,
    detectionRate: (attacks.length - missed.length) / attacks.length,
    falsePositiveRate: falsePositives.length / benign.length,
  };
}
