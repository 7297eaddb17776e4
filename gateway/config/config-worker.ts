/**
 * A worker thread's entry: parses, validates and hashes one config text
 * (loadOffThread), so that a large file does not hold the event loop while
 * requests wait. Answers one message and exits.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { loadHashed } from './load-off-thread.ts';

const { file, text } = workerData as { file: string; text: string };
// The text stays behind: the caller has it, and a copy back would cost the loop its deserialisation.
const { text: _text, ...answer } = loadHashed(file, text);
parentPort!.postMessage(answer);
