/** Waits for `operation` (its outcome ignored) until `deadlineMs`, a performance.now() time, at most. */
export async function until(operation: Promise<unknown>, deadlineMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadlineMs - performance.now()));
  });
  try {
    await Promise.race([
      operation.then(
        () => undefined,
        () => undefined,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
