/**
 * Reads until `check` holds, for state the controllers reach asynchronously; on timeout the error
 * shows the last value read. Reads are 100 ms apart: each is a real apiserver or daemon request.
 */
export async function eventually<T>(read: () => Promise<T>, check: (value: T) => boolean, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (check(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms; last seen ${JSON.stringify(value)?.slice(0, 3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
