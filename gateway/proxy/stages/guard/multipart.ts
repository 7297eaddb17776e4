import { CLEAN, type Finding, type InspectRules, inspectValue } from './inspect.ts';

const BOUNDARY = /;\s*boundary\s*=\s*(?:"([^"]{1,200})"|([^\s;"]{1,200}))/gi;
/** A Content-Disposition parameter: a token name (`filename*` too), a quoted-string or token value. */
const PARAM = /;\s*([!#$%&'*+.^_`|~0-9A-Za-z-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))/g;

/**
 * The boundaries a `multipart/form-data` body may be read with: each its Content-Type names (parsers differ on which
 * of two they take, and on quotes), and the one its first line opens with, which is the one any parser that finds a
 * field in it matched.
 */
export function multipartBoundaries(contentType: string, text: string): string[] {
  const found = Array.from(contentType.matchAll(BOUNDARY), (m) => m[1] ?? m[2]);
  if (text.startsWith('--')) {
    const eol = text.indexOf('\n');
    const first = text.slice(2, eol === -1 ? text.length : eol).trimEnd();
    if (first !== '' && !found.includes(first)) found.push(first);
  }
  return found;
}

/**
 * The fields of a `multipart/form-data` body (RFC 7578), inspected as a form's are: every part's Content-Disposition
 * parameters (its name, a file's filename) and the content of every part but a file's: a part with a filename and a
 * Content-Type that is not text, whose bytes a server hands over as an upload, not as a parameter. A part without a
 * filename is a field to every parser (PHP's, busboy's), whatever Content-Type it claims, so it is read. Undefined
 * when the body holds no delimiter of that boundary: no parser finds a field in it.
 */
export function inspectMultipart(text: string, boundary: string, rules: InspectRules): Finding | undefined {
  const delimiter = `--${boundary}`;
  let at = text.indexOf(delimiter);
  if (at === -1) return undefined;
  for (;;) {
    const after = at + delimiter.length;
    if (text.startsWith('--', after)) return CLEAN; // the close delimiter
    const lineEnd = text.indexOf('\n', after); // past transport padding to the part's first header
    if (lineEnd === -1) return CLEAN;
    // A delimiter starts a line: CRLF before it (a bare LF for lenient parsers), not part of the content before it.
    // Without a closing one the last part runs to the end, as parsers that take a truncated body (PHP's) read it.
    const next = text.indexOf(`\n${delimiter}`, lineEnd);
    const end = next === -1 ? text.length : text.charCodeAt(next - 1) === 13 ? next - 1 : next;
    const f = inspectPart(text.slice(lineEnd + 1, end), rules);
    if (f !== CLEAN || next === -1) return f;
    at = next + 1;
  }
}

function inspectPart(part: string, rules: InspectRules): Finding {
  const crlf = part.indexOf('\r\n\r\n');
  const lf = part.indexOf('\n\n');
  const [headEnd, bodyStart] =
    crlf !== -1 && (lf === -1 || crlf < lf) ? [crlf, crlf + 4] : lf !== -1 ? [lf, lf + 2] : [part.length, part.length];
  let disposition = '';
  let type = '';
  for (const line of part.slice(0, headEnd).split('\n')) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon).trim().toLowerCase();
    if (name === 'content-disposition') disposition = line.slice(colon + 1);
    else if (name === 'content-type')
      type = line
        .slice(colon + 1)
        .trim()
        .toLowerCase();
  }
  let file = false;
  for (const m of disposition.matchAll(PARAM)) {
    if (m[1].toLowerCase().startsWith('filename')) file = true;
    const f = inspectValue(m[2] ?? m[3], false, rules);
    if (f !== CLEAN) return f;
  }
  if (file && type !== '' && !type.startsWith('text/')) return CLEAN;
  return inspectValue(part.slice(bodyStart), false, rules);
}
