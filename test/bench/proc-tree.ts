// A server's RSS and CPU time = the sum over its process tree (nginx master +
// worker, gateway primary + workers), so multi-process servers are not flattered.
import { readdirSync, readFileSync } from 'node:fs';

function vmRssKb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) for (const c of text.split(/\s+/)) out.push(Number(c));
    }
  } catch {
    // the process exited while we looked
  }
  return out;
}

function treePids(rootPid: number): number[] {
  const pids: number[] = [];
  const stack = [rootPid];
  while (stack.length > 0) {
    const pid = stack.pop() as number;
    pids.push(pid);
    stack.push(...childrenOf(pid));
  }
  return pids;
}

// USER_HZ: the unit of utime/stime in /proc/<pid>/stat; 100 on every mainstream Linux.
const ticksPerS = 100;

/** User + system CPU ticks (USER_HZ) a process or thread has used so far: its /proc `stat` file's utime + stime. */
export function cpuTicks(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8');
  // Fields after the parenthesised command name, which may itself contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** User + system CPU time the tree has used so far, in microseconds (10 ms resolution). */
export function treeCpuUs(rootPid: number): number {
  let ticks = 0;
  for (const pid of treePids(rootPid)) {
    try {
      ticks += cpuTicks(`/proc/${pid}/stat`);
    } catch {
      // exited while we looked
    }
  }
  return (ticks / ticksPerS) * 1e6;
}

export interface TreeRss {
  totalBytes: number;
  processes: number;
}

export function treeRss(rootPid: number): TreeRss {
  let totalKb = 0;
  let processes = 0;
  for (const pid of treePids(rootPid)) {
    const kb = vmRssKb(pid);
    if (kb === 0) continue;
    totalKb += kb;
    processes++;
  }
  return { totalBytes: totalKb * 1024, processes };
}

/** Samples a process tree's RSS every intervalMs and keeps the peak. */
export class RssSampler {
  peakBytes = 0;
  readonly #pid: number;
  readonly #timer: NodeJS.Timeout;

  constructor(pid: number, intervalMs = 200) {
    this.#pid = pid;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  #sample(): void {
    this.peakBytes = Math.max(this.peakBytes, treeRss(this.#pid).totalBytes);
  }

  stop(): number {
    clearInterval(this.#timer);
    this.#sample();
    return this.peakBytes;
  }
}
