/**
 * @module once
 * Graceful close must run once however many signals or callers ask for it; later callers await
 * the same run.
 */
export function once(fn: () => Promise<void>): () => Promise<void> {
  let run: Promise<void> | null = null;
  return () => (run ??= fn());
}
