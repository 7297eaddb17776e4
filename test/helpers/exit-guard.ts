/**
 * Loaded into every test file's process by scripts/test.sh (`node --import`). Once a file's tests are done, a
 * process still alive 30 s later is held open by something a test left running (a gateway a failed assertion
 * never closed, a server, a socket, a child process, a timer). It ends the file as failed, naming what is open,
 * rather than holding the whole run until CI's limit: the file's test runner waits for the process to exit, and
 * a gateway left open after a failed start once held one for 76 minutes.
 */
import { after } from 'node:test';

const GRACE_MS = 30_000;

after(() => {
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().join(', ');
    console.error(`the tests are done, but ${GRACE_MS / 1000} s later this process is still held open by: ${open}`);
    process.exit(1);
  }, GRACE_MS).unref();
});
