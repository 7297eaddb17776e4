import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { listSegments, segmentPath } from '../../shared/segment-log/segment-files.ts';

/** One segment log the collector consumes; `source` names it in the store (relative to the events dir). */
export interface LogSource {
  source: string;
  dir: string;
}

/** A single process writes `<dir>/log`; cluster worker N writes `<dir>/w<N>/log` (gateway/proxy/events/index.ts). */
const WORKER_DIR = /^w\d+$/;

/** The segment-log directories under `eventsDir` that exist now, in a stable order. */
export async function discoverLogDirs(eventsDir: string): Promise<LogSource[]> {
  const names = await readdir(eventsDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [] as string[];
    throw error;
  });
  const candidates = names.includes('log') ? ['log'] : [];
  for (const name of names.filter((n) => WORKER_DIR.test(n)).sort((a, b) => Number(a.slice(1)) - Number(b.slice(1)))) {
    candidates.push(`${name}/log`);
  }
  const found: LogSource[] = [];
  for (const source of candidates) {
    const dir = join(eventsDir, source);
    const info = await stat(dir).catch(() => undefined);
    if (info?.isDirectory()) found.push({ source, dir });
  }
  return found;
}

/** The position just past the last written byte of the log in `dir` (0 when it has no segment). */
export async function logEndPosition(dir: string): Promise<number> {
  const bases = await listSegments(dir).catch(() => [] as number[]);
  const last = bases[bases.length - 1];
  if (last === undefined) return 0;
  const info = await stat(segmentPath(dir, last)).catch(() => undefined);
  return last + (info?.size ?? 0);
}
