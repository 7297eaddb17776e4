/**
 * A worker thread's entry: parses, validates and hashes one config text
 * (loadOffThread), so that a large file does not hold the event loop while
 * requests wait. Answers one message and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { workerAnswer } from './load-off-thread.ts';

const { file, text, unchangedHash } = workerData as { file: string; text: string; unchangedHash?: string };
// The text stays behind: the caller has it, and a copy back would cost the loop its deserialisation.
parentPort!.postMessage(workerAnswer(file, text, unchangedHash));
