// Writes of one reconcile, a few at a time: each as soon as one before it finishes
// (not in fixed batches, where the slowest write of a batch holds back the next).

/**
 * Runs `fn` over `items` with at most `limit` in flight, starting none once `signal` is aborted.
 * Settles every started one; the result of an item never started is undefined. Results keep the items' order.
 */
export async function settleBounded<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  signal?: AbortSignal,
): Promise<(PromiseSettledResult<R> | undefined)[]> {
  const results: (PromiseSettledResult<R> | undefined)[] = items.map(() => undefined);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length && !(signal?.aborted ?? false)) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await fn(items[i] as T) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, limit), items.length) }, worker));
  return results;
}
