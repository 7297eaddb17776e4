import { open, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { syncDir } from './segment-files.ts';

/** One consumer per log directory; its checkpoint is the position it resumes from. */
const CHECKPOINT_FILE = 'consumer.checkpoint';

/** The committed position, or undefined when nothing was committed yet. Throws on a damaged file. */
export async function readCheckpoint(dir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(dir, CHECKPOINT_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const position: unknown = (JSON.parse(text) as { position?: unknown }).position;
  if (typeof position !== 'number' || !Number.isSafeInteger(position) || position < 0) {
    throw new Error(`checkpoint ${join(dir, CHECKPOINT_FILE)} holds no valid position: ${text.slice(0, 80)}`);
  }
  return position;
}

/**
 * Write-to-temp, fsync, rename, fsync the directory: after a crash the file holds
 * either the old or the new position, never a torn one.
 */
export async function writeCheckpoint(dir: string, position: number): Promise<void> {
  const path = join(dir, CHECKPOINT_FILE);
  const temporary = `${path}.tmp`;
  const handle = await open(temporary, 'w');
  try {
    await handle.writeFile(JSON.stringify({ position }));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
  await syncDir(dir);
}

/** A damaged checkpoint must not stop the gateway; it only means appends may start lower. */
export async function checkpointOrZero(
  dir: string,
  logger: { warn(details: object, message: string): void } | undefined,
): Promise<number> {
  try {
    return (await readCheckpoint(dir)) ?? 0;
  } catch (error) {
    logger?.warn({ dir, err: error }, 'segment log: ignoring an unreadable consumer checkpoint');
    return 0;
  }
}
