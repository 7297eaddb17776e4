import { statSync } from 'node:fs';
import { configPath } from './config/base-dir.ts';

type ClientFiles = { ca?: unknown; crl?: unknown };

/**
 * The TLS files a config names, each once: `tls.ca_file`, `cert_file`, `key_file` of every service's and canary
 * group's upstream, and each listener's, TLS-terminating stream's and the admin listener's certificate, key,
 * client CA, CRL and session ticket key files (relative ones resolved as validation resolves them).
 */
export function tlsFilePaths(raw: unknown): string[] {
  const paths = new Set<string>();
  const config = raw as { listeners?: unknown; streams?: unknown; admin?: unknown } | undefined;
  // A stream that terminates TLS, and the admin listener, hold a listener's `tls`.
  const holders = [config?.listeners, config?.streams, [config?.admin]].flatMap((list) =>
    Array.isArray(list) ? list : [],
  );
  for (const holder of holders as {
    tls?: { certificates?: unknown; client_certificates?: ClientFiles; session_ticket_key?: unknown };
  }[]) {
    const tls = holder?.tls;
    if (tls === undefined || tls === null || typeof tls !== 'object') continue;
    const files = Array.isArray(tls.certificates) ? (tls.certificates as { cert?: unknown; key?: unknown }[]) : [];
    for (const c of files) for (const f of [c?.cert, c?.key]) if (typeof f === 'string') paths.add(configPath(f));
    for (const f of [tls.client_certificates?.ca, tls.client_certificates?.crl, tls.session_ticket_key])
      if (typeof f === 'string') paths.add(configPath(f));
  }
  const add = (upstream: unknown) => {
    const tls = (upstream as { tls?: Record<string, unknown> } | undefined)?.tls;
    if (tls === undefined || tls === null || typeof tls !== 'object') return;
    for (const field of ['ca_file', 'cert_file', 'key_file']) {
      if (typeof tls[field] === 'string') paths.add(tls[field]);
    }
  };
  const services = (raw as { services?: unknown } | undefined)?.services;
  for (const svc of (Array.isArray(services) ? services : []) as {
    upstream?: unknown;
    canary?: { groups?: unknown };
  }[]) {
    add(svc?.upstream);
    const groups = svc?.canary?.groups;
    if (Array.isArray(groups)) for (const g of groups as { upstream?: unknown }[]) add(g?.upstream);
  }
  return [...paths];
}

/** What stat says of a file, following symlinks (so a Kubernetes ..data swap changes it): device, inode, size, mtime;
 * or why it cannot be read. */
function signature(path: string): string {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
}

/**
 * Checks the files `paths()` names every `checkMs` (stat only; paths are read
 * again each time, so files a reload or an admin edit adds are watched from
 * then on, and re-read once) and calls `reload` once they changed and then held still for one
 * whole check: a certificate and its key renewed one after the other are
 * taken together, never the new certificate with the old key. Polling, not
 * fs.watch, so renames, symlink swaps (a Kubernetes Secret volume) and
 * network file systems are all seen. A reload that refuses the files is not
 * retried until they change again.
 */
export function watchTlsFiles(paths: () => string[], reload: (changed: string[]) => void, checkMs: number): () => void {
  const state = () => new Map(paths().map((p) => [p, signature(p)]));
  let applied = state();
  let previous = applied;
  const timer = setInterval(() => {
    const now = state();
    const same = (a: Map<string, string>, b: Map<string, string>) =>
      a.size === b.size && [...a].every(([p, s]) => b.get(p) === s);
    const stable = same(now, previous);
    previous = now;
    if (!stable || same(now, applied)) return;
    // A path new to the config counts too: the apply that brought it read it before this watch's first
    // look, and it may have changed in between. The re-read compares content, so an unchanged one costs nothing.
    const changed = [...now].filter(([p, s]) => applied.get(p) !== s).map(([p]) => p);
    applied = now;
    if (changed.length > 0) reload(changed);
  }, checkMs).unref();
  return () => clearInterval(timer);
}
