import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { writeResults } from './report.ts';

export const PERFORMANCE_DOC = new URL('../../docs/performance.md', import.meta.url);
const marker = (section: string) => [`<!-- ${section}:begin (written by npm run bench) -->`, `<!-- ${section}:end -->`];

/** Runs `print` and returns what it wrote to the console, which it still sees. */
export function captured(print: () => void): string {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
    log(...args);
  };
  try {
    print();
  } finally {
    console.log = log;
  }
  return lines.join('\n');
}

/**
 * Puts a run's printed results into docs/performance.md between the markers:
 * the command, the machine, and the tables as the bench printed them.
 */
export function writePerformanceDoc(
  results: string,
  command: string,
  machine: string,
  section = 'bench-results',
): void {
  const [BEGIN, END] = marker(section);
  const doc = readFileSync(PERFORMANCE_DOC, 'utf8');
  const i = doc.indexOf(BEGIN);
  const j = doc.indexOf(END);
  if (i === -1 || j === -1) throw new Error(`docs/performance.md lacks the ${section} markers`);
  const body = `\nThe last full run: \`${command}\` on ${machine}.\n\n\`\`\`text\n${results.trim()}\n\`\`\`\n`;
  writeFileSync(PERFORMANCE_DOC, doc.slice(0, i + BEGIN.length) + body + doc.slice(j));
}

/** The commit measured, for the results' heading. */
export const gitCommit = () => {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
};

/** The BENCH_* settings of this run, as a command prefix. */
export const benchEnv = () =>
  Object.entries(process.env)
    .filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_WRITE_DOCS')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');

/**
 * The end of a `npm run bench -- --FLAG` run: prints the results, keeps them in test/bench/results/<name>.json, and
 * from a run with the default settings (or BENCH_WRITE_DOCS=1) writes the printout into its docs section.
 */
export function finishRun(flag: string, section: string, name: string, result: object, print: () => void): void {
  const printed = captured(print);
  console.log(`\nwrote ${writeResults({ at: new Date().toISOString(), node: process.version, ...result }, name)}`);
  const settings = benchEnv();
  if (process.env.BENCH_WRITE_DOCS !== '1' && settings !== '') return;
  const command = `${settings ? `${settings} ` : ''}npm run bench -- ${flag}`;
  writePerformanceDoc(
    printed,
    command,
    `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, commit ${gitCommit()}`,
    section,
  );
  console.log(`wrote docs/performance.md (${section})`);
}
