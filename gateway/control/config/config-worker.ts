/**
 * A worker thread's entry: parses, validates and hashes one config text
 * (loadOffThread), or validates one config object (validateOffThread), so
 * that a large config does not hold the event loop while requests wait.
 * Answers each message; config-thread.ts ends it once it has been idle a while.
 */
import { parentPort } from 'node:worker_threads';
import { validatedAnswer, workerAnswer } from './load-off-thread.ts';

type Question = { file: string; text: string; unchangedHash?: string } | { raw: unknown };

// The text (or object) stays behind: the caller has it, and a copy back would cost the loop its deserialisation.
parentPort!.on('message', ({ id, data }: { id: number; data: Question }) => {
  parentPort!.postMessage({
    id,
    answer: 'raw' in data ? validatedAnswer(data.raw) : workerAnswer(data.file, data.text, data.unchangedHash),
  });
});
