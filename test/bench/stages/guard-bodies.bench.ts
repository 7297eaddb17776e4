/**
 * What the guard's body inspection costs at its worst: CPU per 64 KB body (the default max_inspect_bytes) made of
 * short values that each carry a trigger character, so none is passed by the pre-filter: JSON string literals, a
 * urlencoded form's fields, a multipart form's parts, and JSON that JSON.parse refuses (read leniently).
 * Run alone: node test/bench/stages/guard-bodies.bench.ts
 */
import { DEFAULT_RULES as rules } from '../../../gateway/proxy/stages/guard/corpus/evaluate.ts';
import { inspectJsonText, inspectLenientJsonText, inspectQuery } from '../../../gateway/proxy/stages/guard/inspect.ts';
import { inspectMultipart } from '../../../gateway/proxy/stages/guard/multipart.ts';

const SIZE = 65536;
const fill = (unit: string, open = '', close = '') =>
  open + unit.repeat(Math.floor((SIZE - open.length - close.length) / unit.length)) + close;

const json = fill(`"it's (a) <b>",`, '[', '"x"]');
const lenient = fill(`'it\\'s (a) <b>',`, '[', 'NaN]');
const form = fill(`a=it's+(a)+<b>&`);
const multipart = fill(`--z\r\nContent-Disposition: form-data; name="a"\r\n\r\nit's (a) <b>\r\n`, '', '--z--\r\n');

const ROUNDS = 20;
for (const [name, inspect] of [
  ['json', () => inspectJsonText(json, rules)],
  ['json, lenient', () => inspectLenientJsonText(lenient, rules)],
  ['form', () => inspectQuery(form, rules)],
  ['multipart', () => inspectMultipart(multipart, 'z', rules)],
] as const) {
  inspect(); // warm up
  const start = performance.now();
  for (let i = 0; i < ROUNDS; i++) inspect();
  console.log(`${name.padEnd(14)} ${((performance.now() - start) / ROUNDS).toFixed(1)} ms per 64 KB body`);
}
