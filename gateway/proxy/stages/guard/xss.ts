/**
 * Cross-site scripting: markup or script that would run if the value were
 * reflected into a page. Each rule needs a construct a browser executes, not
 * a word: a script-bearing tag, an event handler inside a tag, a
 * `javascript:` URL in an attribute or followed by code, a data: URL of a
 * document type, a CSS expression, a quote that closes a JS string and calls
 * a sink, a template expression reaching the Function constructor. Angle
 * brackets alone (`List<String>`, `x < y`, `<3`) are not enough.
 * Regexes are compiled once and run on the lower-cased, decoded value.
 */
/** `(?:a|b|c)` of the words, for patterns too long to read as one literal. */
const anyOf = (words: string): string => `(?:${words.trim().split(/\s+/).join('|')})`;
const SCRIPT_TAG = new RegExp(
  String.raw`<[\s\x00-\x20/]*\/?[\s\x00-\x20]*` +
    anyOf('script iframe frame frameset object embed applet isindex portal style xml import') +
    '(?![a-z0-9_-])',
);
const URL_TAG = new RegExp(
  '<' +
    anyOf('link meta base form a math svg table td body input img bgsound layer ilayer video audio source button div') +
    String.raw`\b[^>]*\b` +
    anyOf('href content http-equiv action formaction background src dynsrc lowsrc data xlink:href style') +
    String.raw`\s*=`,
);
// An event handler attribute inside a tag: the separator may be space, `/`, a quote or a NUL.
const HANDLER_IN_TAG = /<[a-z!?/][^>]*?[\s/"'`\x00;]on[a-z]{3,}[^\s=>]*[\s\x00-\x20]*=/;
// A quote that leaves an attribute value and adds a handler whose value is code.
const HANDLER_AFTER_QUOTE = /["'`](?:[^<>"'`]*?[\s/])?on[a-z]{3,}[\s\x00-\x20]*=[\s"'`]*[a-z_$][\w$.]*[\s]*[(`=[]/;
const SVG_SET = /<(?:set|animate)\b[^>]*attributename\s*=\s*["'`]?(?:on[a-z]+|href|xlink:href)/;
const BLANKS = String.raw`[\s\x00-\x20]*`;
/** The letters of a word with blanks and control characters allowed between them, as browsers read a URL scheme. */
const spaced = (word: string): string => [...word].join(BLANKS);
const SCHEME = `(?:${spaced('java')}|${spaced('vb')}|${spaced('live')})${BLANKS}${spaced('script')}${BLANKS}:`;
// In an attribute or url(): any javascript: URL runs.
const SCHEME_IN_ATTR = new RegExp(`(?:[=(]|url\\()[\\s\\x00-\\x20"'\`]*${SCHEME}`);
// Elsewhere (a redirect parameter) only when code follows: "javascript: the good parts" is a book.
const SCHEME_WITH_CODE = new RegExp(
  `(?:^|[\\s"'\`,;<>\\[\\]{}])${SCHEME}[\\s\\x00-\\x20]*(?:\\/\\/|[\\[(!+'"\`{]|[a-z_$][\\w$.]*[\\s]*[(\`=\\[])`,
);
const DATA_URL = new RegExp(
  String.raw`data:[\s\x00-\x20]*(?:text\/html|image\/svg\+xml|text\/xml|` +
    String.raw`application\/(?:x-)?(?:javascript|ecmascript|xhtml\+xml)|text\/(?:x-)?(?:java|ecma)script)`,
);
const CSS_CODE = /:\s*expression\s*\(|-moz-binding\s*:|behavior\s*:\s*url\s*\(/;
// A quote that ends a JS string, an operator, then a sink: `';alert(1)//`, `'-alert(1)-'`, `"+eval(x)+"`.
const JS_BREAK = new RegExp(
  String.raw`["'\`][\s)}\]]*[;,+\-*/|&^(}][\s(]*` +
    String.raw`(?:alert|prompt|confirm|eval|settimeout|setinterval|execscript|fetch|top\[|window\[|self\[|` +
    String.raw`document\.(?:cookie|write|location|domain)|window\.location|` +
    String.raw`location\.(?:href|replace)|string\.fromcharcode)` +
    String.raw`[\s]*[(\`=[.]`,
);
const TEMPLATE =
  /\{\{[^}]*(?:constructor|alert\s*\(|\$eval|\$on\b|\bfunction\b|_c\.|\[\]\.)|constructor\s*\.\s*constructor\s*\(/;
const CSS_COMMENT = /\/\*[\s\S]*?\*\//g;

/** True when `s` (already decoded, any case; `lower` is it lower-cased) carries markup or script a browser would run.
 * */
export function isXss(s: string, lower = s.toLowerCase()): boolean {
  const v = lower;
  if (v.indexOf('/*') === -1) return markup(v);
  // A comment may join (`exp/**/ression(`) or separate (`<svg/**/onload=`): try both readings.
  return markup(v.replace(CSS_COMMENT, '')) || markup(v.replace(CSS_COMMENT, ' '));
}

function markup(v: string): boolean {
  const lt = v.indexOf('<') !== -1;
  if (
    lt &&
    (SCRIPT_TAG.test(v) ||
      HANDLER_IN_TAG.test(v) ||
      (URL_TAG.test(v) && (SCHEME_IN_ATTR.test(v) || DATA_URL.test(v) || CSS_CODE.test(v))) ||
      SVG_SET.test(v))
  )
    return true;
  if (v.indexOf(':') !== -1) {
    if (SCHEME_IN_ATTR.test(v) || SCHEME_WITH_CODE.test(v)) return true;
    if (v.indexOf('data') !== -1 && DATA_URL.test(v)) return true;
    if (CSS_CODE.test(v)) return true;
  }
  if (
    (v.indexOf('"') !== -1 || v.indexOf("'") !== -1 || v.indexOf('`') !== -1) &&
    (HANDLER_AFTER_QUOTE.test(v) || JS_BREAK.test(v))
  )
    return true;
  return (v.indexOf('{{') !== -1 || v.indexOf('constructor') !== -1) && TEMPLATE.test(v);
}
