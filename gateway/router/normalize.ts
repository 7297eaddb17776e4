const UNRESERVED = /[A-Za-z0-9\-._~]/;

/**
 * RFC 3986 path normalisation as nginx does it before matching: percent-encoded
 * unreserved characters decoded, `//` merged, `.` and `..` segments resolved
 * (never above the root). Returns undefined when the path cannot be made safe
 * (bad percent-encoding, or an encoded `/`, NUL or `\` that would change the
 * segments a route sees). The fast path returns the input untouched.
 */
export function normalizePath(path: string): string | undefined {
  if (path.indexOf('%') === -1 && path.indexOf('//') === -1 && path.indexOf('/.') === -1) return path;
  let decoded = path;
  if (path.indexOf('%') !== -1) {
    let out = '';
    for (let i = 0; i < path.length; i++) {
      const c = path[i];
      if (c !== '%') { out += c; continue; }
      const hex = path.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      const ch = String.fromCharCode(parseInt(hex, 16));
      if (ch === '\0') return undefined;
      // Keep reserved and non-ASCII escapes as they are, upper-cased (RFC 3986 6.2.2.1).
      out += UNRESERVED.test(ch) ? ch : `%${hex.toUpperCase()}`;
      i += 2;
    }
    decoded = out;
  }
  const segments: string[] = [];
  const parts = decoded.split('/');
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i];
    if (seg === '' && i < parts.length - 1) continue;
    if (seg === '.') { if (i === parts.length - 1) segments.push(''); continue; }
    if (seg === '..') { segments.pop(); if (i === parts.length - 1) segments.push(''); continue; }
    segments.push(seg);
  }
  return '/' + segments.join('/');
}
